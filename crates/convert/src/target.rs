//! The conversion targets: names, descriptions, defaults, and the dialect behind each.

use std::fmt;
use std::str::FromStr;

use crate::dialect::sql::Flavor;
use crate::dialect::{Dialect, eql, esql, kusto, lucene, splunk, sql};

/// A query language sigrun converts to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// KQL: Microsoft Sentinel, Defender XDR advanced hunting, Azure Data Explorer.
    Kusto,
    /// Lucene query string (Kibana).
    Lucene,
    /// Graylog search (Lucene syntax, `_` for `.` in field names).
    Graylog,
    /// Elasticsearch EQL.
    Eql,
    /// Elasticsearch ES|QL.
    Esql,
    /// Splunk SPL.
    Splunk,
    /// SQLite over a flat events table.
    Sqlite,
    /// DuckDB over a flat events table.
    Duckdb,
}

static KUSTO: kusto::Kusto = kusto::Kusto;
static LUCENE: lucene::Lucene = lucene::Lucene { graylog: false };
static GRAYLOG: lucene::Lucene = lucene::Lucene { graylog: true };
static EQL: eql::Eql = eql::Eql;
static ESQL: esql::Esql = esql::Esql;
static SPLUNK: splunk::Splunk = splunk::Splunk;
static SPLUNK_WHERE: splunk::SplunkWhere = splunk::SplunkWhere;
static SQLITE: sql::Sql = sql::Sql {
    flavor: Flavor::Sqlite,
};
static DUCKDB: sql::Sql = sql::Sql {
    flavor: Flavor::Duckdb,
};

impl Target {
    /// Every target, in listing order.
    pub const ALL: [Target; 8] = [
        Target::Kusto,
        Target::Lucene,
        Target::Graylog,
        Target::Eql,
        Target::Esql,
        Target::Splunk,
        Target::Sqlite,
        Target::Duckdb,
    ];

    /// The name used on the command line and in output (`kusto`, `lucene`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Target::Kusto => "kusto",
            Target::Lucene => "lucene",
            Target::Graylog => "graylog",
            Target::Eql => "eql",
            Target::Esql => "esql",
            Target::Splunk => "splunk",
            Target::Sqlite => "sqlite",
            Target::Duckdb => "duckdb",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Target::Kusto => "KQL for Microsoft Sentinel and Defender XDR advanced hunting",
            Target::Lucene => "Lucene query string for Kibana (query_string syntax)",
            Target::Graylog => "Graylog search query (Lucene syntax)",
            Target::Eql => "Elasticsearch Event Query Language",
            Target::Esql => "Elasticsearch ES|QL",
            Target::Splunk => "Splunk SPL search",
            Target::Sqlite => "SQLite SELECT over a flat events table",
            Target::Duckdb => "DuckDB SELECT over a flat events table",
        }
    }

    /// The pipeline used when the user names none (`None`: Sigma field names as they are).
    pub fn default_pipeline(self) -> Option<&'static str> {
        match self {
            Target::Kusto => Some("kusto_defender"),
            Target::Lucene | Target::Eql | Target::Esql => Some("ecs"),
            Target::Splunk => Some("splunk_windows"),
            Target::Graylog | Target::Sqlite | Target::Duckdb => None,
        }
    }

    /// The built-in pipelines written for this target's data models.
    pub fn pipelines(self) -> &'static [&'static str] {
        match self {
            Target::Kusto => &["kusto_defender", "kusto_asim", "kusto_sentinel"],
            Target::Lucene | Target::Graylog => &["ecs", "winlogbeat"],
            Target::Eql | Target::Esql => &["ecs", "winlogbeat"],
            Target::Splunk => &["splunk_windows"],
            Target::Sqlite | Target::Duckdb => &["windows"],
        }
    }

    /// The field keyword searches go to when the language has no search over every field:
    /// ECS `message` (the event's text), and for SQL tables a `_raw` column holding the whole
    /// event. Each such conversion carries a warning.
    pub fn default_keyword_field(self) -> Option<&'static str> {
        match self {
            Target::Eql | Target::Esql => Some("message"),
            Target::Sqlite | Target::Duckdb => Some("_raw"),
            _ => None,
        }
    }

    /// File extension for one-file-per-rule output.
    pub fn extension(self) -> &'static str {
        match self {
            Target::Kusto => "kql",
            Target::Lucene | Target::Graylog => "json",
            Target::Eql => "eql",
            Target::Esql => "esql",
            Target::Splunk => "spl",
            Target::Sqlite | Target::Duckdb => "sql",
        }
    }

    /// How a line comment is written around a query (`None`: the language has none).
    pub fn comment(self, text: &str) -> Option<String> {
        match self {
            Target::Kusto | Target::Eql | Target::Esql => Some(format!("// {text}")),
            Target::Splunk => Some(format!("```{}```", text.replace('`', "'"))),
            Target::Sqlite | Target::Duckdb => Some(format!("-- {text}")),
            Target::Lucene | Target::Graylog => None,
        }
    }

    pub(crate) fn dialect(self) -> &'static dyn Dialect {
        match self {
            Target::Kusto => &KUSTO,
            Target::Lucene => &LUCENE,
            Target::Graylog => &GRAYLOG,
            Target::Eql => &EQL,
            Target::Esql => &ESQL,
            Target::Splunk => &SPLUNK,
            Target::Sqlite => &SQLITE,
            Target::Duckdb => &DUCKDB,
        }
    }
}

impl Target {
    /// A second way to write a rule the dialect refused (SPL: `| where` after the search).
    pub(crate) fn fallback_dialect(self) -> Option<&'static dyn Dialect> {
        match self {
            Target::Splunk => Some(&SPLUNK_WHERE),
            _ => None,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown target name, with the known ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown target '{name}' (known: {known})")]
pub struct UnknownTarget {
    pub name: String,
    pub known: String,
}

impl FromStr for Target {
    type Err = UnknownTarget;

    /// Names are case-insensitive; `kql`, `kibana`, `spl`, `sql` and `es|ql` are accepted too.
    fn from_str(name: &str) -> Result<Target, UnknownTarget> {
        let lower = name.to_ascii_lowercase();
        let alias = match lower.as_str() {
            "kql" | "sentinel" => Some(Target::Kusto),
            "kibana" | "query_string" => Some(Target::Lucene),
            "spl" => Some(Target::Splunk),
            "sql" => Some(Target::Sqlite),
            "es|ql" => Some(Target::Esql),
            _ => None,
        };
        alias
            .or_else(|| Target::ALL.into_iter().find(|t| t.name() == lower))
            .ok_or_else(|| UnknownTarget {
                name: name.to_owned(),
                known: Target::ALL.map(Target::name).join(", "),
            })
    }
}
