//! The compiled-rule cache of `hunt`: what a hunt made of its rule files (the engine, the
//! compile problems, and the rules' metadata for the alerts) is kept in the cache folder
//! (beside the parse cache) under a key of the files' texts and everything else it depends on
//! ([`crate::hunt::rules::plan_key`]), so that the next hunt with the same rules, filters,
//! pipeline and options reads it instead of parsing and compiling: it then never decodes a
//! rule. It never changes a hunt's output.
//!
//! One file per rule set (`compiled-<key>.bin`): [`MAGIC`], the length of the plan, the plan
//! (postcard), an xxh3-64 checksum of those, then the engine's snapshot (which carries the key
//! and a checksum of its own). It is written beside its final name and renamed into place, so
//! concurrent hunts at worst each write a whole file. The most recently used [`KEEP`] files
//! are kept.

use crate::hunt::rules::RulePlan;
use sigrun_engine::{CompileProblem, Engine};
use sigrun_rule::loader::{CappedRead, read_capped};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;
use xxhash_rust::xxh3::xxh3_64;

/// How many compiled rule sets the folder keeps (each a few MB).
const KEEP: usize = 4;
/// The largest file read back: a compiled rule set is a few MB; anything near this is not one.
const MAX_FILE_BYTES: u64 = 1 << 30;
const PREFIX: &str = "compiled-";
const SUFFIX: &str = ".bin";
const MAGIC: &[u8; 16] = b"sigrun-hunt\x00\x00\x00\x00\x01";

/// A hunt's rules, ready to run.
pub struct Compiled {
    pub plan: RulePlan,
    pub engine: Engine,
    pub problems: Vec<CompileProblem>,
}

/// The rules an earlier hunt kept under `key` in `folder`, if it did and they read back whole.
/// Problems with the cache are warnings on `stderr`, never failures.
pub fn read(
    folder: &Path,
    key: u128,
    stderr: &mut impl Write,
) -> std::io::Result<Option<Compiled>> {
    let path = file_path(folder, key);
    let bytes = match read_capped(&path, MAX_FILE_BYTES) {
        Ok(bytes) => bytes,
        Err(CappedRead::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(CappedRead::Io(e)) => {
            warn(stderr, &path, &format!("cannot read: {e}"))?;
            return Ok(None);
        }
        Err(CappedRead::TooLarge(len)) => {
            let reason = format!("{len} bytes is not a compiled rule set; compiling the rules");
            warn(stderr, &path, &reason)?;
            return Ok(None);
        }
    };
    // Shared with the engine, whose automata keep views of it instead of copies.
    let bytes = bytes::Bytes::from(bytes);
    match decode(&bytes, key) {
        Ok(compiled) => {
            mark_used(&path);
            Ok(Some(compiled))
        }
        Err(reason) => {
            warn(stderr, &path, &format!("{reason}; compiling the rules"))?;
            Ok(None)
        }
    }
}

/// Keeps `compiled` under `key` in `folder` for the next hunt.
pub fn write(
    folder: &Path,
    key: u128,
    compiled: &Compiled,
    stderr: &mut impl Write,
) -> std::io::Result<()> {
    let path = file_path(folder, key);
    if let Some(bytes) = encode(compiled, key)
        && let Err(e) = save(folder, &path, &bytes)
    {
        warn(stderr, &path, &format!("not written: {e}"))?;
    }
    Ok(())
}

fn file_path(folder: &Path, key: u128) -> PathBuf {
    folder.join(format!("{PREFIX}{key:032x}{SUFFIX}"))
}

fn encode(compiled: &Compiled, key: u128) -> Option<Vec<u8>> {
    // The snapshot holds every automaton of the rules; a hunt builds only those it searches.
    compiled.engine.build_automata(rayon::current_num_threads());
    let plan = postcard::to_allocvec(&compiled.plan).ok()?;
    let mut out = Vec::with_capacity(plan.len() + (4 << 20));
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(plan.len() as u64).to_le_bytes());
    out.extend_from_slice(&plan);
    let checksum = xxh3_64(&out);
    out.extend_from_slice(&checksum.to_le_bytes());
    out.extend_from_slice(&compiled.engine.snapshot(&compiled.problems, key)?);
    Some(out)
}

/// The rules in `bytes`, checked: the plan's checksum, the engine's own checks, and that the
/// engine accounts for exactly the plan's rules.
fn decode(bytes: &bytes::Bytes, key: u128) -> Result<Compiled, String> {
    let foreign = || "not a compiled rule set of this version of sigrun".to_string();
    let rest = bytes.strip_prefix(MAGIC.as_slice()).ok_or_else(foreign)?;
    let (len, rest) = rest.split_first_chunk::<8>().ok_or_else(foreign)?;
    let len = usize::try_from(u64::from_le_bytes(*len)).map_err(|_| foreign())?;
    let plan_end = MAGIC.len() + 8;
    let (plan, rest) = rest.split_at_checked(len).ok_or("damaged (cut short)")?;
    let (checksum, snapshot) = rest.split_first_chunk::<8>().ok_or("damaged (cut short)")?;
    if u64::from_le_bytes(*checksum) != xxh3_64(&bytes[..plan_end + len]) {
        return Err("damaged (bad checksum)".into());
    }
    let snapshot = bytes.slice_ref(snapshot);
    // The rules' metadata and the engine are decoded side by side when the hunt has threads
    // to spare (in turn on one).
    let (plan, engine) = rayon::join(
        || postcard::from_bytes::<RulePlan>(plan).map_err(|e| format!("cannot be decoded: {e}")),
        || Engine::from_shared_snapshot(&snapshot, key).map_err(|e| e.to_string()),
    );
    let plan = plan?;
    let (engine, problems) = engine?;
    let compiled = Compiled {
        plan,
        engine,
        problems,
    };
    if !accounts_for(&compiled) {
        return Err("holds other rules than these".into());
    }
    Ok(compiled)
}

