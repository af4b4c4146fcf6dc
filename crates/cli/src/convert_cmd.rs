//! `sigrun convert`: Sigma rules to the query language of a SIEM.

use anyhow::{Context as _, bail};
use sigrun_convert::{Format, Options, PlaceholderPolicy, Status, Target, convert_set, list};
use sigrun_pipeline::Pipeline;
use sigrun_rule::RuleSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct ConvertArgs {
    /// Rule files and folders.
    #[arg(required_unless_present = "list")]
    rules: Vec<PathBuf>,
    /// Target query language (see --list).
    #[arg(short, long, required_unless_present = "list")]
    target: Option<String>,
    /// Pipeline: built-in names or YAML files, stacked in order (default: the target's own).
    #[arg(short, long = "pipeline", value_name = "NAME|FILE")]
    pipelines: Vec<String>,
    /// Convert without a pipeline: field names as the rule writes them, no table or source
    /// conditions.
    #[arg(long, conflicts_with = "pipelines")]
    no_pipeline: bool,
    /// Output format: query, ndjson or files (see --list).
    #[arg(short, long, default_value = "query")]
    format: String,
    /// Output file, or the folder for --format files.
    #[arg(short, long, value_name = "PATH")]
    output: Option<PathBuf>,
    /// Sigma filter rules to apply first (files or folders).
    #[arg(long = "filters", value_name = "PATH")]
    filters: Vec<PathBuf>,
    /// Let %placeholders% without values match anything instead of failing the rule.
    #[arg(long)]
    wildcard_placeholders: bool,
    /// List targets, pipelines and output formats.
    #[arg(long)]
    list: bool,
    /// Also list the rules that were skipped (not applicable to the pipeline).
    #[arg(short, long)]
    verbose: bool,
}

pub fn run(args: ConvertArgs) -> anyhow::Result<ExitCode> {
    let mut stdout = std::io::stdout().lock();
    if args.list {
        print_list(&mut stdout)?;
        return Ok(ExitCode::SUCCESS);
    }
    let target_name = args.target.as_deref().unwrap_or_default();
    let target: Target = target_name.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    let Some(format) = Format::parse(&args.format) else {
        bail!("unknown format '{}': query, ndjson or files", args.format);
    };
    let pipeline: Option<Pipeline> = if args.no_pipeline {
        None
    } else if args.pipelines.is_empty() {
        target
            .default_pipeline()
            .map(|name| Pipeline::builtin(name).cloned())
            .transpose()?
    } else {
        Some(crate::pipelines::load(&args.pipelines)?)
    };

    let (mut set, unreadable) = RuleSet::load(&args.rules);
    if let Some((path, reason)) = unreadable.first() {
        bail!("{}: {reason}", path.display());
    }
    let (filters, unreadable) = RuleSet::load(&args.filters);
    if let Some((path, reason)) = unreadable.first() {
        bail!("--filters {}: {reason}", path.display());
    }
    let filtering = sigrun_rule::filter::apply_filters(&mut set, &filters);
    let mut stderr = std::io::stderr().lock();
    for problem in &filtering.problems {
        writeln!(
            stderr,
            "filter {} ({}): {}",
            problem.filter_path, problem.filter_title, problem.message
        )?;
    }
    let options = Options {
        placeholders: if args.wildcard_placeholders {
            PlaceholderPolicy::Wildcard
        } else {
            PlaceholderPolicy::Reject
        },
        ..Options::default()
    };
    let batch = convert_set(&set, target, pipeline.as_ref(), &options);

    for outcome in &batch.outcomes {
        let show = match outcome.status {
            Status::Failed => true,
            Status::Skipped => args.verbose,
            Status::Converted => false,
        };
        if show {
            writeln!(
                stderr,
                "{} {}:{} ({}): {}",
                if outcome.status == Status::Failed {
                    "failed"
                } else {
                    "skipped"
                },
                outcome.path.display(),
                outcome.line,
                outcome.title,
                outcome.reason.as_deref().unwrap_or("")
            )?;
        }
        if let Some(conversion) = &outcome.conversion {
            for (source, error) in &conversion.errors {
                writeln!(
                    stderr,
                    "partly converted {}:{} ({}): source {source}: {error}",
                    outcome.path.display(),
                    outcome.line,
                    outcome.title
                )?;
            }
        }
    }

    match format {
        Format::Query | Format::Ndjson => {
            let text = if format == Format::Query {
                let mut text = batch.query_text();
                if !text.is_empty() && !text.ends_with('\n') {
                    text.push('\n');
                }
                text
            } else {
                batch.ndjson()
            };
            match &args.output {
                Some(path) => std::fs::write(path, text)
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => stdout.write_all(text.as_bytes())?,
            }
        }
        Format::Files => {
            let Some(folder) = &args.output else {
                bail!("--format files needs --output FOLDER");
            };
            std::fs::create_dir_all(folder)
                .with_context(|| format!("cannot create {}", folder.display()))?;
            for (name, content) in batch.files() {
                let path = folder.join(&name);
                std::fs::write(&path, content)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
        }
    }
    let summary = batch.summary;
    writeln!(
        stderr,
        "{}: {} converted, {} failed, {} skipped (pipeline: {})",
        target.name(),
        summary.converted,
        summary.failed,
        summary.skipped,
        batch.pipeline.as_deref().unwrap_or("none")
    )?;
    Ok(if summary.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_list(out: &mut impl Write) -> std::io::Result<()> {
    let listing = list();
    writeln!(out, "targets:")?;
    for target in &listing.targets {
        writeln!(
            out,
            "  {:<8} {} (default pipeline: {}; pipelines: {})",
            target.name,
            target.description,
            target.default_pipeline.unwrap_or("none"),
            target.pipelines.join(", ")
        )?;
    }
    writeln!(out, "pipelines:")?;
    let names = Pipeline::builtin_names()
        .iter()
        .chain(Pipeline::converter_names().iter());
    for name in names {
        let description = Pipeline::builtin(name)
            .ok()
            .and_then(|p| p.description().map(str::to_owned));
        writeln!(out, "  {:<15} {}", name, description.unwrap_or_default())?;
    }
    writeln!(out, "formats:")?;
    for (name, description) in &listing.formats {
        writeln!(out, "  {name:<8} {description}")?;
    }
    Ok(())
}
