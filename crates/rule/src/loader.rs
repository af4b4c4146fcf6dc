//! Loading rule files and folders into a [`RuleSet`].

use crate::cache::ParseCache;
use crate::diagnostic::{Diagnostic, Severity};
use crate::document::{Document, DocumentKind};
use crate::parse::parse_document;
use crate::source::{SourceFile, Span};
use crate::yaml::parse_documents;
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Rule files larger than this are refused (Sigma rules are a few kilobytes).
pub const MAX_RULE_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// One rule file: its text, its documents, and problems with the file as a whole.
#[derive(Debug)]
pub struct RuleFile {
    pub source: Arc<SourceFile>,
    pub documents: Vec<Document>,
    /// Problems that concern the file rather than one document (unreadable, invalid YAML).
    pub diagnostics: Vec<Diagnostic>,
}

impl RuleFile {
    pub fn path(&self) -> &Path {
        self.source.path()
    }

    /// Every diagnostic of the file and its documents.
    pub fn all_diagnostics(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .chain(self.documents.iter().flat_map(|d| d.diagnostics.iter()))
    }
}

/// Parses rule text that was read from `path`.
pub fn parse_source(source: Arc<SourceFile>) -> RuleFile {
    let text = source.text();
    match parse_documents(text) {
        Ok(nodes) => {
            let documents: Vec<Document> = nodes
                .into_iter()
                .enumerate()
                .map(|(i, node)| parse_document(i, node, text))
                .collect();
            let mut diagnostics = Vec::new();
            if documents.is_empty() {
                diagnostics.push(Diagnostic::error(
                    "schema",
                    "the file holds no YAML document",
                ));
            }
            RuleFile {
                source,
                documents,
                diagnostics,
            }
        }
        Err(error) => RuleFile {
            diagnostics: vec![
                Diagnostic::error("yaml", format!("invalid YAML: {}", error.message))
                    .at(error.span),
            ],
            source,
            documents: Vec::new(),
        },
    }
}

/// Reads and parses one file. Unreadable, oversized or non-UTF-8 files give a file-level error.
pub fn load_file(path: &Path) -> RuleFile {
    read_file(path).parse_with(&parse_source)
}

/// A rule file read and not parsed yet: its text, or the file-level error (unreadable,
/// oversized, not UTF-8) that is all its load gives.
#[derive(Debug)]
pub enum ReadFile {
    Text(Arc<SourceFile>),
    Failed(RuleFile),
}

impl ReadFile {
    /// The file's text (empty, or what could be decoded, when it failed).
    pub fn source(&self) -> &Arc<SourceFile> {
        match self {
            ReadFile::Text(source) => source,
            ReadFile::Failed(file) => &file.source,
        }
    }

    /// The parsed file: `parse` (the parser itself or a [`ParseCache`]) applied to the text.
    pub fn parse_with(self, parse: &(dyn Fn(Arc<SourceFile>) -> RuleFile + Sync)) -> RuleFile {
        match self {
            ReadFile::Text(source) => parse(source),
            ReadFile::Failed(file) => file,
        }
    }
}

/// Reads one rule file without parsing it.
pub fn read_file(path: &Path) -> ReadFile {
    let bytes = match read_rule_file(path) {
        Ok(bytes) => bytes,
        Err(message) => {
            return ReadFile::Failed(RuleFile {
                source: SourceFile::new(path, String::new()),
                documents: Vec::new(),
                diagnostics: vec![Diagnostic::error("io", message)],
            });
        }
    };
    match String::from_utf8(bytes) {
        Ok(mut text) => {
            if text.starts_with('\u{feff}') {
                text.replace_range(..3, "");
            }
            ReadFile::Text(SourceFile::new(path, text))
        }
        Err(e) => {
            let offset = e.utf8_error().valid_up_to();
            let lossy = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let source = SourceFile::new(path, lossy);
            ReadFile::Failed(RuleFile {
                diagnostics: vec![
                    Diagnostic::error("io", format!("invalid UTF-8 at byte {offset}"))
                        .at(Span::point(offset as u32)),
                ],
                source,
                documents: Vec::new(),
            })
        }
    }
}

