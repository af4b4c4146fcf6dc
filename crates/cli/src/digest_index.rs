//! The digests of rule files, remembered by file status: a hunt whose rules are in the
//! compiled-rule cache needs only each file's digest for the cache key, and reading the 2,407
//! Windows rules to hash them (an open, a read and a close each, into fresh memory) was a
//! fifth of such a hunt's start-up. A file whose status (device, inode, size, modification
//! and change times) is the one recorded with its digest is not read again; any write to a
//! file changes its change time, which no user can set.
//!
//! A change made within the file system's timestamp granularity of the moment a digest was
//! taken could leave the status as it was (the "racy git" problem). So only files last
//! changed at least [`SETTLED`] before the run that hashed them began are recorded; newer
//! ones are read again until they have settled.
//!
//! The index is one file in the cache folder (`rule-digests.bin`): [`MAGIC`], the postcard
//! encoding of its entries, and an xxh3-64 checksum of both. A missing file is an empty index;
//! a damaged or foreign one is too, and [`DigestIndex::problem`] says why (the caller warns
//! once: the next save writes it again). It is written beside its final name and renamed into
//! place.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use xxhash_rust::xxh3::xxh3_64;

const FILE_NAME: &str = "rule-digests.bin";
const MAGIC: &[u8; 16] = b"sigrun-digests\x00\x01";
/// How long before a run a file must have last changed for its digest to be recorded.
const SETTLED: Duration = Duration::from_secs(2);
/// The most entries kept: this run's, then earlier runs' (other rule folders).
const MAX_ENTRIES: usize = 50_000;
/// The largest index file read back.
const MAX_FILE_BYTES: u64 = 64 << 20;

/// What identifies a file's content without reading it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stamp {
    device: u64,
    inode: u64,
    len: u64,
    modified: (i64, i64),
    changed: (i64, i64),
}

impl Stamp {
    /// The status of the file at `path` (`None` where it cannot be read, or on a platform
    /// without inodes and change times: the file is then always read).
    pub fn of(path: &Path) -> Option<Stamp> {
        #[cfg(target_os = "linux")]
        if let Some(stamp) = linux::stamp_at(rustix::fs::CWD, path.as_os_str()) {
            return stamp;
        }
        #[cfg(unix)]
        {
            std::fs::metadata(path).ok().map(|m| Stamp::of_metadata(&m))
        }
        #[cfg(not(unix))]
        {
            let _ = path;
            None
        }
    }

    /// The status the standard library read.
    #[cfg(unix)]
    fn of_metadata(m: &std::fs::Metadata) -> Stamp {
        use std::os::unix::fs::MetadataExt;
        Stamp {
            device: m.dev(),
            inode: m.ino(),
            len: m.len(),
            modified: (m.mtime(), m.mtime_nsec()),
            changed: (m.ctime(), m.ctime_nsec()),
        }
    }

    /// Whether the file last changed at least [`SETTLED`] before `started`.
    fn settled_before(&self, started: SystemTime) -> bool {
        let Some(limit) = started
            .checked_sub(SETTLED)
            .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        else {
            return false;
        };
        let limit = (limit.as_secs() as i64, i64::from(limit.subsec_nanos()));
        self.modified < limit && self.changed < limit
    }
}

/// The statuses of the files at `paths`, each as [`Stamp::of`] gives it, in parallel, in the
/// order of `paths`. Each folder is opened once and its files are looked up by name in it: a
/// status taken by path walks every folder of the path again, and for the 2,407 Windows rules,
/// six folders deep, those walks were most of the time the statuses took.
pub fn stamps(paths: &[PathBuf]) -> Vec<Option<Stamp>> {
    use rayon::prelude::*;
    let folders: Vec<&[PathBuf]> = paths
        .chunk_by(|a, b| split_name(a).0 == split_name(b).0)
        .collect();
    let per_folder: Vec<Vec<Option<Stamp>>> = folders
        .par_iter()
        .map(|files| stamps_in_folder(files))
        .collect();
    per_folder.into_iter().flatten().collect()
}

/// The bytes of `path` before its last `/` (`None` without one) and after it. (Comparing
/// `Path::parent`s parses both paths into components: twice the instructions of the `stat`s.)
fn split_name(path: &Path) -> (Option<&[u8]>, &[u8]) {
    let bytes = path.as_os_str().as_encoded_bytes();
    match memchr::memrchr(b'/', bytes) {
        Some(at) => (Some(&bytes[..at]), &bytes[at + 1..]),
        None => (None, bytes),
    }
}

