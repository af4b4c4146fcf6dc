//! The parse cache of the commands that load rule folders (`check`, `hunt`, `convert`,
//! `test`; `explain` reads one rule and parses it; `hunt` keeps its compiled rules beside it,
//! see `engine_cache`):
//! unchanged rule files are read from it instead of being parsed again. It never changes a
//! command's output, only its start-up time.

use sigrun_rule::{ParseCache, ReadFile, ReadRules, RuleSet};
use std::cell::OnceCell;
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Clone, Debug, Default)]
pub struct CacheArgs {
    /// Parse every rule file instead of reading unchanged ones from the parse cache, and
    /// compile the rules of a hunt instead of reading them from the compiled-rule cache
    /// ($SIGRUN_CACHE_DIR, else $XDG_CACHE_HOME/sigrun, else ~/.cache/sigrun; an empty
    /// SIGRUN_CACHE_DIR turns both off too).
    #[arg(long)]
    pub no_cache: bool,
}

/// The cache file's name in the cache folder.
const FILE_NAME: &str = "rule-parses.bin";

/// Loads rule files and folders, through the parse cache unless it is off.
pub struct RuleLoader {
    /// The cache file, when the cache is on.
    path: Option<PathBuf>,
    /// Opened by the first parse that has files (a hunt with the built-in pack alone never
    /// reads it, nor one whose compiled rules are in the cache).
    cache: OnceCell<ParseCache>,
}

impl RuleLoader {
    pub fn new(args: &CacheArgs) -> RuleLoader {
        let dir = if args.no_cache { None } else { cache_dir() };
        RuleLoader {
            path: dir.map(|dir| dir.join(FILE_NAME)),
            cache: OnceCell::new(),
        }
    }

    /// The cache folder, when the cache is on (`hunt` keeps its compiled rules there too).
    pub fn folder(&self) -> Option<&Path> {
        self.path.as_deref().and_then(Path::parent)
    }

    pub fn load(&self, paths: &[PathBuf]) -> (RuleSet, Vec<(PathBuf, String)>) {
        let read = ReadRules::read(paths);
        (self.parse(read.files), read.unreadable)
    }

    /// Parses files read by [`ReadRules::read`], through the cache when it is on (opened by
    /// the first parse that has files).
    pub fn parse(&self, files: Vec<ReadFile>) -> RuleSet {
        match &self.path {
            Some(path) if !files.is_empty() => {
                let cache = self.cache.get_or_init(|| ParseCache::open(path));
                RuleSet::parse_read(files, &|source| cache.parse(source))
            }
            _ => RuleSet::parse_read(files, &sigrun_rule::parse_source),
        }
    }

    /// Writes what this run parsed back to the cache. A cache that cannot be read or written
    /// is worth a warning, never a failure.
    pub fn finish(self, stderr: &mut impl Write) -> std::io::Result<()> {
        let Some(cache) = self.cache.into_inner() else {
            return Ok(());
        };
        let unusable = cache.unusable().map(|reason| format!(": {reason}"));
        let unwritten = cache.save().err().map(|e| format!(" not written: {e}"));
        for problem in unusable.into_iter().chain(unwritten) {
            writeln!(
                stderr,
                "warning: parse cache {}{problem}",
                cache.path().display()
            )?;
        }
        Ok(())
    }
}

/// Writes a cache file whole: through a temporary file beside it, renamed into place, so that
/// concurrent runs at worst each write a whole file and a reader never sees half of one.
pub(crate) fn write_cache_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder)?;
    }
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(format!(".{}.tmp", std::process::id()));
    let temporary = PathBuf::from(temporary);
    let written =
        std::fs::write(&temporary, bytes).and_then(|()| std::fs::rename(&temporary, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

fn cache_dir() -> Option<PathBuf> {
    cache_dir_from(|name| std::env::var_os(name))
}

/// The cache folder given the environment: `SIGRUN_CACHE_DIR` (empty: no cache), else
/// `XDG_CACHE_HOME/sigrun`, else `HOME/.cache/sigrun` (empty values count as unset), else none.
fn cache_dir_from(env: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    if let Some(dir) = env("SIGRUN_CACHE_DIR") {
        return (!dir.is_empty()).then(|| PathBuf::from(dir));
    }
    let var = |name: &str| env(name).filter(|v| !v.is_empty());
    var("XDG_CACHE_HOME")
        .map(|dir| Path::new(&dir).join("sigrun"))
        .or_else(|| var("HOME").map(|home| Path::new(&home).join(".cache/sigrun")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(vars: &[(&str, &str)]) -> Option<PathBuf> {
        cache_dir_from(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| OsString::from(v))
        })
    }

    #[test]
    fn the_cache_folder_follows_the_environment() {
        let all = [
            ("SIGRUN_CACHE_DIR", "/c"),
            ("XDG_CACHE_HOME", "/x"),
            ("HOME", "/h"),
        ];
        assert_eq!(dir(&all), Some(PathBuf::from("/c")));
        assert_eq!(dir(&[("SIGRUN_CACHE_DIR", ""), all[1], all[2]]), None);
        assert_eq!(dir(&all[1..]), Some(PathBuf::from("/x/sigrun")));
        assert_eq!(
            dir(&[("XDG_CACHE_HOME", ""), all[2]]),
            Some(PathBuf::from("/h/.cache/sigrun"))
        );
        assert_eq!(dir(&[("HOME", "")]), None);
        assert_eq!(dir(&[]), None);
    }
}
