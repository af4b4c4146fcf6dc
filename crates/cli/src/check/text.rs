//! Human output: each finding as rustc does it, then a summary line.

use super::Report;
use sigrun_rule::Severity;
use sigrun_rule::diagnostic::{RenderStyle, render};
use std::io::Write;

pub fn print(out: &mut impl Write, report: &Report<'_>, color: bool) -> std::io::Result<()> {
    for (path, reason) in &report.unreadable {
        writeln!(out, "error: {}: {reason}\n", path.display())?;
    }
    for (file, findings) in report.set.files.iter().zip(&report.findings) {
        for diagnostic in findings {
            writeln!(
                out,
                "{}\n",
                render(&file.source, diagnostic, RenderStyle { color })
            )?;
        }
    }
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let mut summary = format!(
        "checked {} ({}): {}, {}, {}",
        plural(report.set.files.len(), "file"),
        plural(report.documents(), "document"),
        plural(report.count(Severity::Error), "error"),
        plural(report.count(Severity::Warning), "warning"),
        plural(report.count(Severity::Info), "note"),
    );
    if report.hidden > 0 {
        summary.push_str(&format!(" ({} below --severity not shown)", report.hidden));
    }
    writeln!(out, "{summary}")
}