/// The statuses of `files`, which are in one folder.
fn stamps_in_folder(files: &[PathBuf]) -> Vec<Option<Stamp>> {
    #[cfg(target_os = "linux")]
    if let Some(stamps) = linux::stamps_in_folder(files) {
        return stamps;
    }
    files.iter().map(|path| Stamp::of(path)).collect()
}

/// Statuses from `statx`, which can look a name up in an open folder.
#[cfg(target_os = "linux")]
mod linux {
    use super::Stamp;
    use rustix::fd::AsFd;
    use rustix::fs::{AtFlags, Mode, OFlags, StatxFlags};
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    use std::path::PathBuf;

    /// The status of `name` in `folder` (following links, as `std::fs::metadata` does), or
    /// `None` (outer) where `statx` is not available: the caller then asks the standard
    /// library.
    pub(super) fn stamp_at(folder: impl AsFd, name: &OsStr) -> Option<Option<Stamp>> {
        let mask = StatxFlags::INO | StatxFlags::SIZE | StatxFlags::MTIME | StatxFlags::CTIME;
        match rustix::fs::statx(folder, name, AtFlags::STATX_SYNC_AS_STAT, mask) {
            Ok(s) => Some(Some(Stamp {
                device: rustix::fs::makedev(s.stx_dev_major, s.stx_dev_minor),
                inode: s.stx_ino,
                len: s.stx_size,
                modified: (s.stx_mtime.tv_sec, i64::from(s.stx_mtime.tv_nsec)),
                changed: (s.stx_ctime.tv_sec, i64::from(s.stx_ctime.tv_nsec)),
            })),
            Err(rustix::io::Errno::NOSYS | rustix::io::Errno::PERM) => None,
            Err(_) => Some(None),
        }
    }

