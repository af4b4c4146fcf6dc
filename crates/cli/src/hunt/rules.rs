//! The rules a hunt runs: the built-in pack and/or rule folders, narrowed by the user's
//! filters, each with the metadata its alerts carry.

use crate::digest_index::{DigestIndex, Stamp};
use crate::rule_cache::RuleLoader;
use rayon::prelude::*;
use sigrun_engine::{CompileKey, CompileOptions};
use sigrun_pipeline::Pipeline;
use sigrun_rule::filter::FilterProblem;
use sigrun_rule::loader::{collect_rule_files, read_file};
use sigrun_rule::{
    Diagnostic, Document, Level, ReadFile, ReadRules, RuleSet, Severity, SourceFile, Status,
};
use std::path::PathBuf;

/// What to load and which rules to keep.
#[derive(Debug)]
pub struct RuleSelection {
    pub paths: Vec<PathBuf>,
    /// Keep the built-in pack even when `paths` are given.
    pub with_builtin: bool,
    pub min_level: Option<Level>,
    pub statuses: Vec<Status>,
    pub ids: Vec<String>,
    pub tags: Vec<String>,
    /// Filter rules (Sigma meta filters) applied to the rules before compiling.
    pub filters: Vec<PathBuf>,
}

/// What an alert says about its rule (DRL 1.1: title, id and author travel with every alert).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct RuleInfo {
    pub title: String,
    pub id: String,
    pub author: String,
    pub level: Option<Level>,
    pub status: Option<Status>,
    pub tags: Vec<String>,
    /// `builtin/<file>` for the pack, else the file path.
    pub path: String,
    /// Sigma field names the detection tests, in order, for the table's key fields.
    pub fields: Vec<String>,
}

/// A document that will not run, and why.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Skipped {
    pub path: String,
    pub title: String,
    pub reason: String,
}

/// What a hunt needs of its rules besides the engine: what the alerts say about each rule,
/// and what did not load. The compiled-rule cache keeps it beside the engine.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct RulePlan {
    /// Indexed by the rule ids the engine was compiled with.
    pub info: Vec<RuleInfo>,
    /// Documents with errors (listed with their first error) and paths that could not be read.
    pub skipped: Vec<Skipped>,
    /// Rules left out by the filters (not a problem).
    pub filtered_out: usize,
    /// Sigma filters that did not apply where they said they would.
    pub filter_problems: Vec<FilterProblem>,
}

pub struct LoadedRules {
    pub set: RuleSet,
    /// Documents to compile: (id, file, document); ids index `plan.info`.
    pub selected: Vec<(usize, usize, usize)>,
    pub plan: RulePlan,
}

impl LoadedRules {
    pub fn document(&self, file: usize, doc: usize) -> &Document {
        &self.set.files[file].documents[doc]
    }

    /// The documents to compile, with their ids.
    pub fn documents(&self) -> Vec<(usize, &Document)> {
        self.selected
            .iter()
            .map(|&(id, file, doc)| (id, self.document(file, doc)))
            .collect()
    }
}

/// The files of a hunt's rules and filters, read and not parsed yet.
pub struct RuleFiles {
    builtin: Vec<ReadFile>,
    rules: ReadRules,
    filters: ReadRules,
}

/// Reads the files `selection` names (and takes the built-in pack when it is used).
pub fn read(selection: &RuleSelection) -> RuleFiles {
    let read = |paths: &[PathBuf]| {
        if paths.is_empty() {
            ReadRules::default()
        } else {
            ReadRules::read(paths)
        }
    };
    RuleFiles {
        builtin: builtin_files(selection),
        rules: read(&selection.paths),
        filters: read(&selection.filters),
    }
}

