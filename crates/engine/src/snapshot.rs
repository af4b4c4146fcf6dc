//! Compiled rule sets as bytes, so that a run with the same rules, pipeline and options reads
//! the engine an earlier run compiled instead of compiling it again (for the 2,407 Windows
//! rules of SigmaHQ compiling is most of a hunt's start-up; reading is a small part of it).
//!
//! Compiling is a pure function of the documents (with their caller ids), the pipeline and the
//! options, and of this code: [`compile_key`] hashes all four, and a snapshot is only read
//! back under the key it was written with. The field automata, which an engine builds on first
//! use, are all built and stored (`automaton.rs`): building them is the costly part of a first
//! search. What else is built on first use (regexes, substring searchers) is not stored, nor
//! are the keyword scans' case gates, which are built again when a snapshot is read.
//!
//! The bytes: `MAGIC`, the 128-bit key, the length (`u64`) and postcard encoding of the
//! engine's atoms, the postcard encoding of its other parts and the compile problems, then an
//! xxh3-64 checksum of everything before it. The checksum catches
//! damage; every index of what decodes is checked all the same ([`check`], and for each
//! automaton when it is first used, `automaton.rs`), so that no bytes, however made, can make a
//! hunt index out of bounds or loop.

use crate::atoms::{AtomField, AtomId};
use crate::compile::CompileOptions;
use crate::dispatch::Selector;
#[cfg(test)]
use crate::engine::PoolEntry;
use crate::engine::{AtomHead, Engine, Parts};
use crate::matcher::Matcher;
use crate::problem::CompileProblem;
use crate::tree::Node;
use sigrun_pipeline::Pipeline;
use sigrun_rule::Document;
use xxhash_rust::xxh3::{Xxh3, xxh3_64};

const MAGIC: &[u8; 16] = b"sigrun-engine\x00\x00\x02";

/// The code a snapshot depends on: this crate's, the pipeline's and the rule model's source
/// and the lock file (`build.rs`).
const FINGERPRINT: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "+",
    env!("SIGRUN_ENGINE_FINGERPRINT")
);

/// Why a snapshot could not be read.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    #[error("not a compiled rule set of this version of sigrun")]
    Foreign,
    #[error("written for other rules, pipeline or options")]
    OtherKey,
    #[error("damaged (bad checksum)")]
    Damaged,
    #[error("cannot be decoded: {0}")]
    Undecodable(String),
}

#[derive(serde::Serialize)]
struct SnapshotRef<'a> {
    parts: &'a Parts,
    problems: &'a [CompileProblem],
}

#[derive(serde::Deserialize)]
struct Snapshot {
    parts: Parts,
    problems: Vec<CompileProblem>,
}

