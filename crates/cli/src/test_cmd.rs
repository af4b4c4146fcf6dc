//! `sigrun test`: run rule tests (sidecar `<rule>.tests.yml` files and SigmaHQ regression data)
//! and report them as text, JSON or JUnit XML.

use serde_json::json;
use sigrun_pipeline::Pipeline;
use sigrun_rule::{RuleSet, SourceFile};
use sigrun_ruletest::{
    Outcome, RuleTestReport, TestSource, find_tests, run_rule_tests, run_sidecar_text,
};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct TestArgs {
    /// Rule files and folders; without any, the built-in pack's own tests run.
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Filter rules (Sigma meta filters) to apply before testing: files or folders.
    #[arg(long = "filters", value_name = "PATH")]
    filters: Vec<PathBuf>,
    /// A pipeline (built-in name or YAML file) instead of the one each case names.
    #[arg(short, long = "pipeline", value_name = "NAME|FILE")]
    pipeline: Option<String>,
    /// Also list the rules that have no tests.
    #[arg(short, long)]
    verbose: bool,
    #[command(flatten)]
    cache: crate::rule_cache::CacheArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Text,
    Json,
    Junit,
}

pub fn run(args: TestArgs) -> anyhow::Result<ExitCode> {
    let pipeline = match &args.pipeline {
        None => None,
        Some(name) => Some(crate::pipelines::load(std::slice::from_ref(name))?),
    };
    let reports = if args.paths.is_empty() {
        test_pack(pipeline.as_ref())
    } else {
        test_paths(&args.paths, &args.filters, pipeline.as_ref(), &args.cache)?
    };
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Text => print_text(&mut out, &reports, args.verbose)?,
        Format::Json => print_json(&mut out, &reports)?,
        Format::Junit => print_junit(&mut out, &reports)?,
    }
    out.flush()?;
    let failed = reports
        .iter()
        .any(|r| matches!(r.outcome, Outcome::Failed | Outcome::Error(_)));
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn test_pack(pipeline: Option<&Pipeline>) -> Vec<RuleTestReport> {
    sigrun_pack::rules()
        .iter()
        .filter_map(|rule| {
            let path = PathBuf::from(format!("builtin/{}", rule.file_name));
            let set = RuleSet::from_sources([SourceFile::new(&path, rule.text)]);
            let parsed = set.documents().find_map(|d| d.document.rule())?.clone();
            let sidecar = path.with_extension("tests.yml");
            let mut report = RuleTestReport {
                rule_path: path.display().to_string(),
                title: parsed.meta.title().to_string(),
                id: parsed.meta.id().unwrap_or_default().to_string(),
                source: Some(TestSource::Sidecar(sidecar.clone())),
                outcome: Outcome::Skipped("no tests".into()),
                cases: Vec::new(),
            };
            if let Some(tests) = rule.tests {
                report.settle(run_sidecar_text(&parsed, &sidecar, tests, pipeline));
            }
            Some(report)
        })
        .collect()
}

fn test_paths(
    paths: &[PathBuf],
    filters: &[PathBuf],
    pipeline: Option<&Pipeline>,
    cache: &crate::rule_cache::CacheArgs,
) -> anyhow::Result<Vec<RuleTestReport>> {
    let loader = crate::rule_cache::RuleLoader::new(cache);
    let (mut set, unreadable) = loader.load(paths);
    if let Some((path, reason)) = unreadable.first() {
        anyhow::bail!("{}: {reason}", path.display());
    }
    let (filter_set, unreadable) = loader.load(filters);
    if let Some((path, reason)) = unreadable.first() {
        anyhow::bail!("--filters {}: {reason}", path.display());
    }
    loader.finish(&mut std::io::stderr().lock())?;
    let applied = sigrun_rule::filter::apply_filters(&mut set, &filter_set);
    for problem in &applied.problems {
        eprintln!(
            "filter {} ({}): {}",
            problem.filter_path, problem.filter_title, problem.message
        );
    }
    let mut reports = Vec::new();
    for doc in set.documents() {
        let path = doc.file.path();
        let Some(rule) = doc.document.rule() else {
            continue;
        };
        if doc.document.has_errors() {
            reports.push(RuleTestReport {
                rule_path: path.display().to_string(),
                title: rule.meta.title().to_string(),
                id: rule.meta.id().unwrap_or_default().to_string(),
                source: None,
                outcome: Outcome::Error("the rule has errors (see sigrun check)".into()),
                cases: Vec::new(),
            });
            continue;
        }
        let regression = rule
            .meta
            .custom("regression_tests_path")
            .and_then(|n| n.as_str());
        let found = find_tests(path, regression);
        reports.push(run_rule_tests(rule, path, &found, pipeline));
    }
    Ok(reports)
}

fn counts(reports: &[RuleTestReport]) -> (usize, usize, usize, usize, usize) {
    let passed = reports
        .iter()
        .filter(|r| r.outcome == Outcome::Passed)
        .count();
    let failed = reports
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Failed | Outcome::Error(_)))
        .count();
    let missing = reports
        .iter()
        .filter(|r| matches!(&r.outcome, Outcome::Skipped(reason) if reason != "no tests"))
        .count();
    let untested = reports
        .iter()
        .filter(|r| matches!(&r.outcome, Outcome::Skipped(reason) if reason == "no tests"))
        .count();
    (passed, failed, missing, untested, reports.len())
}

