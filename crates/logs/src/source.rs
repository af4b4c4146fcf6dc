//! Turn the inputs a user names into sources (files by format, or standard input) and split
//! each source into work units that can be read in parallel and put back in order.

use rayon::iter::{IntoParallelIterator, ParallelIterator};
use std::ffi::OsStr;
use std::fmt;
use std::fs::File;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::evtx::{self, FILE_MAGIC};

/// One input as named by the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A file, a folder (read recursively) or a glob pattern.
    Path(PathBuf),
    /// Standard input (`-`), read as JSON.
    Stdin,
}

impl Input {
    /// `-` is standard input, anything else a path or pattern.
    pub fn from_arg(arg: impl AsRef<OsStr>) -> Input {
        let arg = arg.as_ref();
        if arg == "-" {
            Input::Stdin
        } else {
            Input::Path(PathBuf::from(arg))
        }
    }
}

/// How sources are split into work units.
#[derive(Clone, Debug)]
pub struct DiscoverOptions {
    /// EVTX chunks per work unit (at least 1). A chunk is 64 KiB, a few hundred records.
    pub evtx_chunks_per_unit: u64,
    /// Target bytes per JSON work unit (at least 64 KiB). JSON Lines files are split at line
    /// starts; files that start with `[` are never split.
    pub json_unit_bytes: u64,
    /// Files found in folders that are no larger than one work unit become one
    /// [`UnitKind::File`] each, told EVTX or JSON by their reader ([`SourceKind::Deferred`]),
    /// instead of being opened here to be told and opened again to be read: over many small
    /// files that second opening cost as much as a tenth of a hunt. Named files are always
    /// told here.
    pub defer_small_files: bool,
}

impl Default for DiscoverOptions {
    fn default() -> Self {
        DiscoverOptions {
            evtx_chunks_per_unit: 16,
            json_unit_bytes: 8 << 20,
            defer_small_files: false,
        }
    }
}

/// What a source holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceKind {
    /// An EVTX file.
    Evtx,
    /// A JSON or JSON Lines file.
    Json,
    /// Standard input, read as JSON.
    Stdin,
    /// A file told EVTX or JSON when it is read ([`DiscoverOptions::defer_small_files`]);
    /// one that is neither reads as nothing ([`UnitStats::not_a_log`](crate::UnitStats)).
    Deferred,
    /// Not read, for this reason.
    Skipped(SkipReason),
}

/// Why a path is not read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// The path does not exist.
    NotFound,
    /// A glob pattern that matched nothing.
    NoMatch,
    /// The file is empty or holds only whitespace.
    Empty,
    /// The file is neither EVTX (`ElfFile` signature) nor JSON (first character `{` or `[`).
    UnknownFormat,
    /// The path could not be opened, read or listed.
    Unreadable(String),
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::NotFound => f.write_str("not found"),
            SkipReason::NoMatch => f.write_str("the pattern matches no file"),
            SkipReason::Empty => f.write_str("empty file"),
            SkipReason::UnknownFormat => {
                f.write_str("neither EVTX nor JSON (expected `ElfFile`, `{` or `[` at the start)")
            }
            SkipReason::Unreadable(reason) => write!(f, "unreadable: {reason}"),
        }
    }
}

/// One file (or standard input) and its work units.
#[derive(Clone, Debug)]
pub struct Source {
    index: usize,
    path: Arc<Path>,
    kind: SourceKind,
    explicit: bool,
    units: Vec<WorkUnit>,
}

impl Source {
    /// Position of the source in [`discover`]'s result.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The path (`-` for standard input).
    pub fn path(&self) -> &Arc<Path> {
        &self.path
    }

    /// What the source holds.
    pub fn kind(&self) -> &SourceKind {
        &self.kind
    }

    /// Whether the user named this path itself (or through a pattern) rather than a folder
    /// holding it: a skipped file found in a folder is usually not worth a warning.
    pub fn is_explicit(&self) -> bool {
        self.explicit
    }

    /// The work units, in reading order (none for a skipped source).
    pub fn units(&self) -> &[WorkUnit] {
        &self.units
    }
}

/// A part of a source that can be read on its own. Units sort by (source index, unit index),
/// the order in which their events must be output for the output to be deterministic.
#[derive(Clone, Debug)]
pub struct WorkUnit {
    pub(crate) source: usize,
    pub(crate) index: usize,
    pub(crate) path: Arc<Path>,
    pub(crate) kind: UnitKind,
}

