//! Compiled rule sets as bytes, so that a run with the same rules, pipeline and options reads
//! the engine an earlier run compiled instead of compiling it again (for the 2,407 Windows
//! rules of SigmaHQ compiling is most of a hunt's start-up; reading is a small part of it).
//!
//! Compiling is a pure function of the documents (with their caller ids), the pipeline and the
//! options, and of this code: [`compile_key`] hashes all four, and a snapshot is only read
//! back under the key it was written with. What an engine builds on first use (automata,
//! regexes, substring searchers) is not stored; the keyword scans' case gates are built again
//! when a snapshot is read.
//!
//! The bytes: `MAGIC`, the 128-bit key, the postcard encoding of the engine's parts and the
//! compile problems, then an xxh3-64 checksum of everything before it.

use crate::compile::CompileOptions;
use crate::engine::{AtomHead, Engine, Parts};
use crate::problem::CompileProblem;
use sigrun_pipeline::Pipeline;
use sigrun_rule::Document;
use xxhash_rust::xxh3::{Xxh3, xxh3_64};

const MAGIC: &[u8; 16] = b"sigrun-engine\x00\x00\x01";

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

/// The key of what [`Engine::compile_documents`] makes of `documents` with `pipeline` and
/// `options`: equal keys, equal engines and problems.
pub fn compile_key(
    documents: &[(usize, &Document)],
    pipeline: &Pipeline,
    options: &CompileOptions,
) -> u128 {
    let mut hasher = Xxh3::new();
    let mut put = |bytes: &[u8]| {
        hasher.update(&(bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    };
    put(FINGERPRINT.as_bytes());
    // The pipeline's maps are ordered (`BTreeMap`), so its debug form is deterministic.
    put(format!("{pipeline:?}").as_bytes());
    put(format!("{options:?}").as_bytes());
    let mut buffer = Vec::new();
    for &(id, document) in documents {
        put(&(id as u64).to_le_bytes());
        buffer.clear();
        buffer = match postcard::to_extend(document, buffer) {
            Ok(bytes) => bytes,
            // A document that cannot be encoded cannot be told from another: a key no
            // snapshot has (the run compiles, and writes nothing).
            Err(_) => return 0,
        };
        put(&buffer);
    }
    hasher.digest128()
}

impl Engine {
    /// The engine and the problems [`Engine::compile_documents`] returned with it, as bytes
    /// for [`Engine::from_snapshot`] under `key` ([`compile_key`]). `None` if they cannot be
    /// encoded (every part is plain data, so this is not expected).
    pub fn snapshot(&self, problems: &[CompileProblem], key: u128) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(1 << 20);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&key.to_le_bytes());
        let snapshot = SnapshotRef {
            parts: self.parts(),
            problems,
        };
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
        let Snapshot {
            mut parts,
            problems,
        } = postcard::from_bytes(&body[head..])
            .map_err(|e| SnapshotError::Undecodable(e.to_string()))?;
        parts.heads = parts.atoms.iter().map(AtomHead::of).collect();
        for scan in &mut parts.keyword_scans {
            scan.rebuild_case_gate();
        }
        Ok((Engine::from_parts(parts), problems))
    }
}
