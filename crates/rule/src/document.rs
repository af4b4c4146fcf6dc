//! The three Sigma document kinds and the metadata they share.

use crate::condition::Condition;
use crate::detection::SearchIdentifier;
use crate::diagnostic::{Diagnostic, Severity};
use crate::source::{Span, Spanned};
use crate::yaml::Node;
use std::fmt;

macro_rules! keyword_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<$name> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

keyword_enum!(
    /// `status`.
    Status {
        Stable => "stable",
        Test => "test",
        Experimental => "experimental",
        Deprecated => "deprecated",
        Unsupported => "unsupported",
    }
);

keyword_enum!(
    /// `level`. Ordered from informational to critical.
    Level {
        Informational => "informational",
        Low => "low",
        Medium => "medium",
        High => "high",
        Critical => "critical",
    }
);

keyword_enum!(
    /// `related[].type`.
    RelationType {
        Derived => "derived",
        Obsolete => "obsolete",
        Merged => "merged",
        Renamed => "renamed",
        Similar => "similar",
    }
);

keyword_enum!(
    /// `correlation.type`.
    CorrelationType {
        EventCount => "event_count",
        ValueCount => "value_count",
        Temporal => "temporal",
        TemporalOrdered => "temporal_ordered",
        ValueSum => "value_sum",
        ValueAvg => "value_avg",
        ValuePercentile => "value_percentile",
        ValueMedian => "value_median",
    }
);

keyword_enum!(
    /// A correlation threshold operator.
    CorrelationOp {
        Gt => "gt",
        Gte => "gte",
        Lt => "lt",
        Lte => "lte",
        Eq => "eq",
        Neq => "neq",
    }
);

/// `related` entries.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RelatedRule {
    pub id: Spanned<String>,
    pub kind: Option<Spanned<RelationType>>,
}

/// Metadata every document kind may carry. Required fields are `Option` so that a broken rule
/// still loads far enough to report every problem; the schema validator reports absences.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Metadata {
    pub title: Option<Spanned<String>>,
    pub id: Option<Spanned<String>>,
    pub name: Option<Spanned<String>>,
    pub related: Vec<RelatedRule>,
    pub taxonomy: Option<Spanned<String>>,
    pub status: Option<Spanned<Status>>,
    pub description: Option<Spanned<String>>,
    pub license: Option<Spanned<String>>,
    pub author: Option<Spanned<String>>,
    pub references: Vec<Spanned<String>>,
    pub date: Option<Spanned<String>>,
    pub modified: Option<Spanned<String>>,
    pub tags: Vec<Spanned<String>>,
    pub falsepositives: Vec<Spanned<String>>,
    pub level: Option<Spanned<Level>>,
    pub fields: Vec<Spanned<String>>,
    pub scope: Vec<Spanned<String>>,
    /// Top-level keys the specification does not define, kept in order ("custom attributes").
    pub custom: Vec<(Spanned<String>, Node)>,
}

impl Metadata {
    pub fn title(&self) -> &str {
        self.title.as_ref().map_or("", |t| t.value.as_str())
    }

    pub fn id(&self) -> Option<&str> {
        self.id.as_ref().map(|i| i.value.as_str())
    }

    pub fn name(&self) -> Option<&str> {
        self.name.as_ref().map(|n| n.value.as_str())
    }

    pub fn author(&self) -> &str {
        self.author.as_ref().map_or("", |a| a.value.as_str())
    }

    pub fn level(&self) -> Option<Level> {
        self.level.as_ref().map(|l| l.value)
    }

    pub fn status(&self) -> Option<Status> {
        self.status.as_ref().map(|s| s.value)
    }

    pub fn custom(&self, key: &str) -> Option<&Node> {
        self.custom
            .iter()
            .find(|(k, _)| k.value == key)
            .map(|(_, v)| v)
    }
}

/// `logsource`.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LogSource {
    pub category: Option<Spanned<String>>,
    pub product: Option<Spanned<String>>,
    pub service: Option<Spanned<String>>,
    pub definition: Option<Spanned<String>>,
    /// Other keys (allowed by the schema).
    pub custom: Vec<(Spanned<String>, Spanned<String>)>,
    pub span: Span,
}

impl LogSource {
    pub fn category(&self) -> Option<&str> {
        self.category.as_ref().map(|c| c.value.as_str())
    }

    pub fn product(&self) -> Option<&str> {
        self.product.as_ref().map(|c| c.value.as_str())
    }

    pub fn service(&self) -> Option<&str> {
        self.service.as_ref().map(|c| c.value.as_str())
    }
}