#[derive(serde::Deserialize)]
struct Atoms(#[serde(with = "crate::fx::exact_vec")] Vec<crate::atoms::Atom>);

/// The key of what [`Engine::compile_documents`] makes of `documents` with `pipeline` and
/// `options`: equal keys, equal engines and problems. `None` if a document cannot be encoded
/// (documents are plain data, so this is not expected): such a rule set has no key.
pub fn compile_key(
    documents: &[(usize, &Document)],
    pipeline: &Pipeline,
    options: &CompileOptions,
) -> Option<u128> {
    let mut key = CompileKey::new(pipeline, options);
    let mut buffer = Vec::new();
    for &(id, document) in documents {
        key.add(&(id as u64).to_le_bytes());
        buffer.clear();
        buffer = postcard::to_extend(document, buffer).ok()?;
        key.add(&buffer);
    }
    Some(key.finish())
}

/// A key under which to keep an engine: this build of the compiler, the pipeline and the
/// options, and whatever the caller adds to stand for the rules ([`compile_key`] adds the
/// documents; a caller that holds the rule files' texts may add those instead, as their
/// parse is fixed by this build too).
pub struct CompileKey {
    hasher: Xxh3,
}

impl CompileKey {
    pub fn new(pipeline: &Pipeline, options: &CompileOptions) -> CompileKey {
        let mut key = CompileKey {
            hasher: Xxh3::new(),
        };
        key.add(FINGERPRINT.as_bytes());
        // The pipeline's maps are ordered (`BTreeMap`), so its debug form is deterministic.
        key.add(format!("{pipeline:?}").as_bytes());
        key.add(format!("{options:?}").as_bytes());
        key
    }

    /// Adds `bytes`, length first, so that no two sequences of additions run together.
    pub fn add(&mut self, bytes: &[u8]) {
        self.hasher.update(&(bytes.len() as u64).to_le_bytes());
        self.hasher.update(bytes);
    }

    pub fn finish(&self) -> u128 {
        self.hasher.digest128()
    }
}

impl Engine {
    /// The engine and the problems [`Engine::compile_documents`] returned with it, as bytes
    /// for [`Engine::from_snapshot`] under `key` ([`compile_key`]). `None` if they cannot be
    /// encoded (every part is plain data, so this is not expected).
    pub fn snapshot(&self, problems: &[CompileProblem], key: u128) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(1 << 20);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&key.to_le_bytes());
        let parts = self.parts();
        // The atoms, then the rest: decoded side by side, they take half the time.
        let length_at = out.len();
        out.extend_from_slice(&[0; 8]);
        out = postcard::to_extend(&parts.atoms, out).ok()?;
        let atoms_len = (out.len() - length_at - 8) as u64;
        out[length_at..length_at + 8].copy_from_slice(&atoms_len.to_le_bytes());
        let snapshot = SnapshotRef { parts, problems };
        out = postcard::to_extend(&snapshot, out).ok()?;
        let checksum = xxh3_64(&out);
        out.extend_from_slice(&checksum.to_le_bytes());
        Some(out)
    }

    /// Reads [`Engine::snapshot`]'s bytes back, if they were written under `key` by this
    /// build of sigrun.
    pub fn from_snapshot(
        bytes: &[u8],
        key: u128,
    ) -> Result<(Engine, Vec<CompileProblem>), SnapshotError> {
        Engine::decode_snapshot(bytes, key, None)
    }

    /// [`Engine::from_snapshot`] for bytes the engine may keep: its automata keep views of
    /// them instead of copies of their parts.
    pub fn from_shared_snapshot(
        bytes: &bytes::Bytes,
        key: u128,
    ) -> Result<(Engine, Vec<CompileProblem>), SnapshotError> {
        Engine::decode_snapshot(bytes, key, Some(bytes))
    }

    /// `bytes` read back; `shared` is the same bytes when the automata may keep views of them.
    fn decode_snapshot(
        bytes: &[u8],
        key: u128,
        shared: Option<&bytes::Bytes>,
    ) -> Result<(Engine, Vec<CompileProblem>), SnapshotError> {
        let head = MAGIC.len() + 16;
        if bytes.len() < head + 8 || bytes[..MAGIC.len()] != MAGIC[..] {
            return Err(SnapshotError::Foreign);
        }
        let (body, checksum) = bytes.split_at(bytes.len() - 8);
        if checksum != xxh3_64(body).to_le_bytes() {
            return Err(SnapshotError::Damaged);
        }
        if body[MAGIC.len()..head] != key.to_le_bytes() {
            return Err(SnapshotError::OtherKey);
        }
        let undecodable = |e: postcard::Error| SnapshotError::Undecodable(e.to_string());
        let cut = || SnapshotError::Undecodable("the atoms' length is past the end".into());
        let (atoms_len, rest) = body[head..].split_first_chunk::<8>().ok_or_else(cut)?;
        let (atoms, rest) = usize::try_from(u64::from_le_bytes(*atoms_len))
            .ok()
            .and_then(|len| rest.split_at_checked(len))
            .ok_or_else(cut)?;
        // Side by side when the pool has a thread free. The rest holds the automata, which
        // keep views of shared bytes through the decoding thread's `SharedSnapshot`.
        let (rest, atoms) = rayon::join(
            || {
                let _shared = shared.map(crate::automaton::SharedSnapshot::new);
                postcard::from_bytes::<Snapshot>(rest).map_err(undecodable)
            },
            || {
                postcard::from_bytes::<Atoms>(atoms).map(|Atoms(atoms)| {
                    let heads = atoms.iter().map(AtomHead::of).collect();
                    (atoms, heads)
                })
            },
        );
        let Snapshot {
            mut parts,
            problems,
        } = rest?;
        (parts.atoms, parts.heads) = atoms.map_err(undecodable)?;
        check(&parts).map_err(SnapshotError::Undecodable)?;
        for scan in parts
            .scans
            .iter_mut()
            .flatten()
            .chain(&mut parts.keyword_scans)
        {
            scan.restore();
        }
        Ok((Engine::from_parts(parts), problems))
    }

    /// Builds every field automaton not built yet, on `threads` threads. A snapshot holds
    /// every automaton, and [`Engine::snapshot`] builds those still missing one by one: call
    /// this first to build them in parallel.
    pub fn build_automata(&self, threads: usize) {
        let parts = self.parts();
        let scans: Vec<&crate::scan::FieldScan> = parts
            .scans
            .iter()
            .flatten()
            .chain(&parts.keyword_scans)
            .filter(|scan| scan.has_automaton())
            .collect();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let work = || {
            while let Some(scan) =
                scans.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
            {
                scan.build_automaton();
            }
        };
        std::thread::scope(|scope| {
            for _ in 1..threads {
                scope.spawn(work);
            }
            work();
        });
    }
}

