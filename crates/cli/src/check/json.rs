//! Machine output: one JSON document listing every file with its findings.

use super::Report;
use serde_json::{Value, json};
use sigrun_rule::{Diagnostic, SourceFile};
use std::io::Write;

pub fn print(out: &mut impl Write, report: &Report<'_>) -> std::io::Result<()> {
    let files: Vec<Value> = report
        .set
        .files
        .iter()
        .zip(&report.findings)
        .filter(|(_, findings)| !findings.is_empty())
        .map(|(file, findings)| {
            json!({
                "path": file.path().display().to_string(),
                "findings": findings.iter().map(|d| finding(&file.source, d)).collect::<Vec<_>>(),
            })
        })
        .collect();
    let document = json!({
        "files": files,
        "unreadable": report.unreadable.iter().map(|(p, reason)| json!({"path": p.display().to_string(), "reason": reason})).collect::<Vec<_>>(),
        "summary": {
            "files": report.set.files.len(),
            "documents": report.documents(),
            "errors": report.count(sigrun_rule::Severity::Error),
            "warnings": report.count(sigrun_rule::Severity::Warning),
            "notes": report.count(sigrun_rule::Severity::Info),
            "hidden": report.hidden,
        },
    });
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)
}

/// Start and end of a span as 1-based lines and character columns.
pub fn region(file: &SourceFile, span: sigrun_rule::Span) -> Value {
    let start = file.line_col(span.start);
    let end = file.line_col(span.end.max(span.start));
    json!({
        "line": start.line, "column": start.column,
        "end_line": end.line, "end_column": end.column,
    })
}

fn finding(file: &SourceFile, d: &Diagnostic) -> Value {
    let mut value = json!({
        "severity": d.severity.as_str(),
        "code": d.code,
        "message": d.message,
    });
    if let Some(span) = d.span {
        value["location"] = region(file, span);
    }
    if let Some(label) = &d.label {
        value["label"] = json!(label);
    }
    if let Some(help) = &d.help {
        value["help"] = json!(help);
    }
    if !d.related.is_empty() {
        value["related"] = d
            .related
            .iter()
            .map(|r| json!({"message": r.message, "location": region(file, r.span)}))
            .collect();
    }
    value
}