fn builtin_files(selection: &RuleSelection) -> Vec<ReadFile> {
    if !(selection.paths.is_empty() || selection.with_builtin) {
        return Vec::new();
    }
    sigrun_pack::rules()
        .iter()
        .map(|rule| {
            ReadFile::Text(SourceFile::new(
                format!("builtin/{}", rule.file_name),
                rule.text,
            ))
        })
        .collect()
}

/// What the compiled-rule cache's key takes of a hunt's rule and filter files: a digest of
/// each file (its path and text, or why it could not be read) and the paths that could not
/// be read. A hunt whose rules are in the cache needs no more of them, and taking digests
/// holds one file's text per thread at a time instead of every text (the 2,407 Windows rules
/// are 4.4 MB: memory fresh from the kernel, which costs more to touch than the reading).
pub struct RuleDigests {
    builtin: Vec<FileDigest>,
    rules: FileDigests,
    filters: FileDigests,
}

/// Per file its digest, in path order, and the paths that could not be read.
type FileDigests = (Vec<FileDigest>, Vec<(PathBuf, String)>);

/// What a run learnt of its rule files for the digest index: each file's path, its status
/// before it was read, and its digest.
pub type Taken = Vec<(PathBuf, Stamp, u128)>;

/// The digests of the files `selection` names: from `index` for files whose status it
/// remembers, else by reading them; and, when an index is given, what to save in it.
pub fn digests(selection: &RuleSelection, index: Option<&DigestIndex>) -> (RuleDigests, Taken) {
    let digest_each = |paths: &[PathBuf]| -> (FileDigests, Taken) {
        if paths.is_empty() {
            return Default::default();
        }
        let (files, unreadable) = collect_rule_files(paths);
        // The statuses are taken before the files are read: a change while one is read then
        // shows in the next run's status.
        let stamps = match index {
            Some(_) => crate::digest_index::stamps(&files),
            None => vec![None; files.len()],
        };
        let digests: Vec<(FileDigest, Option<Stamp>)> = files
            .par_iter()
            .zip(stamps)
            .map(|(path, stamp)| {
                let known = index
                    .zip(stamp)
                    .and_then(|(index, stamp)| index.get(path, stamp));
                let digest = match known {
                    Some(digest) => (path.clone(), Ok(digest)),
                    None => file_digest(&read_file(path)),
                };
                (digest, stamp)
            })
            .collect();
        let taken = digests
            .iter()
            .filter_map(|((path, digest), stamp)| {
                Some((path.clone(), (*stamp)?, *digest.as_ref().ok()?))
            })
            .collect();
        let digests = digests.into_iter().map(|(digest, _)| digest).collect();
        ((digests, unreadable), taken)
    };
    let (rules, mut taken) = digest_each(&selection.paths);
    let (filters, taken_filters) = digest_each(&selection.filters);
    taken.extend(taken_filters);
    let digests = RuleDigests {
        builtin: builtin_files(selection).iter().map(file_digest).collect(),
        rules,
        filters,
    };
    (digests, taken)
}

impl RuleFiles {
    /// The digests of the files as they were read.
    pub fn digests(&self) -> RuleDigests {
        let of = |read: &ReadRules| {
            (
                read.files.iter().map(file_digest).collect(),
                read.unreadable.clone(),
            )
        };
        RuleDigests {
            builtin: self.builtin.iter().map(file_digest).collect(),
            rules: of(&self.rules),
            filters: of(&self.filters),
        }
    }
}

/// What the key takes of one file: its path, and the hash of its text (the parse cache's key
/// for it) or why it could not be read.
type FileDigest = (PathBuf, Result<u128, String>);

fn file_digest(file: &ReadFile) -> FileDigest {
    let content = match file {
        ReadFile::Text(source) => Ok(xxhash_rust::xxh3::xxh3_128(source.text().as_bytes())),
        ReadFile::Failed(failed) => Err(format!("{:?}", failed.diagnostics)),
    };
    (file.source().path().to_path_buf(), content)
}