/// What a work unit reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnitKind {
    /// EVTX chunks (chunk `n` starts at byte `4096 + n * 65536`).
    Evtx {
        /// The chunks.
        chunks: Range<u64>,
    },
    /// A byte range of a JSON file, starting at the start of a line.
    Json {
        /// The bytes.
        bytes: Range<u64>,
    },
    /// All of standard input.
    Stdin,
    /// A whole file of `len` bytes, told EVTX or JSON by its content when it is read
    /// ([`DiscoverOptions::defer_small_files`]).
    File {
        /// Its length when it was found.
        len: u64,
    },
}

impl WorkUnit {
    /// The (source index, unit index) pair that orders units.
    pub fn key(&self) -> (usize, usize) {
        (self.source, self.index)
    }

    /// The source's path.
    pub fn path(&self) -> &Arc<Path> {
        &self.path
    }

    /// What the unit reads.
    pub fn kind(&self) -> &UnitKind {
        &self.kind
    }

    /// About how many bytes the unit reads (0 for standard input), to weigh progress.
    pub fn weight(&self) -> u64 {
        match &self.kind {
            UnitKind::Evtx { chunks } => (chunks.end - chunks.start) * evtx::CHUNK_SIZE,
            UnitKind::Json { bytes } => bytes.end - bytes.start,
            UnitKind::Stdin => 0,
            UnitKind::File { len } => *len,
        }
    }
}

impl PartialEq for WorkUnit {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for WorkUnit {}

impl PartialOrd for WorkUnit {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for WorkUnit {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

/// Expand `inputs` into sources, in order: folders recursively with entries sorted by name,
/// glob patterns in sorted order, so the same inputs always give the same sources. Every file
/// is recognised by its content, not its name; files that are not read are returned as
/// [`SourceKind::Skipped`] with the reason (those told only when read,
/// [`SourceKind::Deferred`], read as nothing instead).
pub fn discover(inputs: &[Input], options: &DiscoverOptions) -> Vec<Source> {
    let mut discovery = Discovery {
        options,
        sources: Vec::new(),
        found: Vec::new(),
    };
    for input in inputs {
        match input {
            Input::Stdin => discovery.found.push(Found::Stdin),
            Input::Path(path) => discovery.path(path),
        }
    }
    discovery.classify_found();
    discovery.sources
}

/// What the walk found, in order, before files are opened.
enum Found {
    Stdin,
    File {
        path: PathBuf,
        explicit: bool,
    },
    Skip {
        path: PathBuf,
        reason: SkipReason,
        explicit: bool,
    },
}

/// A found entry, its file opened and told.
enum Opened {
    Stdin,
    File {
        path: PathBuf,
        explicit: bool,
        classified: std::io::Result<Classified>,
    },
    Skip {
        path: PathBuf,
        reason: SkipReason,
        explicit: bool,
    },
}

struct Discovery<'a> {
    options: &'a DiscoverOptions,
    sources: Vec<Source>,
    found: Vec<Found>,
}

impl Discovery<'_> {
    /// Opens every file found to tell what it holds, on the caller's rayon threads (an open,
    /// a read and a close each: over many small files, as long as reading some of them), and
    /// makes the sources in the order found.
    fn classify_found(&mut self) {
        let options = self.options;
        let opened: Vec<Opened> = std::mem::take(&mut self.found)
            .into_par_iter()
            .map(|found| match found {
                Found::Stdin => Opened::Stdin,
                Found::Skip {
                    path,
                    reason,
                    explicit,
                } => Opened::Skip {
                    path,
                    reason,
                    explicit,
                },
                Found::File { path, explicit } => {
                    let classified = match options.defer_small_files && !explicit {
                        true => defer_or_classify(&path, options),
                        false => classify(&path, options),
                    };
                    Opened::File {
                        path,
                        explicit,
                        classified,
                    }
                }
            })
            .collect();
        for opened in opened {
            match opened {
                Opened::Stdin => self.stdin(),
                Opened::Skip {
                    path,
                    reason,
                    explicit,
                } => self.skip(&path, reason, explicit),
                Opened::File {
                    path,
                    explicit,
                    classified: Ok((kind, units)),
                } => self.push(&path, kind, explicit, units),
                Opened::File {
                    path,
                    explicit,
                    classified: Err(e),
                } => self.skip(&path, SkipReason::Unreadable(e.to_string()), explicit),
            }
        }
    }

