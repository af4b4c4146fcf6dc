//! The generated queries, checked by the real engines: KQL by Microsoft's Kusto language
//! service (parse and bind against the Defender XDR, ASIM, SecurityEvent and WindowsEvent
//! column schemas in `verify/kusto-schema.json`), EQL by Elastic's `eql` parser, Lucene query
//! strings by Lucene 8's classic QueryParser, SQL by SQLite (in process) and DuckDB.
//!
//! Each tool runs once for all queries. A missing tool prints one line and the test passes;
//! `scripts/install-verifiers.sh` installs them all.

mod common;
use common::{
    base64, lucene_classpath, python_has, run, skip, sql_identifiers, sqlite_with_regexp,
};

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sigrun_convert::{Options, Target, convert};
use sigrun_pipeline::Pipeline;
use sigrun_rule::{RuleSet, SigmaRule, SourceFile};

const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");

/// Rules that exercise every value form, so that the engines see each one even when the
/// corpus (absent in a fresh clone) is not there.
const FORMS: &str = r#"
title: every form
logsource: {product: windows, category: process_creation}
detection:
    a:
        Image|endswith: ['\cmd.exe', '\pwsh.exe']
        CommandLine|contains|all: [' -enc ', 'x"y']
        ParentImage|startswith: 'C:\Temp\'
    b:
        OriginalFileName: ['a.exe', 'b?.exe', 'c*d\*.exe']
        CommandLine|contains|cased: 'MiMi'
        CommandLine|re: '\s-e(nc)?\s+[A-Za-z0-9+/=]{20,}$'
    c:
        CommandLine|re|i: '^abc|d\.e'
        User|neq: 'SYSTEM'
        IntegrityLevel: null
        CurrentDirectory|exists: true
    d:
        ProcessId|gte: 1024
        ParentProcessId: 4
        CommandLine|windash|contains: ' -f '
        CommandLine|base64offset|contains: 'abc'
    keywords: ['mimikatz', 'sekurlsa::']
    condition: (a or b) and not c or d or keywords
---
title: network forms
logsource: {product: windows, category: network_connection}
detection:
    sel:
        DestinationIp|cidr: ['10.0.0.0/8', 'fe80::/10', '172.16.0.0/12']
        DestinationPort: [443, 8443]
        Initiated: 'true'
        ParentImage|endswith: ['\rundll32.exe', 'host.exe']
    inbound:
        Initiated: false
        SourceIsIpv6: 'true'
    condition: sel or not inbound
---
title: values stored as other types (pipeline transforms)
logsource: {product: windows, category: process_creation}
detection:
    system:
        LogonId: ['0x3e7', 'null']
    text:
        - LogonId|contains: '3e'
        - LogonId|re: '^0x[0-9a-f]{3}$'
        - LogonId|startswith: '0x3'
    numbers:
        LogonId|gte: 999
        ParentProcessId: 4
    hashes:
        Hashes|contains:
            - 'SHA256=B5ACF14CDAC40BE590318DEE95425D0746E85B1B7B1CBD14DA66F21F2522BF4D'
            - 'MD5=09D278F9'
            - 'IMPHASH=A9D50692E95B79723F3E76FCF70D023E'
    present:
        LogonId|exists: true
    condition: system and not text or numbers or hashes or present
---
title: file times stored as datetime
logsource: {product: windows, category: file_event}
detection:
    sel:
        CreationUtcTime|startswith: '2023-03-'
    re:
        CreationUtcTime|re: '^2023-0[3-6]-'
    hour:
        CreationUtcTime|hour: 3
    empty:
        CreationUtcTime: null
    condition: sel or re or hour or not empty
"#;

fn form_rules() -> RuleSet {
    RuleSet::from_sources([SourceFile::new("forms.yml", FORMS.to_owned())])
}

/// Every rule the engines check: the forms above and, when present, the whole corpus.
fn rules() -> Vec<(String, SigmaRule)> {
    let mut sets = vec![form_rules()];
    if let Some(corpus) = common::corpus_rules() {
        sets.push(corpus);
    }
    let mut out = Vec::new();
    for set in &sets {
        for doc in set.documents() {
            if doc.document.has_errors() {
                continue;
            }
            if let Some(rule) = doc.document.rule() {
                out.push((doc.file.path().display().to_string(), rule.clone()));
            }
        }
    }
    out
}

/// A query to check, with where it came from.
struct Item {
    label: String,
    query: String,
}

/// Converts every rule to `target` with `pipeline` and collects the queries.
fn queries(target: Target, pipeline: Option<&str>, rules: &[(String, SigmaRule)]) -> Vec<Item> {
    let pipeline = pipeline.map(|p| Pipeline::builtin(p).expect("built-in"));
    let mut out = Vec::new();
    for (path, rule) in rules {
        if let Ok(conversion) = convert(rule, target, pipeline, &Options::default()) {
            for query in conversion.queries {
                out.push(Item {
                    label: format!(
                        "{path} [{target}/{}]",
                        query.source.as_deref().unwrap_or("-")
                    ),
                    query: query.text,
                });
            }
        }
    }
    out
}