/// The rule files of some files and folders, read in parallel and not parsed yet, in path
/// order; and the paths that could not be searched, with why.
#[derive(Debug, Default)]
pub struct ReadRules {
    pub files: Vec<ReadFile>,
    pub unreadable: Vec<(PathBuf, String)>,
}

impl ReadRules {
    pub fn read(paths: &[PathBuf]) -> ReadRules {
        let (files, unreadable) = collect_rule_files(paths);
        let files = files.par_iter().map(|path| read_file(path)).collect();
        ReadRules { files, unreadable }
    }
}

/// The bytes of a rule file, refused beyond [`MAX_RULE_FILE_BYTES`].
fn read_rule_file(path: &Path) -> Result<Vec<u8>, String> {
    read_capped(path, MAX_RULE_FILE_BYTES).map_err(|e| match e {
        CappedRead::Io(e) => format!("cannot read: {e}"),
        CappedRead::TooLarge(len) => {
            format!("{len} bytes is too large for a rule file (limit {MAX_RULE_FILE_BYTES})")
        }
    })
}

/// Why [`read_capped`] gave no bytes.
#[derive(Debug)]
pub enum CappedRead {
    Io(std::io::Error),
    /// The file holds more than the limit (its length, or as much as was read).
    TooLarge(u64),
}

/// The bytes of a file of at most `limit` bytes: one open and one `fstat` on the open file (a
/// `stat` by path first, then `fs::read`, looked the path up twice), and a file that grows while
/// it is read is still held to the limit. A larger file is refused before it is read.
pub fn read_capped(path: &Path, limit: u64) -> Result<Vec<u8>, CappedRead> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(CappedRead::Io)?;
    let len = file.metadata().map_err(CappedRead::Io)?.len();
    if len > limit {
        return Err(CappedRead::TooLarge(len));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(CappedRead::Io)?;
    if bytes.len() as u64 > limit {
        return Err(CappedRead::TooLarge(bytes.len() as u64));
    }
    Ok(bytes)
}

/// Whether a path names a rule file (`.yml` or `.yaml`).
pub fn is_rule_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"))
}

/// Expands files and folders (recursively) into a sorted list of rule files. Missing paths are
/// returned as errors.
pub fn collect_rule_files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<(PathBuf, String)>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        if path.is_dir() {
            for entry in walkdir::WalkDir::new(path).follow_links(true) {
                match entry {
                    Ok(e) if e.file_type().is_file() && is_rule_file(e.path()) => {
                        files.push(e.into_path())
                    }
                    Ok(_) => {}
                    Err(e) => errors.push((path.clone(), e.to_string())),
                }
            }
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            errors.push((path.clone(), "no such file or directory".into()));
        }
    }
    // Walks list each folder in the file system's order. One path's files share its
    // spelling, and below it walks join names with single separators: their bytes, with the
    // separator below every other byte, compare as the paths do (component by component),
    // and each file is found once. Sorting each folder's entries by name as it was walked
    // cost 5% of a hunt's start-up with the 2,407 Windows rules, comparing paths by
    // component twice that.
    if let [_] = paths {
        files.sort_by_cached_key(|path| separators_lowest(path));
    } else {
        files.sort();
        files.dedup();
    }
    errors.sort();
    debug_assert!(files.is_sorted());
    (files, errors)
}

/// The bytes of `path` with each `/` (each separator, on Windows) made 0, which no name holds.
fn separators_lowest(path: &Path) -> Vec<u8> {
    let mut key = path.as_os_str().as_encoded_bytes().to_vec();
    for byte in &mut key {
        if std::path::is_separator(char::from(*byte)) {
            *byte = 0;
        }
    }
    key
}

/// Every rule file of a run, in a deterministic order (sorted paths).
#[derive(Debug, Default)]
pub struct RuleSet {
    pub files: Vec<RuleFile>,
}

/// A reference to one document of a [`RuleSet`].
#[derive(Clone, Copy, Debug)]
pub struct DocRef<'a> {
    pub file: &'a RuleFile,
    pub document: &'a Document,
}

impl<'a> DocRef<'a> {
    pub fn kind(&self) -> Option<&'a DocumentKind> {
        self.document.kind.as_ref()
    }
}

impl RuleSet {
    /// Loads files and folders in parallel.
    pub fn load(paths: &[PathBuf]) -> (RuleSet, Vec<(PathBuf, String)>) {
        Self::load_with(paths, &parse_source)
    }