    fn push(&mut self, path: &Path, kind: SourceKind, explicit: bool, units: Vec<UnitKind>) {
        let index = self.sources.len();
        let path: Arc<Path> = Arc::from(path);
        let units = units
            .into_iter()
            .enumerate()
            .map(|(unit, kind)| WorkUnit {
                source: index,
                index: unit,
                path: Arc::clone(&path),
                kind,
            })
            .collect();
        self.sources.push(Source {
            index,
            path,
            kind,
            explicit,
            units,
        });
    }

    fn skip(&mut self, path: &Path, reason: SkipReason, explicit: bool) {
        self.push(path, SourceKind::Skipped(reason), explicit, Vec::new());
    }

    fn stdin(&mut self) {
        self.push(
            Path::new("-"),
            SourceKind::Stdin,
            true,
            vec![UnitKind::Stdin],
        );
    }

    fn path(&mut self, path: &Path) {
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => self.folder(path),
            Ok(_) => self.file_found(path, true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let pattern = path.to_string_lossy();
                if pattern.contains(['*', '?', '[']) {
                    self.pattern(path, &pattern);
                } else {
                    self.skip_found(path, SkipReason::NotFound, true);
                }
            }
            Err(e) => self.skip_found(path, SkipReason::Unreadable(e.to_string()), true),
        }
    }

    fn pattern(&mut self, path: &Path, pattern: &str) {
        let paths = match glob::glob(pattern) {
            Ok(paths) => paths,
            Err(e) => {
                self.skip_found(
                    path,
                    SkipReason::Unreadable(format!("invalid pattern: {e}")),
                    true,
                );
                return;
            }
        };
        let mut matched: Vec<PathBuf> = Vec::new();
        for entry in paths {
            match entry {
                Ok(found) => matched.push(found),
                Err(e) => {
                    let found = e.path().to_path_buf();
                    self.skip_found(&found, SkipReason::Unreadable(e.error().to_string()), true);
                }
            }
        }
        if matched.is_empty() {
            self.skip_found(path, SkipReason::NoMatch, true);
        }
        matched.sort();
        for found in matched {
            if found.is_dir() {
                self.folder(&found);
            } else {
                self.file_found(&found, true);
            }
        }
    }

    fn folder(&mut self, folder: &Path) {
        let walk = walkdir::WalkDir::new(folder)
            .follow_links(true)
            .sort_by_file_name();
        for entry in walk {
            match entry {
                Ok(entry) if entry.file_type().is_dir() => {}
                Ok(entry) => self.file_found(entry.path(), false),
                Err(e) => {
                    let at = e.path().unwrap_or(folder).to_path_buf();
                    self.skip_found(&at, SkipReason::Unreadable(e.to_string()), false);
                }
            }
        }
    }

    fn file_found(&mut self, path: &Path, explicit: bool) {
        self.found.push(Found::File {
            path: path.to_path_buf(),
            explicit,
        });
    }

    fn skip_found(&mut self, path: &Path, reason: SkipReason, explicit: bool) {
        self.found.push(Found::Skip {
            path: path.to_path_buf(),
            reason,
            explicit,
        });
    }
}

/// What a file holds, and its work units.
type Classified = (SourceKind, Vec<UnitKind>);

/// A file no larger than one work unit as a [`UnitKind::File`] (its length read, the file
/// not opened), a larger one told now.
fn defer_or_classify(path: &Path, options: &DiscoverOptions) -> std::io::Result<Classified> {
    let smallest_unit = (evtx::FILE_HEADER_SIZE
        + options.evtx_chunks_per_unit.max(1) * evtx::CHUNK_SIZE)
        .min(options.json_unit_bytes.max(1 << 16));
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() && meta.len() <= smallest_unit => Ok((
            SourceKind::Deferred,
            vec![UnitKind::File { len: meta.len() }],
        )),
        _ => classify(path, options),
    }
}

/// What a file is.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Told {
    Evtx,
    /// JSON; `splittable` at line starts when it starts with an object (JSON Lines), not
    /// when it starts with an array or its head holds only whitespace.
    Json {
        splittable: bool,
    },
    Skip(SkipReason),
}

/// What a file of `len` bytes is, told by its first bytes (`head`, up to 4 KiB): by discovery,
/// or by the reader of a [`UnitKind::File`].
pub(crate) fn tell(head: &[u8], len: u64) -> Told {
    if head.starts_with(FILE_MAGIC) {
        return Told::Evtx;
    }
    match sniff_text(head) {
        Sniffed::Unknown => Told::Skip(SkipReason::UnknownFormat),
        Sniffed::Empty if len <= head.len() as u64 => Told::Skip(SkipReason::Empty),
        // Only whitespace in the first 4 KiB, more after: the reader judges the rest.
        Sniffed::Empty => Told::Json { splittable: false },
        Sniffed::Json { splittable } => Told::Json { splittable },
    }
}