impl fmt::Display for LogSource {
    /// `product=windows category=process_creation`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = [
            ("product", self.product()),
            ("category", self.category()),
            ("service", self.service()),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k}={v}")))
        .collect();
        if parts.is_empty() {
            f.write_str("(empty logsource)")
        } else {
            f.write_str(&parts.join(" "))
        }
    }
}

/// `detection` of a rule, or the search part of a filter.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Detection {
    pub searches: Vec<SearchIdentifier>,
    /// One or more conditions; several (a YAML list) are ORed.
    pub conditions: Vec<Condition>,
    /// Sigma 1 `timeframe` (used only with aggregations).
    pub timeframe: Option<Spanned<String>>,
    /// Search identifiers whose definition could not be read (the reasons are diagnostics of
    /// the document): defined all the same, so a condition naming one is not told it is
    /// undefined on top.
    pub unreadable: Vec<Spanned<String>>,
    pub span: Span,
}

impl Detection {
    pub fn search(&self, name: &str) -> Option<&SearchIdentifier> {
        self.searches.iter().find(|s| s.name.value == name)
    }
}

/// A detection rule.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SigmaRule {
    pub meta: Metadata,
    pub logsource: LogSource,
    pub detection: Detection,
}

/// A correlation timespan such as `90m`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Timespan {
    pub seconds: u64,
}

/// `correlation.condition`: one or two threshold comparisons, and the field for value_* types.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CorrelationCondition {
    pub thresholds: Vec<(Spanned<CorrelationOp>, f64)>,
    pub field: Option<Spanned<String>>,
    /// pySigma's extended temporal condition (`rule_a and not rule_b`), kept as written.
    pub expression: Option<Spanned<String>>,
    pub span: Span,
}

/// `correlation.aliases.<alias>`: the field each rule calls by that alias.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CorrelationAlias {
    pub alias: Spanned<String>,
    pub fields: Vec<(Spanned<String>, Spanned<String>)>,
}

/// A correlation (meta) rule.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Correlation {
    pub meta: Metadata,
    pub kind: Option<Spanned<CorrelationType>>,
    pub rules: Vec<Spanned<String>>,
    pub group_by: Vec<Spanned<String>>,
    pub timespan: Option<Spanned<Timespan>>,
    pub condition: Option<CorrelationCondition>,
    pub aliases: Vec<CorrelationAlias>,
    pub generate: bool,
    pub span: Span,
}

/// Which rules a filter applies to.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum FilterTarget {
    /// `rules: any` (or an empty list): every rule whose logsource matches.
    Any(Span),
    Rules(Vec<Spanned<String>>),
}

/// A filter (meta filter) rule.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Filter {
    pub meta: Metadata,
    pub logsource: LogSource,
    pub target: FilterTarget,
    pub detection: Detection,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum DocumentKind {
    Rule(SigmaRule),
    Correlation(Correlation),
    Filter(Filter),
}

impl DocumentKind {
    pub fn meta(&self) -> &Metadata {
        match self {
            DocumentKind::Rule(r) => &r.meta,
            DocumentKind::Correlation(c) => &c.meta,
            DocumentKind::Filter(f) => &f.meta,
        }
    }

    pub fn kind_name(&self) -> &'static str {
        match self {
            DocumentKind::Rule(_) => "rule",
            DocumentKind::Correlation(_) => "correlation",
            DocumentKind::Filter(_) => "filter",
        }
    }
}

/// One YAML document of a rule file, parsed as far as it could be.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Document {
    /// Position among the file's documents (0-based).
    pub index: usize,
    /// `None` when the document is not recognisably a rule, correlation or filter.
    pub kind: Option<DocumentKind>,
    /// Where the document is in its file. Its YAML tree is not kept: everything read from it
    /// is in `kind` and `diagnostics`, and the trees of thousands of rules held a fifth of a
    /// hunt's peak memory.
    span: Span,
    /// Problems found while reading the document.
    pub diagnostics: Vec<Diagnostic>,
}

impl Document {
    pub(crate) fn new(
        index: usize,
        kind: Option<DocumentKind>,
        span: Span,
        diagnostics: Vec<Diagnostic>,
    ) -> Document {
        Document {
            index,
            kind,
            span,
            diagnostics,
        }
    }

    pub fn span(&self) -> Span {
        self.span
    }

    /// Whether reading the document found an error (the rule must not be used).
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }

    pub fn rule(&self) -> Option<&SigmaRule> {
        match &self.kind {
            Some(DocumentKind::Rule(r)) => Some(r),
            _ => None,
        }
    }

    pub fn meta(&self) -> Option<&Metadata> {
        self.kind.as_ref().map(DocumentKind::meta)
    }
}
