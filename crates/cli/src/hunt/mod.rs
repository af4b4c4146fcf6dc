//! `sigrun hunt`: run Sigma rules over EVTX and JSON logs.
//!
//! Rules are loaded and compiled once; the inputs are split into work units (EVTX chunk
//! ranges, JSON byte ranges) that are read and matched on worker threads while the main thread
//! prints their alerts in input order, so the output is the same whatever the thread count.

mod alert;
mod ordered;
mod output;
pub(crate) mod rules;

use crate::color::ColorChoice;
use crate::engine_cache::{self, Compiled};
use alert::{Alert, AlertEvent, KeyFields};
use anyhow::{Context as _, bail};
use output::{Format, Summary};
use rules::RuleSelection;
use sigrun_engine::{CompileOptions, Engine};
use sigrun_logs::{
    DiscoverOptions, Input, Layout, LayoutChoice, ReadOptions, ReadScratch, SkipReason, SourceKind,
    WorkUnit, discover, read_unit,
};
use sigrun_pipeline::Pipeline;
use sigrun_rule::{Level, Status};
use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(clap::Args)]
pub struct HuntArgs {
    /// EVTX and JSON/JSON Lines files, folders (searched recursively), glob patterns, or '-'
    /// for JSON on standard input.
    #[arg(required = true, value_name = "LOGS")]
    logs: Vec<OsString>,
    /// Rule files or folders to run instead of the built-in WMI persistence pack.
    #[arg(short, long = "rules", value_name = "PATH")]
    rules: Vec<PathBuf>,
    /// Run the built-in pack as well as the --rules.
    #[arg(long)]
    builtin: bool,
    /// Pipeline: a built-in name (windows, ecs) or a YAML file; several are stacked in order.
    #[arg(short, long = "pipeline", value_name = "NAME|FILE")]
    pipelines: Vec<String>,
    /// Layout of JSON events (EVTX records are always read as Windows XML).
    #[arg(long, value_enum, default_value_t = LayoutArg::Auto)]
    layout: LayoutArg,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Write alerts to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Only rules of this level or higher.
    #[arg(long, value_enum)]
    min_level: Option<LevelArg>,
    /// Only rules with these statuses (repeatable).
    #[arg(long = "status", value_enum)]
    statuses: Vec<StatusArg>,
    /// Only the rules with these ids (repeatable).
    #[arg(long = "rule-id", value_name = "ID")]
    rule_ids: Vec<String>,
    /// Only rules with this tag, or a tag under it: 'attack.t1546' keeps attack.t1546.003
    /// (repeatable).
    #[arg(long = "tag", value_name = "TAG")]
    tags: Vec<String>,
    /// Sigma filter rules (meta filters) to apply to the rules: files or folders (repeatable).
    #[arg(long = "filters", value_name = "PATH")]
    filters: Vec<PathBuf>,
    /// Worker threads (default: one per core).
    #[arg(short = 'j', long)]
    threads: Option<usize>,
    /// MiB of field values each worker remembers with their scan results, so that a value
    /// seen before is not searched again (0: off; at most 1024). With its index a memo takes
    /// up to about twice this per worker. Never changes the alerts.
    #[arg(long, value_name = "MIB", default_value_t = sigrun_engine::DEFAULT_SCAN_MEMO_BYTES >> 20)]
    scan_memo: usize,
    /// Do not print the summary.
    #[arg(long)]
    no_summary: bool,
    #[command(flatten)]
    cache: crate::rule_cache::CacheArgs,
    /// Do not list the rules that were skipped (they are still counted).
    #[arg(short, long)]
    quiet: bool,
    /// Show a progress bar: auto (when standard error is a terminal), never.
    #[arg(long, value_enum, default_value_t = ProgressArg::Auto)]
    progress: ProgressArg,
    /// When to colour the table.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum LayoutArg {
    Auto,
    WindowsNested,
    WindowsFlat,
    Ecs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum ProgressArg {
    Auto,
    Never,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum LevelArg {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum StatusArg {
    Stable,
    Test,
    Experimental,
    Deprecated,
    Unsupported,
}

impl LevelArg {
    fn level(self) -> Level {
        match self {
            LevelArg::Informational => Level::Informational,
            LevelArg::Low => Level::Low,
            LevelArg::Medium => Level::Medium,
            LevelArg::High => Level::High,
            LevelArg::Critical => Level::Critical,
        }
    }
}

impl StatusArg {
    fn status(self) -> Status {
        match self {
            StatusArg::Stable => Status::Stable,
            StatusArg::Test => Status::Test,
            StatusArg::Experimental => Status::Experimental,
            StatusArg::Deprecated => Status::Deprecated,
            StatusArg::Unsupported => Status::Unsupported,
        }
    }
}

/// Exit statuses of a hunt.
pub mod exit {
    /// No alert, nothing skipped.
    pub const CLEAN: u8 = 0;
    /// Alerts, nothing skipped.
    pub const ALERTS: u8 = 1;
    /// The hunt could not run (bad arguments, no rule, unreadable pipeline).
    #[allow(dead_code, reason = "documents the status main() returns for errors")]
    pub const FAILED: u8 = 2;
    /// No alert, but records, inputs or rules were skipped.
    pub const PROBLEMS: u8 = 3;
    /// Alerts, and records, inputs or rules were skipped.
    pub const ALERTS_AND_PROBLEMS: u8 = 4;
}

/// The engine and the rules' metadata for `selection`: read back from the compiled-rule cache
/// when an earlier hunt kept them for the same files, else parsed (through the parse cache),
/// chosen and compiled, and kept. The built-in pack alone is compiled faster than it would be
/// read back, so the cache is for hunts that name rule or filter files.
fn compile_rules(
    selection: &RuleSelection,
    loader: crate::rule_cache::RuleLoader,
    pipeline: &Pipeline,
    options: &CompileOptions,
    stderr: &mut impl Write,
) -> anyhow::Result<Compiled> {
    let folder = loader
        .folder()
        .filter(|_| !(selection.paths.is_empty() && selection.filters.is_empty()))
        .map(Path::to_path_buf);
    if let Some(folder) = &folder {
        let index = crate::digest_index::DigestIndex::open(folder);
        if let Some(problem) = index.problem() {
            let path = index.path().display();
            writeln!(
                stderr,
                "warning: rule digest index {path}: {problem}; reading the rule files"
            )?;
        }
        let (digests, taken) = rules::digests(selection, Some(&index));
        let path = index.path().to_path_buf();
        if let Err(e) = index.save(&taken) {
            writeln!(
                stderr,
                "warning: rule digest index {} not written: {e}",
                path.display()
            )?;
        }
        let key = rules::plan_key(selection, &digests, pipeline, options);
        if let Some(compiled) = engine_cache::read(folder, key, stderr)? {
            return Ok(compiled);
        }
    }
    let files = rules::read(selection);
    // Kept under the key of the texts compiled: a file may have changed since its digest
    // was taken.
    let cache = folder.map(|folder| {
        let key = rules::plan_key(selection, &files.digests(), pipeline, options);
        (folder, key)
    });
    let loaded = rules::load(selection, &loader, files);
    loader.finish(stderr)?;
    let (engine, problems) = Engine::compile_documents(&loaded.documents(), pipeline, options);
    let rules::LoadedRules { set, plan, .. } = loaded;
    // Freeing thousands of parsed rules one allocation at a time would cost 3% of a hunt over
    // a small corpus; the process ends soon.
    std::mem::forget(set);
    let compiled = Compiled {
        plan,
        engine,
        problems,
    };
    if let Some((folder, key)) = &cache {
        engine_cache::write(folder, *key, &compiled, stderr)?;
    }
    Ok(compiled)
}

pub fn run(args: HuntArgs) -> anyhow::Result<ExitCode> {
    if let Some(threads) = args.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .build_global()
            .context("cannot start worker threads")?;
    }
    let pipeline = crate::pipelines::load(&args.pipelines)?;
    let selection = RuleSelection {
        paths: args.rules.clone(),
        with_builtin: args.builtin,
        min_level: args.min_level.map(LevelArg::level),
        statuses: args.statuses.iter().map(|s| s.status()).collect(),
        ids: args.rule_ids.clone(),
        tags: args.tags.clone(),
        filters: args.filters.clone(),
    };
    let loader = crate::rule_cache::RuleLoader::new(&args.cache);
    let options = CompileOptions::default();
    let inputs: Vec<Input> = args.logs.iter().map(Input::from_arg).collect();
    // The logs are found (each file opened to tell what it holds) while the rules load: on
    // two threads, one waited for the other. Stderr is not locked while the rules load on the
    // worker threads: a panic there must be able to print its message.
    let (compiled, sources) = rayon::join(
        || {
            compile_rules(
                &selection,
                loader,
                &pipeline,
                &options,
                &mut std::io::stderr(),
            )
        },
        || {
            let options = DiscoverOptions {
                defer_small_files: true,
                ..DiscoverOptions::default()
            };
            discover(&inputs, &options)
        },
    );
    let Compiled {
        plan,
        engine,
        problems,
    } = compiled?;
    let mut stderr = std::io::stderr().lock();

    let skipped_rules = plan.skipped.len() + problems.len();
    if !args.quiet {
        for skipped in &plan.skipped {
            let title = if skipped.title.is_empty() {
                String::new()
            } else {
                format!(" ({})", skipped.title)
            };
            writeln!(
                stderr,
                "skipped rule {}{title}: {}",
                skipped.path, skipped.reason
            )?;
        }
        for problem in &problems {
            let info = &plan.info[problem.rule];
            writeln!(
                stderr,
                "skipped rule {} ({}): {}",
                info.path, info.title, problem.kind
            )?;
        }
    }
    for problem in &plan.filter_problems {
        writeln!(
            stderr,
            "filter {} ({}): {}",
            problem.filter_path, problem.filter_title, problem.message
        )?;
    }
    let compiled = engine.rule_ids().len();
    if compiled == 0 {
        bail!(
            "no rule to run ({} skipped, {} left out by filters)",
            skipped_rules,
            plan.filtered_out
        );
    }

    let mut unreadable = 0;
    for source in &sources {
        // Files found in folders that are no log are skipped without a word; files that
        // cannot be read are reported wherever they were found.
        if let SourceKind::Skipped(reason) = source.kind()
            && (source.is_explicit() || matches!(reason, SkipReason::Unreadable(_)))
        {
            unreadable += 1;
            writeln!(stderr, "{}: skipped: {reason}", source.path().display())?;
        }
    }
    let units: Vec<&WorkUnit> = sources.iter().flat_map(|s| s.units()).collect();
    let read_options = ReadOptions {
        layout: match args.layout {
            LayoutArg::Auto => LayoutChoice::Auto,
            LayoutArg::WindowsNested => LayoutChoice::Fixed(Layout::WindowsNested),
            LayoutArg::WindowsFlat => LayoutChoice::Fixed(Layout::WindowsFlat),
            LayoutArg::Ecs => LayoutChoice::Fixed(Layout::Ecs),
        },
        ..ReadOptions::default()
    };

    let color = args.color.for_stdout() && args.output.is_none();
    let out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::with_capacity(
            OUTPUT_BUFFER,
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::with_capacity(
            OUTPUT_BUFFER,
            std::io::stdout().lock(),
        )),
    };
    let mut sink = output::sink(args.format, out, color);

    let progress =
        (args.progress == ProgressArg::Auto && std::io::stderr().is_terminal()).then(|| {
            let total: u64 = units.iter().map(|u| u.weight()).sum();
            let bar = indicatif::ProgressBar::new(total);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {bytes}/{total_bytes} {eta} {msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar
        });

    let mut summary = Summary {
        files: sources.iter().filter(|s| !s.units().is_empty()).count(),
        unreadable_sources: unreadable,
        rules_compiled: compiled,
        rules_skipped: skipped_rules,
        rules_filtered: plan.filtered_out,
        ..Summary::default()
    };
    // Units are matched in parallel and printed in input order as soon as every earlier
    // unit is printed: the output does not depend on scheduling. Workers run ahead by up to
    // 16 units each (units differ in size: with 4, one large unit left the other cores idle)
    // while the alerts waiting to be printed hold at most 64 MiB.
    let threads = rayon::current_num_threads();
    let key_fields = match args.format {
        Format::Table | Format::Csv => KeyFields::Collect,
        Format::Jsonl => KeyFields::Skip,
    };
    let ahead = ordered::Ahead {
        window: threads * 16,
        bytes: 64 << 20,
    };
    ordered::for_each_ordered(
        &units,
        threads,
        ahead,
        || {
            let mut match_scratch = engine.new_scratch();
            match_scratch.set_scan_memo_bytes(args.scan_memo.saturating_mul(1 << 20));
            (ReadScratch::new(), match_scratch)
        },
        |(read_scratch, match_scratch), unit| {
            hunt_unit(
                unit,
                &read_options,
                read_scratch,
                match_scratch,
                &engine,
                &plan.info,
                &pipeline,
                key_fields,
            )
        },
        UnitResult::size,
        |result| -> anyhow::Result<()> {
            summary.events += result.events;
            // A file found in a folder and told only when read, that was no log.
            summary.files -= usize::from(result.not_a_log);
            summary.read_problems += result.problems.len() as u64;
            for problem in &result.problems {
                writeln!(stderr, "{problem}")?;
            }
            for alert in &result.alerts {
                *summary.per_rule.entry(alert.rule).or_default() += 1;
                sink.alert(alert, &plan.info[alert.rule])?;
            }
            if let Some(bar) = &progress {
                bar.inc(result.weight);
            }
            Ok(())
        },
    )?;
    sink.finish()?;
    drop(sink);
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    if !args.no_summary {
        // The table is for people: its summary follows it. Machine formats keep stdout clean.
        if args.format == Format::Table && args.output.is_none() {
            let mut stdout = std::io::stdout().lock();
            summary.print(&mut stdout, &plan.info, color)?;
        } else {
            summary.print(&mut stderr, &plan.info, false)?;
        }
    }
    let problems = summary.read_problems > 0 || summary.unreadable_sources > 0 || skipped_rules > 0;
    let code = match (summary.alerts() > 0, problems) {
        (false, false) => exit::CLEAN,
        (true, false) => exit::ALERTS,
        (false, true) => exit::PROBLEMS,
        (true, true) => exit::ALERTS_AND_PROBLEMS,
    };
    // The process ends after this: freeing the compiled rule set one allocation at a time
    // would cost more than the rest of a hunt's ending.
    std::mem::forget(engine);
    std::mem::forget(plan);
    Ok(ExitCode::from(code))
}

/// Bytes of alerts gathered before each write: JSON Lines alerts carry whole events, and with
/// the default 8 KiB a long hunt made a write call every few alerts (8,400 over the corpus
/// x20, a tenth of the hunt's time when writing to a file).
const OUTPUT_BUFFER: usize = 1 << 20;

struct UnitResult<'e> {
    alerts: Vec<Alert<'e>>,
    problems: Vec<String>,
    events: u64,
    /// The unit was a file that turned out to be no log ([`sigrun_logs::UnitStats::not_a_log`]).
    not_a_log: bool,
    weight: u64,
}

impl UnitResult<'_> {
    /// Roughly the bytes the result holds: the alerts, their events' JSON and the messages.
    fn size(&self) -> usize {
        // An event's alerts are next to each other and share it: counted once.
        let events: usize = self
            .alerts
            .chunk_by(|a, b| Arc::ptr_eq(&a.event, &b.event))
            .map(|alerts| alerts[0].event.size())
            .sum();
        let alerts: usize = self.alerts.iter().map(Alert::size).sum::<usize>() + events;
        let problems: usize = self.problems.iter().map(String::len).sum();
        alerts + problems
    }
}