    /// The statuses of `files` (all in one folder), each looked up by name in the folder
    /// opened once; `None` if the folder cannot be opened or `statx` is not available.
    pub(super) fn stamps_in_folder(files: &[PathBuf]) -> Option<Vec<Option<Stamp>>> {
        let folder = match super::split_name(files.first()?).0 {
            Some([]) => b"/".as_slice(),
            Some(folder) => folder,
            None => b".".as_slice(),
        };
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let folder = rustix::fs::open(OsStr::from_bytes(folder), flags, Mode::empty()).ok()?;
        files
            .iter()
            .map(|path| match super::split_name(path).1 {
                // `statx` reads an empty name as no file (a path ending in `/`).
                [] => Some(Stamp::of(path)),
                name => stamp_at(&folder, OsStr::from_bytes(name)),
            })
            .collect()
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Entry {
    /// The path's bytes as the operating system gave them.
    #[serde(with = "serde_bytes")]
    path: Vec<u8>,
    stamp: Stamp,
    digest: u128,
}

/// The remembered digests, and those this run took.
pub struct DigestIndex {
    file: PathBuf,
    started: SystemTime,
    /// The file's entries by the path's bytes (hashing a `Path` parses its components: more
    /// than the `stat`).
    known: HashMap<Vec<u8>, (Stamp, u128), foldhash::fast::RandomState>,
    /// Why the file could not be read back, when it exists.
    problem: Option<String>,
}

impl DigestIndex {
    /// The index kept in `folder` (an empty one when there is none that reads back whole; see
    /// [`DigestIndex::problem`]).
    pub fn open(folder: &Path) -> DigestIndex {
        DigestIndex::open_at(folder, SystemTime::now())
    }

    /// As [`DigestIndex::open`], for a run that began at `started`.
    fn open_at(folder: &Path, started: SystemTime) -> DigestIndex {
        let file = folder.join(FILE_NAME);
        let (entries, problem) = match read_entries(&file) {
            Ok(entries) => (entries, None),
            Err(problem) => (Vec::new(), Some(problem)),
        };
        let known = entries
            .into_iter()
            .map(|e| (e.path, (e.stamp, e.digest)))
            .collect();
        DigestIndex {
            file,
            started,
            known,
            problem,
        }
    }

    /// The index file.
    pub fn path(&self) -> &Path {
        &self.file
    }

    /// Why the index file, which exists, could not be read back (the index is then empty).
    pub fn problem(&self) -> Option<&str> {
        self.problem.as_deref()
    }

    /// The remembered digest of the file at `path`, if its status is still `stamp`.
    pub fn get(&self, path: &Path, stamp: Stamp) -> Option<u128> {
        match self.known.get(path.as_os_str().as_encoded_bytes()) {
            Some(&(known, digest)) if known == stamp => Some(digest),
            _ => None,
        }
    }

    /// Writes back the digests this run has (`taken`: each file's path, status before it was
    /// read, and digest), unless they are all remembered already. An index that cannot be
    /// written only costs the next run its reading: the caller warns and goes on.
    pub fn save(self, taken: &[(PathBuf, Stamp, u128)]) -> std::io::Result<()> {
        let settled: Vec<&(PathBuf, Stamp, u128)> = taken
            .iter()
            .filter(|(_, stamp, _)| stamp.settled_before(self.started))
            .collect();
        // Files not settled yet are not remembered either way.
        let nothing_new = settled
            .iter()
            .all(|(path, stamp, digest)| self.get(path, *stamp) == Some(*digest));
        if nothing_new {
            return Ok(());
        }
        let mut entries: Vec<Entry> = settled
            .iter()
            .map(|(path, stamp, digest)| Entry {
                path: path.as_os_str().as_encoded_bytes().to_vec(),
                stamp: *stamp,
                digest: *digest,
            })
            .collect();
        let ours: std::collections::HashSet<&[u8]> = taken
            .iter()
            .map(|(path, _, _)| path.as_os_str().as_encoded_bytes())
            .collect();
        // Then the earlier runs' other files (other rule folders), in path order.
        let mut earlier: Vec<Entry> = self
            .known
            .into_iter()
            .filter(|(path, _)| !ours.contains(path.as_slice()))
            .map(|(path, (stamp, digest))| Entry {
                path,
                stamp,
                digest,
            })
            .collect();
        earlier.sort_unstable_by(|a, b| a.path.cmp(&b.path));
        let room = MAX_ENTRIES.saturating_sub(entries.len());
        entries.extend(earlier.into_iter().take(room));
        let mut bytes =
            postcard::to_extend(&entries, MAGIC.to_vec()).map_err(std::io::Error::other)?;
        let checksum = xxh3_64(&bytes);
        bytes.extend_from_slice(&checksum.to_le_bytes());
        crate::rule_cache::write_cache_file(&self.file, &bytes)
    }
}

/// The entries of the index file: none when it does not exist, else why they cannot be read.
fn read_entries(file: &Path) -> Result<Vec<Entry>, String> {
    use sigrun_rule::loader::{CappedRead, read_capped};
    let bytes = match read_capped(file, MAX_FILE_BYTES) {
        Ok(bytes) => bytes,
        Err(CappedRead::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Vec::new());
        }
        Err(CappedRead::Io(e)) => return Err(format!("cannot read: {e}")),
        Err(CappedRead::TooLarge(len)) => return Err(format!("{len} bytes is not an index")),
    };
    let damaged = || "damaged (bad checksum)".to_string();
    let body = bytes
        .strip_prefix(MAGIC.as_slice())
        .ok_or_else(|| "not an index of this sigrun".to_string())?;
    let (payload, checksum) = body.split_last_chunk::<8>().ok_or_else(damaged)?;
    if xxh3_64(&bytes[..bytes.len() - 8]) != u64::from_le_bytes(*checksum) {
        return Err(damaged());
    }
    postcard::from_bytes(payload).map_err(|e| format!("damaged ({e})"))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// The status as the standard library reads it.
    fn std_stamp(path: &Path) -> Option<Stamp> {
        std::fs::metadata(path).ok().map(|m| Stamp::of_metadata(&m))
    }

    /// Statuses looked up by name in their folders are the statuses of the paths, links
    /// followed, missing files none, in order; relative paths too.
    #[test]
    fn statuses_by_folder_are_the_paths_statuses() {
        let folder = tempfile::tempdir().expect("tempdir");
        let sub = folder.path().join("sub");
        std::fs::create_dir(&sub).expect("mkdir");
        let mut paths = Vec::new();
        for (at, name, text) in [
            (folder.path(), "a.yml", "title: a\n"),
            (&sub, "b.yml", "title: bb\n"),
            (&sub, "c.yml", "title: ccc\n"),
        ] {
            let path = at.join(name);
            std::fs::write(&path, text).expect("write");
            paths.push(path);
        }
        let link = sub.join("d.yml");
        std::os::unix::fs::symlink(folder.path().join("a.yml"), &link).expect("symlink");
        paths.push(link);
        paths.push(sub.join("missing.yml"));
        paths.push(folder.path().join("z.yml"));
        std::fs::write(folder.path().join("z.yml"), "title: z\n").expect("write");
        // Relative to the working folder (the crate's, under `cargo test`), absolute at the
        // root, and a folder named with a trailing separator.
        paths.push(PathBuf::from("Cargo.toml"));
        paths.push(PathBuf::from("src/main.rs"));
        paths.push(PathBuf::from("/tmp"));
        paths.push(PathBuf::from("src/"));

        let expected: Vec<Option<Stamp>> = paths.iter().map(|p| std_stamp(p)).collect();
        assert_eq!(expected.iter().filter(|s| s.is_none()).count(), 1);
        assert_eq!(stamps(&paths), expected);
        let one_by_one: Vec<Option<Stamp>> = paths.iter().map(|p| Stamp::of(p)).collect();
        assert_eq!(one_by_one, expected);
        // The link has its target's status.
        assert_eq!(expected[3], expected[0]);
    }

    /// A run that began `ahead` after now: files written by the test count as settled.
    fn run_in(folder: &Path, ahead: u64) -> DigestIndex {
        DigestIndex::open_at(folder, SystemTime::now() + Duration::from_secs(ahead))
    }

    #[test]
    fn a_digest_is_remembered_while_the_file_keeps_its_status() {
        let folder = tempfile::tempdir().expect("tempdir");
        let cache = folder.path().join("cache");
        let rule = folder.path().join("a.yml");
        std::fs::write(&rule, "title: a\n").expect("write");
        let stamp = Stamp::of(&rule).expect("stamp");
        assert_eq!(stamp, Stamp::of(&rule).expect("stamp"));

        let index = run_in(&cache, 10);
        assert_eq!(index.get(&rule, stamp), None);
        index.save(&[(rule.clone(), stamp, 7)]).expect("saved");
        let index = run_in(&cache, 10);
        assert_eq!(index.get(&rule, stamp), Some(7));
        // Another path, or the same path with another status: not known.
        assert_eq!(index.get(&folder.path().join("b.yml"), stamp), None);

        // Rewriting the file (even with the same length) changes its status.
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(&rule, "title: b\n").expect("write");
        let changed = Stamp::of(&rule).expect("stamp");
        assert_ne!(changed, stamp);
        assert_eq!(index.get(&rule, changed), None);
        index.save(&[(rule.clone(), changed, 8)]).expect("saved");
        assert_eq!(run_in(&cache, 10).get(&rule, changed), Some(8));
    }

    #[test]
    fn files_changed_just_before_the_run_are_not_remembered() {
        let folder = tempfile::tempdir().expect("tempdir");
        let rule = folder.path().join("a.yml");
        std::fs::write(&rule, "title: a\n").expect("write");
        let stamp = Stamp::of(&rule).expect("stamp");
        // The run began now: the file changed less than SETTLED before it.
        DigestIndex::open(folder.path())
            .save(&[(rule.clone(), stamp, 7)])
            .expect("nothing to save");
        assert_eq!(run_in(folder.path(), 10).get(&rule, stamp), None);
        assert!(!folder.path().join(FILE_NAME).exists());
    }

    #[test]
    fn a_damaged_index_is_an_empty_one_and_earlier_entries_are_kept() {
        let folder = tempfile::tempdir().expect("tempdir");
        let (a, b) = (folder.path().join("a.yml"), folder.path().join("b.yml"));
        std::fs::write(&a, "a").expect("write");
        std::fs::write(&b, "b").expect("write");
        let (sa, sb) = (Stamp::of(&a).expect("a"), Stamp::of(&b).expect("b"));
        assert_eq!(run_in(folder.path(), 10).problem(), None, "no file yet");
        run_in(folder.path(), 10)
            .save(&[(a.clone(), sa, 1)])
            .expect("saved");
        // A run over other files keeps the first run's entries.
        run_in(folder.path(), 10)
            .save(&[(b.clone(), sb, 2)])
            .expect("saved");
        let index = run_in(folder.path(), 10);
        assert_eq!((index.get(&a, sa), index.get(&b, sb)), (Some(1), Some(2)));

        let file = folder.path().join(FILE_NAME);
        let bytes = std::fs::read(&file).expect("index");
        for damaged in [
            bytes[..bytes.len() - 1].to_vec(),
            [&bytes[..20], &[bytes[20] ^ 1], &bytes[21..]].concat(),
            b"not an index".to_vec(),
            Vec::new(),
        ] {
            std::fs::write(&file, &damaged).expect("write");
            let index = run_in(folder.path(), 10);
            assert_eq!((index.get(&a, sa), index.get(&b, sb)), (None, None));
            let problem = index.problem().expect("a problem").to_string();
            assert!(
                problem.starts_with("damaged") || problem == "not an index of this sigrun",
                "{problem}"
            );
        }
        assert_eq!(
            run_in(folder.path(), 10).problem(),
            Some("not an index of this sigrun")
        );
    }
}