/// Whether every rule of the plan is either a compiled rule or a problem, once, and nothing
/// else is: what the compiler guarantees, and what the alerts' rule lookups rely on.
fn accounts_for(compiled: &Compiled) -> bool {
    compiled
        .engine
        .accounted_rules(&compiled.problems)
        .into_iter()
        .eq(0..compiled.plan.info.len())
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
    crate::rule_cache::write_cache_file(path, bytes)?;
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

    /// Two rules, the second broken: compiled, one rule and one problem.
    fn compiled(rules: usize) -> Compiled {
        let rule = "title: t\nlogsource: {product: windows, category: process_creation}\ndetection:\n    sel:\n        Image|endswith: x\n    condition: sel\n";
        let set = sigrun_rule::RuleSet::from_sources([
            sigrun_rule::SourceFile::new("a.yml", rule.to_string()),
            sigrun_rule::SourceFile::new("b.yml", "title: broken\n".to_string()),
        ]);
        let documents = set.numbered_documents();
        let pipeline = sigrun_pipeline::Pipeline::builtin("windows").expect("builtin");
        let options = sigrun_engine::CompileOptions::default();
        let (engine, problems) = Engine::compile_documents(&documents, pipeline, &options);
        let info = |title: &str| crate::hunt::rules::RuleInfo {
            title: title.into(),
            id: String::new(),
            author: "someone".into(),
            level: None,
            status: None,
            tags: Vec::new(),
            path: "a.yml".into(),
            fields: vec!["Image".into()],
        };
        Compiled {
            plan: RulePlan {
                info: ["t", "broken", "extra"][..rules]
                    .iter()
                    .map(|t| info(t))
                    .collect(),
                skipped: Vec::new(),
                filtered_out: 3,
                filter_problems: Vec::new(),
            },
            engine,
            problems,
        }
    }

    #[test]
    fn a_compiled_set_must_hold_exactly_the_plans_rules() {
        let exact = compiled(2);
        assert_eq!(exact.engine.rule_ids(), [0]);
        assert_eq!(exact.problems.len(), 1, "the broken rule is a problem");
        assert!(accounts_for(&exact));
        assert!(!accounts_for(&compiled(1)));
        assert!(!accounts_for(&compiled(3)));
    }

    #[test]
    fn a_file_reads_back_under_its_key_only_and_whole() {
        let key = 0x1234_u128;
        let bytes = encode(&compiled(2), key).expect("encodes");
        let back = decode(&bytes::Bytes::from(bytes.clone()), key).expect("decodes");
        assert_eq!(back.plan.info.len(), 2);
        assert_eq!(back.plan.info[1].title, "broken");
        assert_eq!(back.plan.filtered_out, 3);
        assert_eq!(back.engine.rule_ids(), [0]);
        assert_eq!(back.problems.len(), 1);
        // The same bytes again: a file is the same for the same rules.
        assert!(encode(&back, key).expect("encodes") == bytes);

        let refused = |bytes: &[u8], key: u128| {
            let bytes = bytes::Bytes::copy_from_slice(bytes);
            decode(&bytes, key).err().expect("refused")
        };
        assert_eq!(
            refused(&bytes, key + 1),
            "written for other rules, pipeline or options"
        );
        assert_eq!(
            refused(&bytes[1..], key),
            "not a compiled rule set of this version of sigrun"
        );
        assert_eq!(refused(&bytes[..30], key), "damaged (cut short)");
        let mut damaged = bytes.clone();
        damaged[MAGIC.len() + 9] ^= 1;
        assert_eq!(refused(&damaged, key), "damaged (bad checksum)");
        let mut damaged = bytes.clone();
        let last = damaged.len() - 20;
        damaged[last] ^= 1;
        assert_eq!(refused(&damaged, key), "damaged (bad checksum)");
        // Whole, but for another plan.
        let other = encode(&compiled(3), key).expect("encodes");
        assert_eq!(refused(&other, key), "holds other rules than these");
    }

    #[test]
    fn read_and_write_keep_a_rule_set_in_the_folder() {
        let folder = tempfile::tempdir().expect("tempdir");
        let mut warnings = Vec::new();
        let key = 7;
        assert!(
            read(folder.path(), key, &mut warnings)
                .expect("io")
                .is_none()
        );
        write(folder.path(), key, &compiled(2), &mut warnings).expect("io");
        let back = read(folder.path(), key, &mut warnings)
            .expect("io")
            .expect("kept");
        assert_eq!(back.plan.info.len(), 2);
        assert!(
            warnings.is_empty(),
            "{}",
            String::from_utf8_lossy(&warnings)
        );
        std::fs::write(file_path(folder.path(), key), b"junk").expect("write");
        assert!(
            read(folder.path(), key, &mut warnings)
                .expect("io")
                .is_none()
        );
        let warning = String::from_utf8(warnings).expect("text");
        assert!(
            warning.starts_with("warning: compiled-rule cache ")
                && warning.ends_with(
                    ": not a compiled rule set of this version of sigrun; compiling the rules\n"
                ),
            "{warning}"
        );
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
