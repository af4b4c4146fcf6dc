//! `sigrun convert`: Sigma rules to the query language of a SIEM.

use anyhow::{Context as _, bail};
use sigrun_convert::{
    Batch, Format, Options, PlaceholderPolicy, Status, Target, convert_set, list,
};
use sigrun_pipeline::Pipeline;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct ConvertArgs {
    /// Rule files and folders.
    #[arg(required_unless_present = "list")]
    rules: Vec<PathBuf>,
    /// Target query language(s) (see --list): repeat the option or separate names with
    /// commas (`-t kusto,lucene`) to convert to several targets with one load of the rules.
    #[arg(
        short,
        long,
        required_unless_present = "list",
        value_delimiter = ',',
        value_name = "TARGET"
    )]
    target: Vec<String>,
    /// Pipeline: built-in names or YAML files (sigrun or pySigma format), stacked in order
    /// (default: each target's own).
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
    #[command(flatten)]
    cache: crate::rule_cache::CacheArgs,
}

pub fn run(args: ConvertArgs) -> anyhow::Result<ExitCode> {
    let mut stdout = std::io::stdout().lock();
    if args.list {
        print_list(&mut stdout)?;
        return Ok(ExitCode::SUCCESS);
    }
    let targets = parse_targets(&args.target)?;
    let Some(format) = Format::parse(&args.format) else {
        bail!("unknown format '{}': query, ndjson or files", args.format);
    };
    let loaded: Option<Pipeline> = if args.no_pipeline || args.pipelines.is_empty() {
        None
    } else {
        Some(crate::pipelines::load(&args.pipelines)?)
    };
    // Each target with the pipeline it converts with: the user's for all, or its own.
    let mut jobs: Vec<(Target, Option<&Pipeline>)> = Vec::with_capacity(targets.len());
    for target in targets {
        let pipeline = match (&loaded, args.no_pipeline) {
            (_, true) => None,
            (Some(pipeline), false) => Some(pipeline),
            (None, false) => target
                .default_pipeline()
                .map(Pipeline::builtin)
                .transpose()?,
        };
        jobs.push((target, pipeline));
    }
    if format == Format::Files && args.output.is_none() {
        bail!("--format files needs --output FOLDER");
    }

    let loader = crate::rule_cache::RuleLoader::new(&args.cache);
    let (mut set, unreadable) = loader.load(&args.rules);
    if let Some((path, reason)) = unreadable.first() {
        bail!("{}: {reason}", path.display());
    }
    let (filters, unreadable) = loader.load(&args.filters);
    if let Some((path, reason)) = unreadable.first() {
        bail!("--filters {}: {reason}", path.display());
    }
    loader.finish(&mut std::io::stderr().lock())?;
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

    // One target writes exactly what it always wrote; several get a header (query), a
    // subfolder (files) and a target prefix on their stderr lines. NDJSON records already
    // name their target.
    let several = jobs.len() > 1;
    let mut sink = match (format, &args.output) {
        (Format::Files, _) | (_, None) => None,
        (_, Some(path)) => Some(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot write {}", path.display()))?,
        )),
    };
    let mut summaries = Vec::with_capacity(jobs.len());
    for (index, (target, pipeline)) in jobs.into_iter().enumerate() {
        let batch = convert_set(&set, target, pipeline, &options);
        let prefix = if several {
            format!("{}: ", target.name())
        } else {
            String::new()
        };
        report_outcomes(&mut stderr, &prefix, &batch, args.verbose)?;
        let pipeline_name = batch.pipeline.as_deref().unwrap_or("none").to_owned();
        match format {
            Format::Query | Format::Ndjson => {
                let mut text = String::new();
                if format == Format::Query {
                    if several {
                        if index > 0 {
                            text.push('\n');
                        }
                        text.push_str(&format!(
                            "== {} (pipeline: {pipeline_name}) ==\n",
                            target.name()
                        ));
                    }
                    let queries = batch.query_text();
                    text.push_str(&queries);
                    if !queries.is_empty() && !queries.ends_with('\n') {
                        text.push('\n');
                    }
                } else {
                    text = batch.ndjson();
                }
                match &mut sink {
                    Some(file) => file.write_all(text.as_bytes()).with_context(|| {
                        format!("cannot write {}", display(args.output.as_deref()))
                    })?,
                    None => stdout.write_all(text.as_bytes())?,
                }
            }
            Format::Files => {
                let Some(output) = &args.output else {
                    bail!("--format files needs --output FOLDER");
                };
                let folder = if several {
                    output.join(target.name())
                } else {
                    output.clone()
                };
                std::fs::create_dir_all(&folder)
                    .with_context(|| format!("cannot create {}", folder.display()))?;
                for (name, content) in batch.files() {
                    let path = folder.join(&name);
                    std::fs::write(&path, content)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                }
            }
        }
        summaries.push((target, batch.summary, pipeline_name));
    }
    if let Some(file) = &mut sink {
        file.flush()
            .with_context(|| format!("cannot write {}", display(args.output.as_deref())))?;
    }
    let mut failed = false;
    for (target, summary, pipeline) in summaries {
        writeln!(
            stderr,
            "{}: {} converted, {} failed, {} skipped (pipeline: {pipeline})",
            target.name(),
            summary.converted,
            summary.failed,
            summary.skipped,
        )?;
        failed |= summary.failed > 0;
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The targets named by `-t` (repeated or comma-separated), each once, in the order given.
fn parse_targets(names: &[String]) -> anyhow::Result<Vec<Target>> {
    let mut targets: Vec<Target> = Vec::with_capacity(names.len());
    for name in names {
        let name = name.trim();
        if name.is_empty() {
            bail!("empty target name in -t (write -t kusto,lucene)");
        }
        let target: Target = name.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
        if !targets.contains(&target) {
            targets.push(target);
        }
    }
    Ok(targets)
}

fn display(path: Option<&Path>) -> String {
    path.map(|p| p.display().to_string()).unwrap_or_default()
}

/// The failed (and with `--verbose` the skipped) rules and partly converted ones, on stderr.
fn report_outcomes(
    stderr: &mut impl Write,
    prefix: &str,
    batch: &Batch,
    verbose: bool,
) -> std::io::Result<()> {
    for outcome in &batch.outcomes {
        let show = match outcome.status {
            Status::Failed => true,
            Status::Skipped => verbose,
            Status::Converted => false,
        };
        if show {
            writeln!(
                stderr,
                "{prefix}{} {}:{} ({}): {}",
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
                    "{prefix}partly converted {}:{} ({}): source {source}: {error}",
                    outcome.path.display(),
                    outcome.line,
                    outcome.title
                )?;
            }
        }
    }
    Ok(())
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