/// The key of what [`load`] and compiling with `pipeline` and `options` make of the files
/// `digests` stand for: every file's path and text (a file's parse is fixed by this build of
/// sigrun), the paths that could not be read, the selection, and this build's source.
pub fn plan_key(
    selection: &RuleSelection,
    digests: &RuleDigests,
    pipeline: &Pipeline,
    options: &CompileOptions,
) -> u128 {
    let mut key = CompileKey::new(pipeline, options);
    key.add(env!("SIGRUN_HUNT_FINGERPRINT").as_bytes());
    // The selection's debug form holds its paths; the rule files found under them follow.
    key.add(format!("{selection:?}").as_bytes());
    let mut add_files = |files: &[FileDigest], unreadable: &[(PathBuf, String)]| {
        key.add(&(files.len() as u64).to_le_bytes());
        for (path, content) in files {
            key.add(path.as_os_str().as_encoded_bytes());
            match content {
                Ok(text) => {
                    key.add(b"text");
                    key.add(&text.to_le_bytes());
                }
                Err(failure) => {
                    key.add(b"failed");
                    key.add(failure.as_bytes());
                }
            }
        }
        key.add(format!("{unreadable:?}").as_bytes());
    };
    add_files(&digests.builtin, &[]);
    add_files(&digests.rules.0, &digests.rules.1);
    add_files(&digests.filters.0, &digests.filters.1);
    key.finish()
}

/// Parses `files` (through the parse cache) and chooses the rules `selection` keeps.
pub fn load(selection: &RuleSelection, loader: &RuleLoader, files: RuleFiles) -> LoadedRules {
    let mut set = RuleSet::parse_read(files.builtin, &sigrun_rule::parse_source);
    set.extend(loader.parse(files.rules.files));
    let mut skipped: Vec<Skipped> = unreadable(files.rules.unreadable, "").collect();
    let filter_set = loader.parse(files.filters.files);
    skipped.extend(unreadable(files.filters.unreadable, "filters: "));
    let filtering = sigrun_rule::filter::apply_filters(&mut set, &filter_set);

    let mut selected = Vec::new();
    let mut info = Vec::new();
    let mut filtered_out = 0;
    for (file_index, file) in set.files.iter().enumerate() {
        let path = file.path().display().to_string();
        if file.documents.is_empty() {
            if let Some(error) = first_error(file.all_diagnostics()) {
                skipped.push(Skipped {
                    path: located(file, error),
                    title: String::new(),
                    reason: error.message.clone(),
                });
            }
            continue;
        }
        for (doc_index, document) in file.documents.iter().enumerate() {
            let Some(meta) = document.meta() else {
                continue;
            };
            // Filters have been merged into the rules they apply to.
            if matches!(document.kind, Some(sigrun_rule::DocumentKind::Filter(_))) {
                continue;
            }
            if let Some(error) = first_error(document.diagnostics.iter()) {
                skipped.push(Skipped {
                    path: located(file, error),
                    title: meta.title().to_string(),
                    reason: error.message.clone(),
                });
                continue;
            }
            if !keep(selection, document) {
                filtered_out += 1;
                continue;
            }
            let fields = document.rule().map(detection_fields).unwrap_or_default();
            selected.push((info.len(), file_index, doc_index));
            info.push(RuleInfo {
                title: meta.title().to_string(),
                id: meta.id().unwrap_or_default().to_string(),
                author: meta.author().to_string(),
                level: meta.level(),
                status: meta.status(),
                tags: meta.tags.iter().map(|t| t.value.clone()).collect(),
                path: path.clone(),
                fields,
            });
        }
    }
    LoadedRules {
        set,
        selected,
        plan: RulePlan {
            info,
            skipped,
            filtered_out,
            filter_problems: filtering.problems,
        },
    }
}