    /// [`RuleSet::load`], with files parsed before read from `cache` (and new ones added to
    /// it; [`ParseCache::save`] writes them).
    pub fn load_cached(paths: &[PathBuf], cache: &ParseCache) -> (RuleSet, Vec<(PathBuf, String)>) {
        Self::load_with(paths, &|source| cache.parse(source))
    }

    fn load_with(
        paths: &[PathBuf],
        parse: &(dyn Fn(Arc<SourceFile>) -> RuleFile + Sync),
    ) -> (RuleSet, Vec<(PathBuf, String)>) {
        let read = ReadRules::read(paths);
        (RuleSet::parse_read(read.files, parse), read.unreadable)
    }

    /// Parses files read by [`ReadRules::read`] in parallel, with `parse` (the parser itself or
    /// a [`ParseCache`]'s `parse`).
    pub fn parse_read(
        files: Vec<ReadFile>,
        parse: &(dyn Fn(Arc<SourceFile>) -> RuleFile + Sync),
    ) -> RuleSet {
        RuleSet {
            files: files
                .into_par_iter()
                .map(|file| file.parse_with(parse))
                .collect(),
        }
    }

    /// Builds a set from in-memory sources (tests, embedded rule packs).
    pub fn from_sources(sources: impl IntoIterator<Item = Arc<SourceFile>>) -> RuleSet {
        RuleSet {
            files: sources.into_iter().map(parse_source).collect(),
        }
    }

    pub fn extend(&mut self, other: RuleSet) {
        self.files.extend(other.files);
    }

    pub fn documents(&self) -> impl Iterator<Item = DocRef<'_>> {
        self.files.iter().flat_map(|file| {
            file.documents
                .iter()
                .map(move |document| DocRef { file, document })
        })
    }

    /// Every document with its position in [`RuleSet::documents`] as its id (the form rule
    /// compilers take).
    pub fn numbered_documents(&self) -> Vec<(usize, &Document)> {
        self.documents()
            .enumerate()
            .map(|(i, d)| (i, d.document))
            .collect()
    }

    /// Index of documents by `id` and by `name`, for correlation and filter references.
    pub fn index(&self) -> RuleIndex<'_> {
        let mut by_id: HashMap<&str, Vec<DocRef<'_>>> = HashMap::new();
        let mut by_name: HashMap<&str, Vec<DocRef<'_>>> = HashMap::new();
        for doc in self.documents() {
            if let Some(meta) = doc.document.meta() {
                if let Some(id) = meta.id() {
                    by_id.entry(id).or_default().push(doc);
                }
                if let Some(name) = meta.name() {
                    by_name.entry(name).or_default().push(doc);
                }
            }
        }
        RuleIndex { by_id, by_name }
    }

    /// Counts of diagnostics per severity over every file.
    pub fn count(&self, severity: Severity) -> usize {
        self.files
            .iter()
            .flat_map(|f| f.all_diagnostics())
            .filter(|d| d.severity == severity)
            .count()
    }
}

/// Lookup of documents by id or name.
pub struct RuleIndex<'a> {
    pub by_id: HashMap<&'a str, Vec<DocRef<'a>>>,
    pub by_name: HashMap<&'a str, Vec<DocRef<'a>>>,
}