fn source_name(source: &Option<TestSource>) -> String {
    match source {
        Some(TestSource::Sidecar(path)) | Some(TestSource::Regression(path)) => {
            path.display().to_string()
        }
        None => String::new(),
    }
}

fn print_text(
    out: &mut impl Write,
    reports: &[RuleTestReport],
    verbose: bool,
) -> std::io::Result<()> {
    for report in reports {
        let label = match &report.outcome {
            Outcome::Passed => "PASS",
            Outcome::Failed => "FAIL",
            Outcome::Error(_) => "ERROR",
            Outcome::Skipped(reason) if reason == "no tests" && !verbose => continue,
            Outcome::Skipped(_) => "SKIP",
        };
        let cases = report.cases.len();
        let passed = report.cases.iter().filter(|c| c.passed).count();
        match &report.outcome {
            Outcome::Skipped(reason) | Outcome::Error(reason) => writeln!(
                out,
                "{label}  {} ({}): {reason}",
                report.rule_path, report.title
            )?,
            _ => writeln!(
                out,
                "{label}  {} ({}): {passed}/{cases} cases",
                report.rule_path, report.title
            )?,
        }
        for case in report.cases.iter().filter(|c| !c.passed) {
            writeln!(
                out,
                "      case '{}': expected {}, {} of {} events matched",
                case.name,
                case.expectation.describe(),
                case.matched,
                case.events
            )?;
            for detail in &case.details {
                writeln!(out, "        {detail}")?;
            }
        }
    }
    let (passed, failed, missing, untested, total) = counts(reports);
    let tested = total - untested;
    writeln!(
        out,
        "\n{passed} passed, {failed} failed, {missing} skipped (test data not there)"
    )?;
    let percent = if total == 0 {
        0.0
    } else {
        100.0 * tested as f64 / total as f64
    };
    writeln!(
        out,
        "coverage: {tested} of {total} rules have tests ({percent:.1}%)"
    )
}

fn print_json(out: &mut impl Write, reports: &[RuleTestReport]) -> std::io::Result<()> {
    let rules: Vec<_> = reports
        .iter()
        .map(|r| {
            let (outcome, reason) = match &r.outcome {
                Outcome::Passed => ("passed", None),
                Outcome::Failed => ("failed", None),
                Outcome::Skipped(reason) => ("skipped", Some(reason.clone())),
                Outcome::Error(reason) => ("error", Some(reason.clone())),
            };
            json!({
                "rule": r.rule_path, "title": r.title, "id": r.id,
                "tests": source_name(&r.source),
                "outcome": outcome, "reason": reason,
                "cases": r.cases.iter().map(|c| json!({
                    "name": c.name, "expected": c.expectation.describe(),
                    "events": c.events, "matched": c.matched, "passed": c.passed,
                    "details": c.details,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let (passed, failed, missing, untested, total) = counts(reports);
    let document = json!({
        "rules": rules,
        "summary": { "passed": passed, "failed": failed, "skipped": missing, "untested": untested, "rules": total },
    });
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)
}

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 forbids most control characters even as references.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

fn print_junit(out: &mut impl Write, reports: &[RuleTestReport]) -> std::io::Result<()> {
    let listed: Vec<&RuleTestReport> = reports
        .iter()
        .filter(|r| !matches!(&r.outcome, Outcome::Skipped(reason) if reason == "no tests"))
        .collect();
    let tests: usize = listed.iter().map(|r| r.cases.len().max(1)).sum();
    let failures: usize = listed
        .iter()
        .map(|r| r.cases.iter().filter(|c| !c.passed).count())
        .sum();
    let errors = listed
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Error(_)))
        .count();
    let skipped = listed
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Skipped(_)))
        .count();
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="sigrun test" tests="{tests}" failures="{failures}" errors="{errors}" skipped="{skipped}">"#
    )?;
    for report in listed {
        let suite_failures = report.cases.iter().filter(|c| !c.passed).count();
        writeln!(
            out,
            r#"  <testsuite name="{}" tests="{}" failures="{suite_failures}">"#,
            xml_escape(&format!("{} ({})", report.title, report.rule_path)),
            report.cases.len().max(1)
        )?;
        let class = xml_escape(&report.rule_path);
        match &report.outcome {
            Outcome::Skipped(reason) => writeln!(
                out,
                r#"    <testcase classname="{class}" name="tests"><skipped message="{}"/></testcase>"#,
                xml_escape(reason)
            )?,
            Outcome::Error(reason) => writeln!(
                out,
                r#"    <testcase classname="{class}" name="tests"><error message="{}"/></testcase>"#,
                xml_escape(reason)
            )?,
            _ => {
                for case in &report.cases {
                    if case.passed {
                        writeln!(
                            out,
                            r#"    <testcase classname="{class}" name="{}"/>"#,
                            xml_escape(&case.name)
                        )?;
                    } else {
                        writeln!(
                            out,
                            r#"    <testcase classname="{class}" name="{}">"#,
                            xml_escape(&case.name)
                        )?;
                        writeln!(
                            out,
                            r#"      <failure message="expected {}, {} of {} events matched">{}</failure>"#,
                            xml_escape(&case.expectation.describe()),
                            case.matched,
                            case.events,
                            xml_escape(&case.details.join("\n"))
                        )?;
                        writeln!(out, "    </testcase>")?;
                    }
                }
            }
        }
        writeln!(out, "  </testsuite>")?;
    }
    writeln!(out, "</testsuites>")
}
