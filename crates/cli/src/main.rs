//! The `sigrun` command line: parse arguments, build a configuration, call the libraries, print.

mod check;
mod color;
mod convert_cmd;
mod digest_index;
mod engine_cache;
mod explain_cmd;
mod hunt;
mod pipelines;
mod rule_cache;
mod test_cmd;

use clap::{Parser, Subcommand};

/// mimalloc instead of the system allocator: compiling thousands of rules allocates many small
/// objects, and glibc's malloc and free took 13% of a hunt's CPU time (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::process::ExitCode;

/// mimalloc hands freed memory back to the kernel after a few milliseconds and asks for it again
/// soon after; with transparent huge pages every such fault makes the kernel zero 2 MiB. On a
/// hunt that was 10% of the CPU time and 45 MB of peak memory (BENCHMARKS.md), for no gain in
/// matching speed. The setting covers this process only.
#[cfg(target_os = "linux")]
fn disable_transparent_huge_pages() {
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and touches no memory of this process.
    // Failure (an old kernel) only leaves the default in place.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

#[cfg(not(target_os = "linux"))]
fn disable_transparent_huge_pages() {}

/// sigrun: check, hunt with, convert, test and document Sigma detection rules.
#[derive(Parser)]
#[command(name = "sigrun", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse and validate Sigma rules; report every problem at its line.
    Check(check::CheckArgs),
    /// Run Sigma rules over EVTX and JSON logs (the built-in WMI persistence pack by default).
    Hunt(hunt::HuntArgs),
    /// Run rule tests: sidecar <rule>.tests.yml files and SigmaHQ regression data.
    Test(test_cmd::TestArgs),
    /// Show why a rule matches an event or not, search by search and value by value.
    Explain(explain_cmd::ExplainArgs),
    /// Convert rules to SIEM queries: Kusto, Lucene, Graylog, EQL, ES|QL, Splunk, SQL.
    Convert(convert_cmd::ConvertArgs),
}

fn main() -> ExitCode {
    disable_transparent_huge_pages();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => check::run(args),
        Command::Hunt(args) => hunt::run(args),
        Command::Test(args) => test_cmd::run(args),
        Command::Explain(args) => explain_cmd::run(args),
        Command::Convert(args) => convert_cmd::run(args),
    };
    match result {
        Ok(code) => code,
        // A closed pipe (`sigrun hunt ... | head`) is the reader's choice, not an error.
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sigrun: error: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