/// What the file at `path` holds, and its work units.
fn classify(path: &Path, options: &DiscoverOptions) -> std::io::Result<Classified> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    let mut head = [0; 4096];
    let filled = evtx::fill_at(&file, &mut head, 0)?;
    let head = &head[..filled];
    let splittable = match tell(head, len) {
        Told::Evtx => {
            let chunks = evtx::chunk_count(len);
            let per_unit = options.evtx_chunks_per_unit.max(1);
            // At least one unit, which checks the file header.
            let units = (0..chunks.div_ceil(per_unit).max(1))
                .map(|unit| UnitKind::Evtx {
                    chunks: unit * per_unit..((unit + 1) * per_unit).min(chunks),
                })
                .collect();
            return Ok((SourceKind::Evtx, units));
        }
        Told::Skip(reason) => return Ok((SourceKind::Skipped(reason), Vec::new())),
        Told::Json { splittable } => splittable,
    };
    let units = if splittable {
        split_json(&file, len, options.json_unit_bytes.max(1 << 16))?
    } else {
        std::iter::once(0..len).collect()
    };
    let units = units
        .into_iter()
        .map(|bytes| UnitKind::Json { bytes })
        .collect();
    Ok((SourceKind::Json, units))
}

/// What the start of a text file says it is.
#[derive(Debug, PartialEq, Eq)]
enum Sniffed {
    /// JSON; `splittable` when it starts with an object (JSON Lines or concatenated objects),
    /// not an array.
    Json {
        splittable: bool,
    },
    /// Only whitespace so far.
    Empty,
    Unknown,
}

fn sniff_text(head: &[u8]) -> Sniffed {
    // UTF-16 text is taken as JSON so that reading it reports the encoding.
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return Sniffed::Json { splittable: false };
    }
    let mut text = head.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(head);
    loop {
        let start = text
            .iter()
            .position(|&b| !crate::json::is_ws(b))
            .unwrap_or(text.len());
        text = &text[start..];
        // `evtx_dump` writes a `Record N` line before each JSON record.
        if text.starts_with(b"Record ") {
            match memchr::memchr(b'\n', text) {
                Some(end) => text = &text[end + 1..],
                None => return Sniffed::Unknown,
            }
            continue;
        }
        return match text.first() {
            None => Sniffed::Empty,
            Some(b'{') => Sniffed::Json { splittable: true },
            Some(b'[') => Sniffed::Json { splittable: false },
            Some(_) => Sniffed::Unknown,
        };
    }
}

/// Split a JSON text file of `len` bytes into ranges of about `unit` bytes, each starting at a
/// line that starts with `{` (so at an event of JSON Lines or of `evtx_dump` output).
fn split_json(file: &File, len: u64, unit: u64) -> std::io::Result<Vec<Range<u64>>> {
    let mut starts = vec![0];
    let mut block = vec![0; 1 << 16];
    let mut target = unit;
    'targets: while target < len {
        let mut at = target - 1;
        // Look for "\n{" from `target - 1` on, a block at a time, up to one unit further.
        while at < len && at < target + unit {
            let filled = evtx::fill_at(file, &mut block, at)?;
            if filled < 2 {
                break 'targets;
            }
            let found = memchr::memmem::find(&block[..filled], b"\n{");
            if let Some(found) = found {
                let start = at + found as u64 + 1;
                starts.push(start);
                target = start + unit;
                continue 'targets;
            }
            at += filled as u64 - 1;
        }
        target += unit;
    }
    starts.push(len);
    Ok(starts.windows(2).map(|w| w[0]..w[1]).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing() {
        assert_eq!(
            sniff_text(b"  \n{\"a\":1}"),
            Sniffed::Json { splittable: true }
        );
        assert_eq!(
            sniff_text(b"\xEF\xBB\xBF[{}]"),
            Sniffed::Json { splittable: false }
        );
        assert_eq!(
            sniff_text(b"Record 1\n{\"Event\":{}}"),
            Sniffed::Json { splittable: true }
        );
        assert_eq!(
            sniff_text(b"\xFF\xFE{\0"),
            Sniffed::Json { splittable: false }
        );
        assert_eq!(sniff_text(b" \n\t"), Sniffed::Empty);
        assert_eq!(sniff_text(b"title: x"), Sniffed::Unknown);
        assert_eq!(sniff_text(b"Record 1"), Sniffed::Unknown);
    }
}