#[allow(clippy::too_many_arguments)]
fn hunt_unit<'e>(
    unit: &WorkUnit,
    options: &ReadOptions,
    read_scratch: &mut ReadScratch,
    match_scratch: &mut sigrun_engine::Scratch,
    engine: &'e Engine,
    rules: &[rules::RuleInfo],
    pipeline: &Pipeline,
    key_fields: KeyFields,
) -> UnitResult<'e> {
    let mut alerts = Vec::new();
    let mut problems = Vec::new();
    let stats = read_unit(
        unit,
        options,
        read_scratch,
        |event| {
            let mut shared: Option<Arc<AlertEvent>> = None;
            engine.match_event(&event, match_scratch, |m| {
                let shared = shared.get_or_insert_with(|| Arc::new(AlertEvent::new(&event)));
                let fields = match key_fields {
                    KeyFields::Collect => &rules[m.rule].fields[..],
                    KeyFields::Skip => &[],
                };
                alerts.push(Alert::new(
                    m.rule,
                    m.source,
                    unit.path(),
                    &event,
                    shared,
                    fields,
                    pipeline,
                ));
            });
            ControlFlow::Continue(())
        },
        |problem| problems.push(problem.to_string()),
    );
    let (events, not_a_log) = match stats {
        Ok(stats) => (stats.events, stats.not_a_log),
        Err(error) => {
            problems.push(error.to_string());
            (0, false)
        }
    };
    UnitResult {
        alerts,
        problems,
        events,
        not_a_log,
        weight: unit.weight(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sigrun_logs::Location;

    #[test]
    fn a_result_counts_an_event_once_however_many_alerts_share_it() {
        let event = |json: &str| {
            Arc::new(AlertEvent::from_parts(
                Location::Source,
                None,
                None,
                ["", "", "", json],
            ))
        };
        let file: Arc<Path> = Arc::from(Path::new("a.evtx"));
        let alert = |event: &Arc<AlertEvent>| Alert {
            rule: 0,
            source: "s",
            file: Arc::clone(&file),
            event: Arc::clone(event),
            key_fields: Vec::new(),
        };
        let (one, other) = (event(&"x".repeat(1000)), event(&"y".repeat(1000)));
        let result = |alerts| UnitResult {
            alerts,
            problems: vec!["p".repeat(10)],
            events: 2,
            not_a_log: false,
            weight: 0,
        };
        let shared = result(vec![alert(&one), alert(&one), alert(&one)]);
        let apart = result(vec![alert(&one), alert(&other), alert(&one)]);
        let alert_size = alert(&one).size();
        assert_eq!(shared.size(), 3 * alert_size + one.size() + 10);
        assert_eq!(apart.size(), 3 * alert_size + 3 * one.size() + 10);
    }
}