/// Whether every index in `parts` points into its table, and the condition nodes form trees
/// (a node's children come before it, as the compiler emits them).
fn check(parts: &Parts) -> Result<(), String> {
    let (atoms, fields, nodes, variants) = (
        parts.atoms.len(),
        parts.fields.len(),
        parts.nodes.len(),
        parts.variants.len(),
    );
    let atom = |id: &AtomId| (*id as usize) < atoms;
    let field = |id: &u32| (*id as usize) < fields;
    let range = |start: u32, len: u32, of: usize| {
        (start as usize)
            .checked_add(len as usize)
            .is_some_and(|end| end <= of)
    };
    let selector = |s: &Selector| {
        s.sets
            .iter()
            .all(|set| set.residual.iter().all(|(f, _)| field(f)))
    };
    let fail = |what: &str| Err(format!("{what} out of bounds"));

    // Each node is the child of at most one node, which comes after it: evaluation ends, and
    // takes time linear in the nodes.
    let mut has_parent = vec![false; nodes];
    let mut adopt = |child: u32, parent: usize| {
        let child = child as usize;
        child < parent && !std::mem::replace(&mut has_parent[child], true)
    };
    for (index, node) in parts.nodes.iter().enumerate() {
        let ok = match *node {
            Node::Const(_) => true,
            Node::Atom(a) => atom(&a),
            Node::Not(child) => adopt(child, index),
            Node::And(start, len) | Node::Or(start, len) => {
                range(start, len, parts.kids.len())
                    && parts.kids[start as usize..(start + len) as usize]
                        .iter()
                        .all(|&k| adopt(k, index))
            }
        };
        if !ok {
            return fail("a condition node");
        }
    }
    if parts.selectors.len() != variants || !parts.selectors.iter().all(selector) {
        return fail("a source selector");
    }
    for variant in &parts.variants {
        if (variant.rule as usize) >= parts.rule_ids.len()
            || (variant.root as usize) >= nodes
            || !variant.selector.as_ref().is_none_or(selector)
        {
            return fail("a variant");
        }
    }
    for a in &parts.atoms {
        let ok = match a.field {
            AtomField::Field(f) => field(&f),
            AtomField::Keyword => true,
        } && a
            .hints
            .iter()
            // Hints are answered by scans, with no hints of their own.
            .all(|h| atom(h) && parts.atoms[*h as usize].hints.is_empty())
            && match &a.matcher {
                Matcher::FieldRef { other, .. } => other.as_ref().is_none_or(field),
                _ => true,
            };
        if !ok {
            return fail("an atom");
        }
    }
    if !parts
        .names
        .values()
        .all(|(start, len)| range(start, len, parts.name_targets.len()))
        || !parts.name_targets.iter().all(|(f, _)| field(f))
    {
        return fail("a field name");
    }
    if parts.scans.len() != fields {
        return fail("the field scans");
    }
    for scan in parts.scans.iter().flatten().chain(&parts.keyword_scans) {
        scan.check(atoms)?;
    }
    if !parts
        .dispatch
        .bucket_ids()
        .all(|b| (b as usize) < parts.buckets.len())
    {
        return fail("a dispatch bucket");
    }
    for bucket in &parts.buckets {
        let variant = |v: &u32| (*v as usize) < variants;
        let ok = bucket.always.iter().all(variant)
            && bucket.pool.iter().all(|e| variant(&e.variant()))
            && bucket
                .triggers
                .iter()
                .all(|(a, &(start, len))| atom(a) && range(start, len, bucket.pool.len()))
            && bucket.scan_fields.iter().all(field)
            && bucket
                .keyword_scan
                .is_none_or(|k| (k as usize) < parts.keyword_scans.len());
        if !ok {
            return fail("a bucket");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sigrun_rule::{RuleSet, SourceFile};

    /// The parts of a small compiled rule set, as a snapshot holds them.
    fn parts() -> (Parts, Vec<CompileProblem>) {
        let set = RuleSet::from_sources([SourceFile::new(
            "r.yml",
            "title: t\nlogsource: {product: windows, category: process_creation}\ndetection:\n    sel:\n        Image|endswith: '\\\\wmic.exe'\n        CommandLine|contains: create\n    keywords:\n        - 'sekurlsa::'\n    condition: sel or keywords\n".to_string(),
        )]);
        let documents = set.numbered_documents();
        let pipeline = Pipeline::builtin("windows").expect("builtin");
        let (engine, problems) =
            Engine::compile_documents(&documents, pipeline, &CompileOptions::default());
        assert!(problems.is_empty(), "{problems:?}");
        let bytes = engine.snapshot(&problems, 7).expect("encodes");
        let (engine, problems) = Engine::from_snapshot(&bytes, 7).expect("decodes");
        (engine.into_parts(), problems)
    }

    /// Read from shared bytes, the automata keep views of them, whichever thread decodes
    /// them: here from a thread outside the pool, so that both halves of the decoding run on
    /// the pool's threads. Read from a slice, they keep copies.
    #[test]
    fn automata_read_from_shared_bytes_on_any_thread_keep_views_of_them() {
        let (parts, problems) = parts();
        let bytes = bytes::Bytes::from(
            Engine::from_parts(parts)
                .snapshot(&problems, 7)
                .expect("encodes"),
        );
        let within = bytes.as_ptr() as usize..bytes.as_ptr() as usize + bytes.len();
        let stored = |engine: &Engine| -> Vec<bool> {
            let parts = engine.parts();
            parts
                .scans
                .iter()
                .flatten()
                .chain(&parts.keyword_scans)
                .filter_map(|scan| scan.automaton().stored_bytes())
                .map(|stored| within.contains(&(stored.as_ptr() as usize)))
                .collect()
        };
        let (shared, _) = Engine::from_shared_snapshot(&bytes, 7).expect("decodes");
        let views = stored(&shared);
        assert!(
            !views.is_empty() && views.iter().all(|&view| view),
            "{views:?}"
        );
        let (copied, _) = Engine::from_snapshot(&bytes, 7).expect("decodes");
        assert!(stored(&copied).iter().all(|&view| !view));
    }

    /// What reading `parts`, changed by `change`, from a sound snapshot says.
    fn read_changed(change: impl FnOnce(&mut Parts)) -> Result<(), SnapshotError> {
        let (mut parts, problems) = parts();
        change(&mut parts);
        let bytes = Engine::from_parts(parts)
            .snapshot(&problems, 7)
            .expect("encodes");
        Engine::from_snapshot(&bytes, 7).map(|_| ())
    }

    fn refused(change: impl FnOnce(&mut Parts)) -> String {
        match read_changed(change) {
            Err(SnapshotError::Undecodable(reason)) => reason,
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn indices_out_of_range_are_refused() {
        assert_eq!(read_changed(|_| {}), Ok(()));
        assert_eq!(
            refused(|p| {
                // A node that is its own child: evaluating it would never end.
                let last = p.nodes.len() as u32 - 1;
                p.nodes.push(Node::Not(last + 1));
            }),
            "a condition node out of bounds"
        );
        assert_eq!(
            refused(|p| p.nodes.push(Node::Atom(p.atoms.len() as u32))),
            "a condition node out of bounds"
        );
        assert_eq!(
            refused(|p| p.nodes.push(Node::And(p.kids.len() as u32, 1))),
            "a condition node out of bounds"
        );
        assert_eq!(
            refused(|p| p.variants[0].root = p.nodes.len() as u32),
            "a variant out of bounds"
        );
        assert_eq!(
            refused(|p| p.variants[0].rule = 5),
            "a variant out of bounds"
        );
        assert_eq!(
            refused(|p| {
                p.selectors.pop();
            }),
            "a source selector out of bounds"
        );
        assert_eq!(
            refused(|p| p.atoms[0].field = AtomField::Field(p.fields.len() as u32)),
            "an atom out of bounds"
        );
        assert_eq!(
            refused(|p| p.atoms[0].hints = vec![p.atoms.len() as u32].into()),
            "an atom out of bounds"
        );
        assert_eq!(
            refused(|p| p.atoms[0].hints = vec![0].into()),
            "an atom out of bounds",
            "an atom that hints at itself"
        );
        assert_eq!(
            refused(|p| {
                // A node that two parents share: evaluation time doubles with each level.
                let child = p
                    .nodes
                    .iter()
                    .position(|n| matches!(n, Node::Atom(_)))
                    .expect("atom");
                let start = p.kids.len() as u32;
                p.kids.extend([child as u32, child as u32]);
                p.nodes.push(Node::Or(start, 2));
            }),
            "a condition node out of bounds"
        );
        assert_eq!(
            refused(|p| p.name_targets[0].0 = p.fields.len() as u32),
            "a field name out of bounds"
        );
        assert_eq!(
            refused(|p| {
                p.scans.pop();
            }),
            "the field scans out of bounds"
        );
        assert_eq!(
            refused(|p| p.buckets.truncate(1)),
            "a dispatch bucket out of bounds"
        );
        assert_eq!(
            refused(|p| {
                let bucket = p
                    .buckets
                    .iter_mut()
                    .find(|b| !b.pool.is_empty())
                    .expect("bucket");
                bucket.pool = vec![PoolEntry::new(p.variants.len() as u32, 0, 1)].into();
            }),
            "a bucket out of bounds"
        );
        assert_eq!(
            refused(|p| {
                let bucket = p
                    .buckets
                    .iter_mut()
                    .find(|b| b.keyword_scan.is_some())
                    .expect("bucket");
                bucket.keyword_scan = Some(p.keyword_scans.len() as u32);
            }),
            "a bucket out of bounds"
        );
    }
}
