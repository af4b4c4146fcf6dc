//! The compiled-rule cache of `hunt`: the engine compiled from a rule set is kept in the cache
//! folder (beside the parse cache) under a key of everything it was compiled from, so that
//! the next hunt with the same rules, pipeline and options reads it instead of compiling.
//! For SigmaHQ's 2,407 Windows rules that is about 20 ms instead of 75 ms. It never changes a
//! hunt's output: a key covers the documents, the pipeline, the options and the build of
//! sigrun (see `sigrun_engine::compile_key`).
//!
//! One file per rule set (`compiled-<key>.bin`), written beside its final name and renamed
//! into place, so concurrent hunts at worst each write a whole file. The most recently used
//! [`KEEP`] files are kept.

use sigrun_engine::{CompileOptions, CompileProblem, Engine, compile_key};
use sigrun_pipeline::Pipeline;
use sigrun_rule::Document;
use sigrun_rule::loader::{CappedRead, read_capped};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// How many compiled rule sets the folder keeps (each a few MB).
const KEEP: usize = 4;
/// The largest file read back: a compiled rule set is a few MB; anything near this is not one.
const MAX_FILE_BYTES: u64 = 1 << 30;
const PREFIX: &str = "compiled-";
const SUFFIX: &str = ".bin";

/// Compiles `documents`, or reads what an earlier run compiled from the same input when
/// `folder` is given. Problems with the cache are warnings on `stderr`, never failures.
pub fn compile(
    folder: Option<&Path>,
    documents: &[(usize, &Document)],
    pipeline: &Pipeline,
    options: &CompileOptions,
    stderr: &mut impl Write,
) -> std::io::Result<(Engine, Vec<CompileProblem>)> {
    let cached =
        folder.and_then(|folder| Some((folder, compile_key(documents, pipeline, options)?)));
    let Some((folder, key)) = cached else {
        return Ok(Engine::compile_documents(documents, pipeline, options));
    };
    let path = folder.join(format!("{PREFIX}{key:032x}{SUFFIX}"));
    match read_capped(&path, MAX_FILE_BYTES) {
        Ok(bytes) => match Engine::from_snapshot(&bytes, key) {
            Ok(compiled) if accounts_for(documents, &compiled) => {
                mark_used(&path);
                return Ok(compiled);
            }
            Ok(_) => warn(
                stderr,
                &path,
                "holds other rules than these; compiling the rules",
            )?,
            Err(reason) => warn(stderr, &path, &format!("{reason}; compiling the rules"))?,
        },
        Err(CappedRead::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(CappedRead::Io(e)) => warn(stderr, &path, &format!("cannot read: {e}"))?,
        Err(CappedRead::TooLarge(len)) => warn(
            stderr,
            &path,
            &format!("{len} bytes is not a compiled rule set; compiling the rules"),
        )?,
    }
    let (engine, problems) = Engine::compile_documents(documents, pipeline, options);
    if let Some(bytes) = engine.snapshot(&problems, key)
        && let Err(e) = save(folder, &path, &bytes)
    {
        warn(stderr, &path, &format!("not written: {e}"))?;
    }
    Ok((engine, problems))
}

/// Whether every document is either a compiled rule or a problem, once, and nothing else is:
/// what the compiler guarantees, and what the alerts' rule lookups rely on.
fn accounts_for(
    documents: &[(usize, &Document)],
    (engine, problems): &(Engine, Vec<CompileProblem>),
) -> bool {
    let mut given: Vec<usize> = documents.iter().map(|&(id, _)| id).collect();
    given.sort_unstable();
    engine.accounted_rules(problems) == given
}

fn warn(stderr: &mut impl Write, path: &Path, problem: &str) -> std::io::Result<()> {
    writeln!(
        stderr,
        "warning: compiled-rule cache {}: {problem}",
        path.display()
    )
}

/// Writes `bytes` to `path` through a temporary file, then drops the least recently used
/// compiled rule sets beyond [`KEEP`].
fn save(folder: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(folder)?;
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(format!(".{}.tmp", std::process::id()));
    let temporary = PathBuf::from(temporary);
    let written =
        std::fs::write(&temporary, bytes).and_then(|()| std::fs::rename(&temporary, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written?;
    prune(folder);
    Ok(())
}

/// A file read back is the most recently used: its modification time says so, for [`prune`].
fn mark_used(path: &Path) {
    if let Ok(file) = std::fs::File::options().write(true).open(path) {
        let _ = file.set_modified(SystemTime::now());
    }
}

/// Removes all but the [`KEEP`] most recently used compiled rule sets. Best effort: another
/// run may be removing the same files.
fn prune(folder: &Path) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    let mut files: Vec<(SystemTime, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter(|entry| {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            name.starts_with(PREFIX) && name.ends_with(SUFFIX)
        })
        .filter_map(|entry| {
            let modified = entry.metadata().and_then(|m| m.modified()).ok()?;
            Some((modified, entry.path()))
        })
        .collect();
    files.sort_by(|a, b| b.cmp(a));
    for (_, path) in files.into_iter().skip(KEEP) {
        let _ = std::fs::remove_file(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_compiled_set_must_hold_exactly_the_rules_given() {
        let rule = "title: t\nlogsource: {product: windows, category: process_creation}\ndetection:\n    sel:\n        Image|endswith: x\n    condition: sel\n";
        let set = sigrun_rule::RuleSet::from_sources([
            sigrun_rule::SourceFile::new("a.yml", rule.to_string()),
            sigrun_rule::SourceFile::new("b.yml", "title: broken\n".to_string()),
        ]);
        let documents: Vec<(usize, &Document)> = set
            .documents()
            .enumerate()
            .map(|(i, d)| (i * 10, d.document))
            .collect();
        let pipeline = Pipeline::builtin("windows").expect("builtin");
        let compiled = Engine::compile_documents(&documents, pipeline, &CompileOptions::default());
        assert_eq!(compiled.0.rule_ids(), [0]);
        assert_eq!(compiled.1.len(), 1, "the broken rule is a problem");
        assert!(accounts_for(&documents, &compiled));
        assert!(!accounts_for(&documents[..1], &compiled));
        let shifted: Vec<_> = documents.iter().map(|&(id, d)| (id + 1, d)).collect();
        assert!(!accounts_for(&shifted, &compiled));
        let doubled = [documents.clone(), documents.clone()].concat();
        assert!(!accounts_for(&doubled, &compiled));
    }

    #[test]
    fn prune_keeps_the_most_recently_used_compiled_sets() {
        let folder = tempfile::tempdir().expect("tempdir");
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        // Written in an order unlike their use: file i was last used at start + used[i].
        let used = [5u64, 1, 6, 2, 4, 3];
        for (i, seconds) in used.iter().enumerate() {
            let path = folder.path().join(format!("{PREFIX}{i}{SUFFIX}"));
            std::fs::write(&path, b"x").expect("write");
            let file = std::fs::File::options()
                .write(true)
                .open(&path)
                .expect("open");
            file.set_modified(start + Duration::from_secs(*seconds))
                .expect("set time");
        }
        std::fs::write(folder.path().join("rule-parses.bin"), b"y").expect("write");
        std::fs::write(folder.path().join("compiled-notes.txt"), b"z").expect("write");
        prune(folder.path());
        let mut left: Vec<String> = std::fs::read_dir(folder.path())
            .expect("read")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "compiled-0.bin",
                "compiled-2.bin",
                "compiled-4.bin",
                "compiled-5.bin",
                "compiled-notes.txt",
                "rule-parses.bin"
            ]
        );
    }
}
