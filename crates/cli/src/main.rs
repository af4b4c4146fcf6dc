//! The `sigrun` command line: parse arguments, build a configuration, call the libraries, print.

mod check;
mod color;
mod convert_cmd;
mod explain_cmd;
mod hunt;
mod pipelines;
mod test_cmd;

use clap::{Parser, Subcommand};

/// mimalloc instead of the system allocator: compiling thousands of rules allocates many small
/// objects, and glibc's malloc and free took 13% of a hunt's CPU time (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::process::ExitCode;

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