impl<'a> RuleIndex<'a> {
    /// The document a correlation or filter names (an id or a name).
    pub fn resolve(&self, reference: &str) -> Option<DocRef<'a>> {
        self.by_id
            .get(reference)
            .or_else(|| self.by_name.get(reference))
            .and_then(|docs| docs.first().copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_yaml_is_a_file_error_with_position() {
        let file = parse_source(SourceFile::new("x.yml", "title: a\ndetection: [\n"));
        assert!(file.documents.is_empty());
        assert_eq!(file.diagnostics[0].code, "yaml");
        assert!(file.diagnostics[0].span.is_some());
    }

    #[test]
    fn several_documents_per_file() {
        let text = "title: a\nlogsource: {product: x}\ndetection: {s: {F: 1}, condition: s}\n---\ntitle: c\ncorrelation: {type: event_count, rules: [a], group-by: [F], timespan: 1h, condition: {gte: 2}}\n";
        let file = parse_source(SourceFile::new("x.yml", text));
        assert_eq!(file.documents.len(), 2);
        assert_eq!(file.documents[0].kind.as_ref().unwrap().kind_name(), "rule");
        assert_eq!(
            file.documents[1].kind.as_ref().unwrap().kind_name(),
            "correlation"
        );
        assert!(
            file.all_diagnostics().next().is_none(),
            "{:?}",
            file.all_diagnostics().collect::<Vec<_>>()
        );
    }

    #[test]
    fn unreadable_and_non_utf8_files_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.yml");
        std::fs::write(&bad, b"title: caf\xe9\n").unwrap();
        let file = load_file(&bad);
        assert_eq!(file.diagnostics[0].message, "invalid UTF-8 at byte 10");
        let missing = load_file(&dir.path().join("missing.yml"));
        assert!(missing.diagnostics[0].message.starts_with("cannot read"));
    }

    #[test]
    fn oversized_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.yml");
        let file = std::fs::File::create(&big).unwrap();
        file.set_len(MAX_RULE_FILE_BYTES + 1).unwrap();
        let loaded = load_file(&big);
        assert!(loaded.documents.is_empty());
        assert_eq!(
            loaded.diagnostics[0].message,
            "16777217 bytes is too large for a rule file (limit 16777216)"
        );
        file.set_len(MAX_RULE_FILE_BYTES).unwrap();
        let at_limit = load_file(&big);
        assert_ne!(
            at_limit.diagnostics[0].code, "io",
            "{:?}",
            at_limit.diagnostics
        );
    }

    /// Files come in the order of a walk that sorts each folder by name (the path order),
    /// whatever order the file system lists them in.
    #[test]
    fn files_come_in_the_order_of_a_sorted_walk() {
        let dir = tempfile::tempdir().unwrap();
        let names = [
            "b.yml",
            "B.yml",
            "a-b.yml",
            "a.yml",
            "a b.yml",
            "\u{e9}.yml",
            "_.yml",
            "a/z.yml",
            "a/b/y.yml",
            "a.x/c.yml",
            "a-b/d.yml",
        ];
        for name in names {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "").unwrap();
        }
        let sorted_walk: Vec<PathBuf> = walkdir::WalkDir::new(dir.path())
            .sort_by_file_name()
            .into_iter()
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().is_file())
            .map(|e| e.into_path())
            .collect();
        let (files, errors) = collect_rule_files(&[dir.path().to_path_buf()]);
        assert!(errors.is_empty());
        assert_eq!(files.len(), names.len());
        assert_eq!(files, sorted_walk);
    }

    /// Below one spelling of a folder, the keys sort paths as `Path`'s own comparison does:
    /// names that are prefixes of others, dots and dashes (below the separator in ASCII).
    #[test]
    fn separator_keys_sort_as_paths_sort() {
        let suffixes = [
            "a/b", "a.x/c", "a", "a/b/c", "ab", "a-b/c", "b/a", "a/b.yml", "a/b/.yml", "A/b",
            "\u{e9}/x", "a/\u{1}", "a b/c", "a/b c",
        ];
        for root in ["", "/r/", "r//s/", "./r/./"] {
            let paths: Vec<PathBuf> = suffixes
                .iter()
                .map(|s| PathBuf::from(format!("{root}{s}")))
                .collect();
            for a in &paths {
                for b in &paths {
                    assert_eq!(
                        separators_lowest(a).cmp(&separators_lowest(b)),
                        a.cmp(b),
                        "{} and {}",
                        a.display(),
                        b.display()
                    );
                }
            }
        }
    }

    #[test]
    fn folders_are_walked_in_sorted_order() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        for name in ["b.yml", "a.yaml", "sub/c.yml", "notes.txt"] {
            std::fs::write(dir.path().join(name), "title: x\n").unwrap();
        }
        let (files, errors) =
            collect_rule_files(&[dir.path().to_path_buf(), dir.path().join("nope")]);
        let names: Vec<String> = files
            .iter()
            .map(|f| f.strip_prefix(dir.path()).unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["a.yaml", "b.yml", "sub/c.yml"]);
        assert_eq!(errors.len(), 1);
    }
}
