//! A cache of parsed rule files, so that a run over thousands of unchanged rules does not
//! parse their YAML again.
//!
//! Parsing is a pure function of a file's text, so an entry is keyed by a 128-bit hash of the
//! text alone (a renamed or copied file hits the same entry) and holds what [`parse_source`]
//! made of it: the documents and the file's diagnostics. The cache file also records the
//! fingerprint of the parser that wrote it (a hash of this crate's source and lock file, see
//! `build.rs`); any other fingerprint, a bad checksum or an entry that does not decode is a
//! miss, never an error, and the file is rewritten. Reading the YAML of the 2,407 Windows
//! rules of SigmaHQ is about two thirds of loading them; reading them from here is a tenth.
//!
//! The file: `MAGIC`, the fingerprint (length-prefixed), the entry count, then per entry its
//! key and length, then the entries' bytes, then an xxh3-64 checksum of everything before it.
//! It is replaced atomically (written beside it, then renamed), so concurrent runs at worst
//! each write their own complete version.

use crate::diagnostic::Diagnostic;
use crate::document::Document;
use crate::loader::{CappedRead, RuleFile, parse_source, read_capped};
use crate::source::SourceFile;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use xxhash_rust::xxh3::{xxh3_64, xxh3_128};

const MAGIC: &[u8; 16] = b"sigrun-parses\x00\x00\x01";

/// The parser that wrote a cache: entries of any other are not read.
const FINGERPRINT: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "+",
    env!("SIGRUN_RULE_FINGERPRINT")
);

/// Beyond this many entries, a rewrite keeps only the entries this run used.
const MAX_ENTRIES: usize = 100_000;
/// The same for the entries' total size.
const MAX_BYTES: usize = 512 << 20;
/// The largest file a save writes: the entries, their index (24 bytes each) and the header.
const MAX_FILE_BYTES: u64 = (MAX_BYTES + MAX_ENTRIES * 24 + 4096) as u64;

/// The parsed files of earlier runs, and those parsed in this one.
pub struct ParseCache {
    path: PathBuf,
    /// The entries read from the file: key → range of `bytes`.
    index: HashMap<u128, (usize, usize)>,
    bytes: Vec<u8>,
    /// What this run used and added, for the rewrite.
    run: Mutex<RunEntries>,
    /// Why the file's entries could not be used, if they could not (shown to the user).
    unusable: Option<String>,
}

#[derive(Default)]
struct RunEntries {
    hits: Vec<u128>,
    fresh: Vec<(u128, Vec<u8>)>,
}

/// What an entry holds.
#[derive(serde::Serialize, serde::Deserialize)]
struct Parsed {
    documents: Vec<Document>,
    diagnostics: Vec<Diagnostic>,
}

/// The parts of a [`RuleFile`] an entry stores, borrowed for writing.
#[derive(serde::Serialize)]
struct ParsedRef<'a> {
    documents: &'a [Document],
    diagnostics: &'a [Diagnostic],
}

