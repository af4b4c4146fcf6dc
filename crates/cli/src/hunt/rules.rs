//! The rules a hunt runs: the built-in pack and/or rule folders, narrowed by the user's
//! filters, each with the metadata its alerts carry.

use crate::rule_cache::RuleLoader;
use sigrun_rule::{Diagnostic, Document, Level, RuleSet, Severity, SourceFile, Status};
use std::path::PathBuf;

/// What to load and which rules to keep.
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
#[derive(Clone, Debug)]
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
pub struct Skipped {
    pub path: String,
    pub title: String,
    pub reason: String,
}

pub struct LoadedRules {
    pub set: RuleSet,
    /// Documents to compile: (id, document); ids index `info`.
    pub selected: Vec<(usize, usize, usize)>,
    pub info: Vec<RuleInfo>,
    /// Documents with errors (listed with their first error) and paths that could not be read.
    pub skipped: Vec<Skipped>,
    /// Rules left out by the filters (not a problem).
    pub filtered_out: usize,
    /// Sigma filters that did not apply where they said they would.
    pub filter_problems: Vec<sigrun_rule::filter::FilterProblem>,
}

impl LoadedRules {
    pub fn document(&self, file: usize, doc: usize) -> &Document {
        &self.set.files[file].documents[doc]
    }
}

pub fn load(selection: &RuleSelection, loader: &RuleLoader) -> LoadedRules {
    let mut set = if selection.paths.is_empty() || selection.with_builtin {
        RuleSet::from_sources(
            sigrun_pack::rules()
                .iter()
                .map(|rule| SourceFile::new(format!("builtin/{}", rule.file_name), rule.text)),
        )
    } else {
        RuleSet::default()
    };
    let mut skipped = Vec::new();
    if !selection.paths.is_empty() {
        let (loaded, unreadable) = loader.load(&selection.paths);
        set.extend(loaded);
        skipped.extend(unreadable.into_iter().map(|(path, reason)| Skipped {
            path: path.display().to_string(),
            title: String::new(),
            reason,
        }));
    }

    let (filter_set, unreadable) = loader.load(&selection.filters);
    skipped.extend(unreadable.into_iter().map(|(path, reason)| Skipped {
        path: path.display().to_string(),
        title: String::new(),
        reason: format!("filters: {reason}"),
    }));
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
        info,
        skipped,
        filtered_out,
        filter_problems: filtering.problems,
    }
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