/// The paths that could not be read, as skipped rules whose reason starts with `what`.
fn unreadable(paths: Vec<(PathBuf, String)>, what: &str) -> impl Iterator<Item = Skipped> {
    paths.into_iter().map(move |(path, reason)| Skipped {
        path: path.display().to_string(),
        title: String::new(),
        reason: format!("{what}{reason}"),
    })
}

fn first_error<'a>(
    mut diagnostics: impl Iterator<Item = &'a Diagnostic>,
) -> Option<&'a Diagnostic> {
    diagnostics.find(|d| d.severity == Severity::Error)
}

fn located(file: &sigrun_rule::RuleFile, diagnostic: &Diagnostic) -> String {
    match diagnostic.line_col(&file.source) {
        Some(at) => format!("{}:{at}", file.path().display()),
        None => file.path().display().to_string(),
    }
}

/// Whether a document passes the level, status, id and tag filters. Correlations and filters
/// are kept so that the engine reports them (they are not matched on their own).
fn keep(selection: &RuleSelection, document: &Document) -> bool {
    let Some(meta) = document.meta() else {
        return false;
    };
    if let Some(min) = selection.min_level
        && meta.level().is_none_or(|level| level < min)
    {
        return false;
    }
    if !selection.statuses.is_empty()
        && meta
            .status()
            .is_none_or(|s| !selection.statuses.contains(&s))
    {
        return false;
    }
    if !selection.ids.is_empty()
        && meta.id().is_none_or(|id| {
            !selection
                .ids
                .iter()
                .any(|want| want.eq_ignore_ascii_case(id))
        })
    {
        return false;
    }
    if !selection.tags.is_empty()
        && !meta.tags.iter().any(|tag| {
            selection.tags.iter().any(|want| {
                tag.value.eq_ignore_ascii_case(want)
                    || tag
                        .value
                        .to_ascii_lowercase()
                        .starts_with(&format!("{}.", want.to_ascii_lowercase()))
            })
        })
    {
        return false;
    }
    true
}

/// The Sigma field names a rule's detection tests, first appearance first, at most five.
fn detection_fields(rule: &sigrun_rule::SigmaRule) -> Vec<String> {
    let mut fields: Vec<String> = Vec::new();
    for search in &rule.detection.searches {
        for item in search.search.items() {
            if let Some(name) = item.field_name()
                && !fields.iter().any(|f| f == name)
                && !matches!(name, "EventID" | "Channel" | "Provider_Name")
            {
                fields.push(name.to_string());
            }
        }
    }
    fields.truncate(5);
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selection(paths: Vec<PathBuf>) -> RuleSelection {
        RuleSelection {
            paths,
            with_builtin: true,
            min_level: None,
            statuses: Vec::new(),
            ids: Vec::new(),
            tags: Vec::new(),
            filters: Vec::new(),
        }
    }

    /// The key of a hunt's files before they are read for compiling (digests alone) and
    /// after (the texts): the same files, the same key, or the cache would never be found.
    #[test]
    fn digests_and_texts_give_the_same_key_and_a_changed_file_another() {
        let folder = tempfile::tempdir().expect("tempdir");
        let rule = folder.path().join("a.yml");
        std::fs::write(&rule, "title: a\nlogsource: {product: windows}\n").expect("write");
        std::fs::write(folder.path().join("b.yml"), b"title: \xff\n").expect("write");
        let selection = selection(vec![
            folder.path().to_path_buf(),
            folder.path().join("missing.yml"),
        ]);
        let pipeline = Pipeline::builtin("windows").expect("pipeline");
        let options = CompileOptions::default();
        let key = |digests: &RuleDigests| plan_key(&selection, digests, pipeline, &options);
        let before = key(&digests(&selection, None).0);
        assert_eq!(before, key(&read(&selection).digests()));
        std::fs::write(&rule, "title: b\nlogsource: {product: windows}\n").expect("write");
        let after = key(&digests(&selection, None).0);
        assert_ne!(before, after);
        assert_eq!(after, key(&read(&selection).digests()));
    }
}
