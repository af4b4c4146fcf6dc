//! Helpers shared by the integration tests.

#![allow(dead_code, reason = "each test file uses a part of this module")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root, where the bundled samples and examples are.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs the `sigrun` binary in `dir` without colours, with its parse cache in the target
/// folder (not the user's).
pub fn sigrun_in(dir: &Path, args: &[&str]) -> Output {
    sigrun_cached(dir, &test_cache_dir(), args)
}

/// Runs the `sigrun` binary in `dir` without colours, with its parse cache in `cache` (an
/// empty path turns it off).
pub fn sigrun_cached(dir: &Path, cache: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sigrun"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("SIGRUN_CACHE_DIR", cache)
        .output()
        .expect("run sigrun")
}

/// The parse cache the tests' runs share.
pub fn test_cache_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("parse-cache")
}

/// Runs the `sigrun` binary at the repository root.
pub fn sigrun(args: &[&str]) -> Output {
    sigrun_in(&repo_root(), args)
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

/// The shared folder when `sub` exists in it (`SIGRUN_SHARED`, else `../shared` beside the
/// repository); otherwise prints one line and gives `None`, and the test skips.
pub fn shared_with(sub: &str) -> Option<PathBuf> {
    let path = std::env::var_os("SIGRUN_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared"));
    if path.join(sub).exists() {
        Some(path)
    } else {
        println!("skipped: no {sub} in {}", path.display());
        None
    }
}

/// Extracts the Sigma rule of seed 001 (a Markdown page with the rule in a code fence).
pub fn seed_001_rule(text: &str) -> Option<String> {
    let start = text.find("### Sigma rule")?;
    let fence = text[start..].find("```")? + start + 3;
    let end = text[fence..].find("```")? + fence;
    Some(text[fence..end].trim_start_matches('\n').to_string())
}

/// Seed 000 prints its rule with the indentation lost. Restore it from Sigma's structure:
/// known top-level keys at column 0, list items and the keys under `logsource`/`detection` one
/// level in, the entries of a search identifier two levels in, `condition` back at one.
pub fn seed_000_rule(text: &str) -> Option<String> {
    const TOP: &[&str] = &[
        "title",
        "id",
        "status",
        "description",
        "references",
        "author",
        "date",
        "modified",
        "tags",
        "logsource",
        "detection",
        "falsepositives",
        "level",
    ];
    let start = text.find("title:")?;
    let mut out = String::new();
    let mut section = "";
    let mut in_search = false;
    for line in text[start..].lines() {
        let key = line.split(':').next().unwrap_or("");
        if TOP.contains(&key) && line.contains(':') {
            section = key;
            in_search = false;
            out.push_str(line);
        } else if line.starts_with("- ") || (section == "logsource" && line.contains(": ")) {
            out.push_str("    ");
            out.push_str(line);
        } else if section == "detection" && (line.ends_with(':') || key == "condition") {
            in_search = key != "condition";
            out.push_str("    ");
            out.push_str(line);
        } else if section == "detection" && in_search {
            out.push_str("        ");
            out.push_str(line);
        } else {
            break;
        }
        out.push('\n');
        if section == "level" {
            break;
        }
    }
    Some(out)
}