/// Reads `{"id", "errors"}` lines and turns them into failure messages.
fn failures(items: &[Item], output: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen = 0;
    for line in output.lines().filter(|l| !l.trim().is_empty()) {
        let value: Value = serde_json::from_str(line).expect("checker JSON");
        seen += 1;
        let id = value["id"].as_u64().expect("id") as usize;
        if let Some(errors) = value["errors"].as_array().filter(|e| !e.is_empty()) {
            out.push(format!(
                "{}\n    {}\n    {}",
                items[id].label,
                items[id].query.replace('\n', "\n    "),
                errors
                    .iter()
                    .map(|e| e.as_str().unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        }
    }
    assert_eq!(seen, items.len(), "the checker answered every query");
    out
}

fn assert_clean(tool: &str, checked: usize, failures: &[String]) {
    println!(
        "{tool}: {checked} queries checked, {} rejected",
        failures.len()
    );
    // SIGRUN_VERIFY_REPORT=dir writes every rejection to dir/<tool>.txt for a closer look.
    if let Some(dir) = std::env::var_os("SIGRUN_VERIFY_REPORT") {
        let path = Path::new(&dir).join(format!("{tool}.txt"));
        std::fs::write(&path, failures.join("\n")).expect("report");
    }
    assert!(
        failures.is_empty(),
        "{tool} rejected {} of {checked} queries:\n{}",
        failures.len(),
        failures
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

fn verifiers_dir() -> PathBuf {
    std::env::var_os("SIGRUN_VERIFIERS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/sigrun/verifiers")
        })
}

#[test]
fn kql_parses_and_binds_against_the_table_schemas() {
    let module = verifiers_dir().join("node_modules/@kusto/language-service-next");
    if !module.is_dir() {
        skip(&format!(
            "{} not installed (scripts/install-verifiers.sh)",
            module.display()
        ));
        return;
    }
    let rules = rules();
    let mut items = Vec::new();
    let mut input = String::new();
    for (pipeline, semantic) in [
        (Some("kusto_defender"), true),
        (Some("kusto_asim"), true),
        (Some("kusto_sentinel"), true),
        (None, false),
    ] {
        for mut item in queries(Target::Kusto, pipeline, &rules) {
            // Without a pipeline the query is a bare predicate: parse it under a where.
            let query = if semantic {
                item.query.clone()
            } else {
                format!("T\n| where {}", item.query)
            };
            input.push_str(
                &json!({"id": items.len(), "query": query, "semantic": semantic}).to_string(),
            );
            input.push('\n');
            item.query = query;
            items.push(item);
        }
    }
    let script = Path::new(MANIFEST).join("verify/kusto.js");
    let schema = Path::new(MANIFEST).join("verify/kusto-schema.json");
    let Some(output) = run(
        "node",
        &[
            script.to_str().unwrap_or_default(),
            schema.to_str().unwrap_or_default(),
        ],
        &input,
    ) else {
        return;
    };
    assert_clean("kusto", items.len(), &failures(&items, &output));
}

#[test]
fn eql_parses_with_elastics_parser() {
    if !python_has("eql") {
        return;
    }
    let rules = rules();
    let mut items = Vec::new();
    for pipeline in [Some("ecs"), None] {
        items.extend(queries(Target::Eql, pipeline, &rules));
    }
    let input: String = items
        .iter()
        .enumerate()
        .map(|(id, item)| json!({"id": id, "query": item.query}).to_string() + "\n")
        .collect();
    let script = Path::new(MANIFEST).join("verify/eql_check.py");
    let Some(output) = run("python3", &[script.to_str().unwrap_or_default()], &input) else {
        return;
    };
    assert_clean("eql", items.len(), &failures(&items, &output));
}

#[test]
fn lucene_query_strings_parse_with_the_classic_query_parser() {
    let Some(classpath) = lucene_classpath() else {
        skip("Lucene 8 jars not found in /usr/share/java (scripts/install-verifiers.sh)");
        return;
    };
    let rules = rules();
    let mut items = Vec::new();
    for target in [Target::Lucene, Target::Graylog] {
        for pipeline in [Some("ecs"), Some("winlogbeat"), None] {
            items.extend(queries(target, pipeline, &rules));
        }
    }
    let input: String = items
        .iter()
        .map(|item| base64(item.query.as_bytes()) + "\n")
        .collect();
    let source = Path::new(MANIFEST).join("verify/LuceneCheck.java");
    let Some(output) = run(
        "java",
        &["-cp", &classpath, source.to_str().unwrap_or_default()],
        &input,
    ) else {
        return;
    };
    let lines: Vec<&str> = output.lines().collect();
    assert_eq!(lines.len(), items.len(), "the parser answered every query");
    let failures: Vec<String> = lines
        .iter()
        .zip(&items)
        .filter(|(line, _)| **line != "ok")
        .map(|(line, item)| format!("{}\n    {}\n    {line}", item.label, item.query))
        .collect();
    assert_clean("lucene", items.len(), &failures);
}

fn sql_items(target: Target) -> Vec<Item> {
    let rules = rules();
    let mut items = queries(target, None, &rules);
    items.extend(queries(target, Some("windows"), &rules));
    items
}

/// An in-memory SQLite database ([`sqlite_with_regexp`]) with an `events` table of `columns`.
fn sqlite(columns: &BTreeSet<String>) -> rusqlite::Connection {
    let db = sqlite_with_regexp();
    // SQLite column names are case-insensitive: "FileName" and "Filename" are one column.
    let mut seen = BTreeSet::new();
    let columns: Vec<String> = columns
        .iter()
        .filter(|c| *c != "events" && seen.insert(c.to_lowercase()))
        .map(|c| format!("\"{}\" TEXT", c.replace('"', "\"\"")))
        .collect();
    db.execute(&format!("CREATE TABLE events ({})", columns.join(", ")), [])
        .expect("table");
    db
}

#[test]
fn sqlite_prepares_every_query() {
    let items = sql_items(Target::Sqlite);
    let columns: BTreeSet<String> = items
        .iter()
        .flat_map(|i| sql_identifiers(&i.query))
        .collect();
    let db = sqlite(&columns);
    let failures: Vec<String> = items
        .iter()
        .filter_map(|item| {
            db.prepare(&item.query)
                .err()
                .map(|e| format!("{}\n    {}\n    {e}", item.label, item.query))
        })
        .collect();
    assert_clean("sqlite", items.len(), &failures);
}

#[test]
fn sqlite_finds_what_the_rule_describes() {
    let yaml = r"
title: t
logsource: {product: windows, category: process_creation}
detection:
    sel:
        Image|endswith: '\cmd.exe'
        CommandLine|contains|all: ['/c', 'whoami']
    filter:
        User|startswith: 'NT AUTHORITY\'
    net:
        DestinationIp|cidr: '10.0.0.0/8'
    condition: sel and not filter or net
";
    let rule = common::rule(yaml);
    let query = convert(&rule, Target::Sqlite, None, &Options::default())
        .expect("converts")
        .text();
    let columns: BTreeSet<String> = sql_identifiers(&query);
    let db = sqlite(&columns);
    /// Image, CommandLine, User, DestinationIp, and whether the rule matches.
    type Row<'a> = (&'a str, &'a str, Option<&'a str>, Option<&'a str>, bool);
    let rows: [Row<'_>; 6] = [
        (
            "C:\\Windows\\System32\\CMD.EXE",
            "cmd /C WhoAmI",
            Some("corp\\alice"),
            None,
            true,
        ),
        (
            "C:\\Windows\\System32\\cmd.exe",
            "cmd /c whoami",
            Some("NT AUTHORITY\\SYSTEM"),
            None,
            false,
        ),
        // A missing User is not "NT AUTHORITY\...": `not filter` holds (SQL NULL would not).
        ("C:\\x\\cmd.exe", "/c whoami", None, None, true),
        ("C:\\x\\cmd.exe.bak", "/c whoami", None, None, false),
        ("C:\\x\\other.exe", "", None, Some("10.1.2.3"), true),
        ("C:\\x\\other.exe", "", None, Some("100.1.2.3"), false),
    ];
    for (image, command_line, user, ip, expected) in rows {
        db.execute("DELETE FROM events", []).expect("delete");
        db.execute(
            "INSERT INTO events (\"Image\", \"CommandLine\", \"User\", \"DestinationIp\") VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![image, command_line, user, ip],
        )
        .expect("insert");
        let found: usize = db
            .prepare(&query)
            .expect("prepare")
            .query_map([], |_| Ok(()))
            .expect("query")
            .count();
        assert_eq!(
            found == 1,
            expected,
            "{image} {command_line} {user:?} {ip:?}\n{query}"
        );
    }
}

#[test]
fn duckdb_binds_and_runs_every_query() {
    if !python_has("duckdb") {
        return;
    }
    let items = sql_items(Target::Duckdb);
    let input: String = items
        .iter()
        .enumerate()
        .map(|(id, item)| {
            let columns: Vec<String> = sql_identifiers(&item.query)
                .into_iter()
                .filter(|c| c != "events")
                .collect();
            json!({"id": id, "query": item.query, "columns": columns}).to_string() + "\n"
        })
        .collect();
    let script = Path::new(MANIFEST).join("verify/duckdb_check.py");
    let Some(output) = run("python3", &[script.to_str().unwrap_or_default()], &input) else {
        return;
    };
    assert_clean("duckdb", items.len(), &failures(&items, &output));
}
