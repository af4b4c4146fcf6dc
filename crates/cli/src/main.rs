//! The `sigrun` command line: parse arguments, build a configuration, call the libraries, print.

mod check;
mod color;

use clap::{Parser, Subcommand};
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => check::run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("sigrun: error: {error:#}");
            ExitCode::from(2)
        }
    }
}
