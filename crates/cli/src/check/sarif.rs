//! SARIF 2.1.0 output (OASIS), the format code-scanning interfaces read.

use super::Report;
use serde_json::{Value, json};
use sigrun_attack::AttackData;
use sigrun_rule::validate::validators;
use sigrun_rule::{Diagnostic, Severity, SourceFile};
use std::io::Write;

const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A path as a relative URI reference: forward slashes, spaces and `%` escaped.
fn uri(path: &std::path::Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            ' ' => out.push_str("%20"),
            '%' => out.push_str("%25"),
            '#' => out.push_str("%23"),
            '?' => out.push_str("%3F"),
            c => out.push(c),
        }
    }
    out
}

fn location(file: &SourceFile, d: &Diagnostic) -> Value {
    let mut physical = json!({ "artifactLocation": { "uri": uri(file.path()) } });
    if let Some(span) = d.span {
        let start = file.line_col(span.start);
        let end = file.line_col(span.end.max(span.start));
        physical["region"] = json!({
            "startLine": start.line, "startColumn": start.column,
            "endLine": end.line, "endColumn": end.column,
        });
    }
    json!({ "physicalLocation": physical })
}

pub fn print(
    out: &mut impl Write,
    report: &Report<'_>,
    attack: &AttackData,
) -> std::io::Result<()> {
    let all = validators();
    let rules: Vec<Value> = all
        .iter()
        .map(|v| {
            json!({
                "id": v.name,
                "shortDescription": { "text": v.description },
                "defaultConfiguration": { "level": level(v.severity) },
            })
        })
        .collect();
    let mut results = Vec::new();
    for (file, findings) in report.set.files.iter().zip(&report.findings) {
        for d in findings {
            let mut message = d.message.clone();
            if let Some(help) = &d.help {
                message.push_str(" (help: ");
                message.push_str(help);
                message.push(')');
            }
            let mut result = json!({
                "ruleId": d.code,
                "level": level(d.severity),
                "message": { "text": message },
                "locations": [location(&file.source, d)],
            });
            if let Some(index) = all.iter().position(|v| v.name == d.code) {
                result["ruleIndex"] = json!(index);
            }
            results.push(result);
        }
    }
    let document = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "sigrun",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": env!("CARGO_PKG_REPOSITORY"),
                "rules": rules,
                "properties": { "attackVersion": attack.version() },
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)
}