impl ParseCache {
    /// Opens the cache at `path`. A missing file is an empty cache; an unreadable, damaged or
    /// foreign one is an empty cache with a reason ([`ParseCache::unusable`]), replaced on
    /// [`ParseCache::save`].
    pub fn open(path: impl Into<PathBuf>) -> ParseCache {
        let path = path.into();
        match read_cache_file(&path) {
            Ok(bytes) => ParseCache::from_bytes(path, bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => ParseCache::empty(path),
            Err(e) => {
                let mut cache = ParseCache::empty(path);
                cache.unusable = Some(format!("cannot read: {e}"));
                cache
            }
        }
    }

    /// A cache over `bytes` as if read from the file at `path`. For tests and fuzzing;
    /// [`ParseCache::open`] reads the file.
    #[doc(hidden)]
    pub fn from_bytes(path: impl Into<PathBuf>, bytes: Vec<u8>) -> ParseCache {
        let mut cache = ParseCache::empty(path.into());
        match read_index(&bytes) {
            Ok(index) => {
                cache.index = index;
                cache.bytes = bytes;
            }
            Err(reason) => cache.unusable = Some(reason),
        }
        cache
    }

    fn empty(path: PathBuf) -> ParseCache {
        ParseCache {
            path,
            index: HashMap::new(),
            bytes: Vec::new(),
            run: Mutex::default(),
            unusable: None,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Why the cache file's entries were not used (a foreign version is not a reason: it is
    /// simply replaced).
    pub fn unusable(&self) -> Option<&str> {
        self.unusable.as_deref()
    }

    /// [`parse_source`], answered from the cache when the same text was parsed before.
    pub fn parse(&self, source: Arc<SourceFile>) -> RuleFile {
        let key = xxh3_128(source.text().as_bytes());
        let source = match self.index.get(&key) {
            Some(&(start, len)) => match decode_entry(source, &self.bytes[start..start + len]) {
                Ok(file) => {
                    self.run().hits.push(key);
                    return file;
                }
                Err(source) => source,
            },
            None => source,
        };
        self.parse_fresh(key, source)
    }

    /// Parses `source` and keeps the result for the cache file.
    fn parse_fresh(&self, key: u128, source: Arc<SourceFile>) -> RuleFile {
        let file = parse_source(source);
        let entry = ParsedRef {
            documents: &file.documents,
            diagnostics: &file.diagnostics,
        };
        if let Ok(bytes) = postcard::to_allocvec(&entry) {
            self.run().fresh.push((key, bytes));
        }
        file
    }

    fn run(&self) -> std::sync::MutexGuard<'_, RunEntries> {
        self.run.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes the cache back when this run parsed something new (or the file was unusable).
    /// Returns whether it wrote. Entries of earlier runs are kept up to a size limit, beyond
    /// which only this run's survive.
    pub fn save(&self) -> std::io::Result<bool> {
        let run = std::mem::take(&mut *self.run());
        if run.fresh.is_empty() && self.unusable.is_none() {
            return Ok(false);
        }
        let mut entries: Vec<(u128, &[u8])> = Vec::new();
        let mut fresh: HashMap<u128, &[u8]> = HashMap::new();
        for (key, bytes) in &run.fresh {
            fresh.insert(*key, bytes);
        }
        let old_bytes: usize = self.index.values().map(|&(_, len)| len).sum();
        let new_bytes: usize = fresh.values().map(|b| b.len()).sum();
        let keep_all =
            self.index.len() + fresh.len() <= MAX_ENTRIES && old_bytes + new_bytes <= MAX_BYTES;
        let kept: Vec<u128> = if keep_all {
            self.index.keys().copied().collect()
        } else {
            run.hits.clone()
        };
        for key in kept {
            if let Some(&(start, len)) = self.index.get(&key)
                && !fresh.contains_key(&key)
            {
                entries.push((key, &self.bytes[start..start + len]));
            }
        }
        entries.extend(fresh);
        entries.sort_unstable_by_key(|&(key, _)| key);
        entries.dedup_by_key(|&mut (key, _)| key);
        self.write(&entries)?;
        Ok(true)
    }

    fn write(&self, entries: &[(u128, &[u8])]) -> std::io::Result<()> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(FINGERPRINT.len() as u32).to_le_bytes());
        out.extend_from_slice(FINGERPRINT.as_bytes());
        out.extend_from_slice(&(entries.len() as u64).to_le_bytes());
        for (key, bytes) in entries {
            out.extend_from_slice(&key.to_le_bytes());
            out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        }
        for (_, bytes) in entries {
            out.extend_from_slice(bytes);
        }
        let checksum = xxh3_64(&out);
        out.extend_from_slice(&checksum.to_le_bytes());

        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let mut temp = tempfile::NamedTempFile::new_in(dir)?;
        temp.write_all(&out)?;
        temp.persist(&self.path).map_err(|e| e.error)?;
        Ok(())
    }
}

/// The bytes of a cache file, refused (not read) beyond what a save can write: a stray huge
/// file at the cache's path costs one warning, not its size in memory.
fn read_cache_file(path: &Path) -> std::io::Result<Vec<u8>> {
    read_capped(path, MAX_FILE_BYTES).map_err(|e| match e {
        CappedRead::Io(e) => e,
        CappedRead::TooLarge(len) => std::io::Error::other(format!(
            "{len} bytes is larger than a parse cache can be (it will be rewritten)"
        )),
    })
}

/// An entry's bytes read back as the parse of `source`; `source` back when they do not decode.
/// Public for the fuzz target (a decoded entry is trusted as the parser's output, so whatever
/// decodes must be safe to validate and render).
#[doc(hidden)]
pub fn decode_entry(source: Arc<SourceFile>, bytes: &[u8]) -> Result<RuleFile, Arc<SourceFile>> {
    match postcard::from_bytes::<Parsed>(bytes) {
        Ok(parsed) => Ok(RuleFile {
            source,
            documents: parsed.documents,
            diagnostics: parsed.diagnostics,
        }),
        Err(_) => Err(source),
    }
}

/// The entries of a cache file: key → range of the file. A foreign fingerprint gives none.
fn read_index(bytes: &[u8]) -> Result<HashMap<u128, (usize, usize)>, String> {
    let damaged = || "damaged (it will be rewritten)".to_string();
    let body_len = bytes.len().checked_sub(8).ok_or_else(damaged)?;
    let (body, checksum) = bytes.split_at(body_len);
    if !body.starts_with(MAGIC) || xxh3_64(body).to_le_bytes() != checksum {
        return Err(damaged());
    }
    let mut reader = Reader {
        bytes: body,
        at: MAGIC.len(),
    };
    let fingerprint_len = reader.u32().ok_or_else(damaged)? as usize;
    if reader.take(fingerprint_len).ok_or_else(damaged)? != FINGERPRINT.as_bytes() {
        // Written by another build: replaced on save, quietly.
        return Ok(HashMap::new());
    }
    let count = usize::try_from(reader.u64().ok_or_else(damaged)?).map_err(|_| damaged())?;
    // Each entry takes 24 bytes of index: a count beyond that is damage, not an allocation.
    if count > body.len() / 24 {
        return Err(damaged());
    }
    let mut keys = Vec::with_capacity(count);
    for _ in 0..count {
        let key = reader.u128().ok_or_else(damaged)?;
        let len = usize::try_from(reader.u64().ok_or_else(damaged)?).map_err(|_| damaged())?;
        keys.push((key, len));
    }
    let mut index = HashMap::with_capacity(count);
    for (key, len) in keys {
        let start = reader.at;
        reader.take(len).ok_or_else(damaged)?;
        index.insert(key, (start, len));
    }
    if reader.at != body.len() {
        return Err(damaged());
    }
    Ok(index)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(len)?;
        let slice = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(slice)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn u128(&mut self) -> Option<u128> {
        Some(u128::from_le_bytes(self.take(16)?.try_into().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: &str = "title: Cached\nid: 5a1b2c3d-0000-4000-8000-000000000001\nauthor: sigrun\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  sel:\n    Image|endswith: '\\\\scrcons.exe'\n    CommandLine|contains|all: [a, b]\n  condition: sel\nlevel: high\n";
    const BROKEN: &str = "title: Broken\nlogsource: {product: windows}\ndetection:\n  sel:\n    Image|nosuchmodifier: x\n  condition: sel and other\n";

    fn source(name: &str, text: &str) -> Arc<SourceFile> {
        SourceFile::new(name, text.to_string())
    }

    /// The parse as `Debug` text: documents and diagnostics, spans included.
    fn shown(file: &RuleFile) -> String {
        format!("{:?}\n{:?}", file.documents, file.diagnostics)
    }

    #[test]
    fn a_second_run_reads_what_the_first_parsed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("parses");
        let first = ParseCache::open(&path);
        assert_eq!(first.unusable(), None);
        let parsed = [
            first.parse(source("a.yml", RULE)),
            first.parse(source("b.yml", BROKEN)),
        ];
        assert!(first.save().unwrap(), "new entries are written");
        assert!(!first.save().unwrap(), "and only once");

        let second = ParseCache::open(&path);
        assert_eq!(second.index.len(), 2);
        for (file, text) in parsed.iter().zip([RULE, BROKEN]) {
            let again = second.parse(source("renamed.yml", text));
            assert_eq!(shown(&again), shown(file));
            assert_eq!(again.path(), Path::new("renamed.yml"));
        }
        assert_eq!(second.run().hits.len(), 2);
        assert!(
            !second.save().unwrap(),
            "nothing new: the file is left alone"
        );
        // The broken rule's diagnostics came back with their codes.
        let codes: Vec<&str> = parsed[1].all_diagnostics().map(|d| d.code).collect();
        assert!(codes.contains(&"unknown-modifier"), "{codes:?}");
    }

    /// A cache file in a new folder (kept while the first value lives) holding `RULE`'s parse.
    fn cache_of_rule() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("parses");
        let first = ParseCache::open(&path);
        first.parse(source("a.yml", RULE));
        assert!(first.save().unwrap());
        (dir, path)
    }

    #[test]
    fn changed_text_is_parsed_again_and_both_entries_are_kept() {
        let (_dir, path) = cache_of_rule();
        let edited = RULE.replace("level: high", "level: low");
        let second = ParseCache::open(&path);
        let file = second.parse(source("a.yml", &edited));
        assert!(second.run().hits.is_empty());
        assert_eq!(
            file.documents[0].meta().and_then(|m| m.level()),
            Some(crate::Level::Low)
        );
        assert!(second.save().unwrap());
        assert_eq!(ParseCache::open(&path).index.len(), 2);
    }

    #[test]
    fn damaged_and_foreign_files_are_misses_and_get_replaced() {
        let (_dir, path) = cache_of_rule();
        let good = std::fs::read(&path).unwrap();

        // Every truncation and a flipped byte anywhere: no entries, a reason, no panic.
        for len in (0..good.len()).step_by(7) {
            std::fs::write(&path, &good[..len]).unwrap();
            let cache = ParseCache::open(&path);
            assert!(
                cache.index.is_empty() && cache.unusable().is_some(),
                "{len}"
            );
        }
        for at in (0..good.len()).step_by(5) {
            let mut bad = good.clone();
            bad[at] ^= 0x20;
            std::fs::write(&path, &bad).unwrap();
            let cache = ParseCache::open(&path);
            assert!(cache.index.is_empty() && cache.unusable().is_some(), "{at}");
            // Still parses, and rewrites a good file.
            let file = cache.parse(source("a.yml", RULE));
            assert_eq!(file.documents.len(), 1);
            assert!(cache.save().unwrap());
            assert_eq!(ParseCache::open(&path).unusable(), None);
        }

        // Another build's file: quietly empty (not "damaged"), replaced on save.
        let mut foreign = Vec::new();
        foreign.extend_from_slice(MAGIC);
        foreign.extend_from_slice(&5u32.to_le_bytes());
        foreign.extend_from_slice(b"0.0.0");
        foreign.extend_from_slice(&0u64.to_le_bytes());
        let checksum = xxh3_64(&foreign);
        foreign.extend_from_slice(&checksum.to_le_bytes());
        std::fs::write(&path, &foreign).unwrap();
        let cache = ParseCache::open(&path);
        assert!(cache.index.is_empty());
        assert_eq!(cache.unusable(), None);
        replaced_on_save(cache, &path);
    }

    /// A cache opened from an unusable file is written afresh: the next run reads its entry.
    fn replaced_on_save(cache: ParseCache, path: &Path) {
        cache.parse(source("a.yml", RULE));
        assert!(cache.save().unwrap());
        assert_eq!(ParseCache::open(path).index.len(), 1);
    }

    #[test]
    fn a_file_larger_than_a_save_can_write_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("parses");
        // Sparse: no disk is used.
        let file = std::fs::File::create(&path).unwrap();
        file.set_len(MAX_FILE_BYTES + 1).unwrap();
        let cache = ParseCache::open(&path);
        assert!(cache.index.is_empty() && cache.bytes.is_empty());
        let reason = cache.unusable().unwrap_or_default();
        assert!(
            reason.contains("larger than a parse cache can be"),
            "{reason}"
        );
        replaced_on_save(cache, &path);
    }

    #[test]
    fn an_entry_that_does_not_decode_is_parsed_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("parses");
        let key = xxh3_128(RULE.as_bytes());
        let cache = ParseCache::open(&path);
        cache.write(&[(key, b"\xff\xff\xff garbage")]).unwrap();
        let cache = ParseCache::open(&path);
        assert_eq!(cache.index.len(), 1);
        let file = cache.parse(source("a.yml", RULE));
        assert_eq!(shown(&file), shown(&parse_source(source("a.yml", RULE))));
        assert!(cache.run().hits.is_empty());
    }
}
