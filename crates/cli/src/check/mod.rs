//! `sigrun check`: load rule files and folders, run the validators, print the findings.

mod json;
mod sarif;
mod text;

use crate::color::ColorChoice;
use anyhow::Context as _;
use sigrun_attack::AttackData;
use sigrun_rule::validate::{self, Options, Profile};
use sigrun_rule::{Diagnostic, RuleSet, Severity};
use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct CheckArgs {
    /// Rule files and folders (searched recursively for .yml and .yaml files).
    #[arg(required_unless_present = "list")]
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// List the validators and exit.
    #[arg(long)]
    list: bool,
    /// Do not run the validator NAME (repeatable; names as shown by --list).
    #[arg(long = "disable", value_name = "NAME")]
    disabled: Vec<String>,
    /// Also check SigmaHQ's repository conventions.
    #[arg(long, value_enum, default_value_t = ProfileArg::Spec)]
    profile: ProfileArg,
    #[command(flatten)]
    cache: crate::rule_cache::CacheArgs,
    /// Show findings at or above this severity.
    #[arg(long, value_enum, default_value_t = SeverityArg::Warning)]
    severity: SeverityArg,
    /// Exit with status 1 when a finding at or above this severity is shown.
    #[arg(long, value_enum, default_value_t = SeverityArg::Error)]
    fail_on: SeverityArg,
    /// An ATT&CK STIX 2.1 bundle (enterprise-attack.json) to check tags against instead of the
    /// embedded ATT&CK v18.1.
    #[arg(long, value_name = "FILE")]
    attack_data: Option<PathBuf>,
    /// When to colour the text output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// rustc-style messages with the source line and a caret.
    Text,
    /// One JSON document with every finding.
    Json,
    /// SARIF 2.1.0, for code-scanning interfaces.
    Sarif,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum ProfileArg {
    /// The Sigma specification v2.1.0.
    Spec,
    /// The specification plus SigmaHQ's conventions.
    Sigmahq,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
enum SeverityArg {
    Info,
    Warning,
    Error,
}

impl From<SeverityArg> for Severity {
    fn from(value: SeverityArg) -> Severity {
        match value {
            SeverityArg::Info => Severity::Info,
            SeverityArg::Warning => Severity::Warning,
            SeverityArg::Error => Severity::Error,
        }
    }
}

/// What the printers get: every checked file with the findings to show.
pub struct Report<'a> {
    pub set: &'a RuleSet,
    /// Per file of the set (same order): the findings at or above the shown severity.
    pub findings: Vec<Vec<Diagnostic>>,
    /// Findings below the shown severity, counted only.
    pub hidden: usize,
    /// Paths that could not be searched (missing, unreadable folders).
    pub unreadable: Vec<(PathBuf, String)>,
}

impl Report<'_> {
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .flatten()
            .filter(|d| d.severity == severity)
            .count()
    }

    pub fn documents(&self) -> usize {
        self.set.files.iter().map(|f| f.documents.len()).sum()
    }
}

pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    if args.list {
        list(&mut out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let known: HashSet<&str> = validate::validators().iter().map(|v| v.name).collect();
    if let Some(unknown) = args.disabled.iter().find(|n| !known.contains(n.as_str())) {
        anyhow::bail!("--disable {unknown}: no such validator (see sigrun check --list)");
    }
    let owned_attack;
    let attack: &AttackData = match &args.attack_data {
        None => AttackData::embedded(),
        Some(path) => {
            let bytes = std::fs::read(path)
                .with_context(|| format!("cannot read --attack-data {}", path.display()))?;
            owned_attack = AttackData::from_stix_bundle(&bytes)
                .with_context(|| format!("--attack-data {}", path.display()))?;
            &owned_attack
        }
    };

    let loader = crate::rule_cache::RuleLoader::new(&args.cache);
    let (set, unreadable) = loader.load(&args.paths);
    loader.finish(&mut std::io::stderr().lock())?;
    let options = Options {
        profile: match args.profile {
            ProfileArg::Spec => Profile::Spec,
            ProfileArg::Sigmahq => Profile::SigmaHq,
        },
        disabled: args.disabled.iter().cloned().collect(),
    };
    let shown: Severity = args.severity.into();
    let mut hidden = 0;
    let findings = validate::validate(&set, attack, &options)
        .into_iter()
        .map(|file| {
            let (show, hide): (Vec<_>, Vec<_>) = file
                .diagnostics
                .into_iter()
                .partition(|d| d.severity >= shown);
            hidden += hide.len();
            show
        })
        .collect();
    let report = Report {
        set: &set,
        findings,
        hidden,
        unreadable,
    };
    match args.format {
        Format::Text => text::print(&mut out, &report, args.color.for_stdout())?,
        Format::Json => json::print(&mut out, &report)?,
        Format::Sarif => sarif::print(&mut out, &report, attack)?,
    }
    out.flush()?;

    if !report.unreadable.is_empty() {
        return Ok(ExitCode::from(2));
    }
    let fail_on: Severity = args.fail_on.into();
    let failing = report
        .findings
        .iter()
        .flatten()
        .any(|d| d.severity >= fail_on);
    Ok(if failing {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn list(out: &mut impl Write) -> std::io::Result<()> {
    let validators = validate::validators();
    let width = validators.iter().map(|v| v.name.len()).max().unwrap_or(0);
    for v in validators {
        let profile = match v.profile {
            Profile::Spec => "",
            Profile::SigmaHq => " [sigmahq]",
        };
        writeln!(
            out,
            "{:width$}  {:7}  {}{profile}",
            v.name,
            v.severity.as_str(),
            v.description
        )?;
    }
    Ok(())
}
