//! Every `attack.` tag of the SigmaHQ rules in the shared corpus, resolved against the
//! embedded ATT&CK v18.1 data.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sigrun_attack::{AttackData, TagResolution};

/// `$SIGRUN_SHARED`, else `../shared` next to the workspace root.
fn shared_dir() -> PathBuf {
    match std::env::var_os("SIGRUN_SHARED") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    }
}

/// The `.yml` files under `dir`, recursively.
fn rule_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rule_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yml") {
            out.push(path);
        }
    }
}

/// The `attack.` items of YAML block lists (`    - attack.t1059  # comment`), quotes and
/// comments removed. Rules keep tags in one block list, so no YAML parser is needed.
fn attack_tags(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter_map(|line| {
        let item = line.trim_start().strip_prefix("- ")?;
        let item = item
            .split_once(" #")
            .map_or(item, |(value, _comment)| value)
            .trim();
        let item = item.trim_matches(|c| c == '\'' || c == '"');
        item.starts_with("attack.").then_some(item)
    })
}

/// A category name for each resolution, to count them.
fn category(resolution: &TagResolution<'_>) -> &'static str {
    match resolution {
        TagResolution::OtherNamespace => "other namespace",
        TagResolution::Tactic(_) => "tactic",
        TagResolution::LegacyTacticName { .. } => "legacy tactic name",
        TagResolution::Technique(t) if t.is_subtechnique() => "sub-technique",
        TagResolution::Technique(_) => "technique",
        TagResolution::Object(_) => "object",
        TagResolution::DeprecatedTechnique(_) => "deprecated technique",
        TagResolution::DeprecatedObject(_) => "deprecated object",
        TagResolution::Revoked(_) => "revoked",
        TagResolution::UnknownId { .. } => "unknown id",
        TagResolution::KindNotCovered { .. } => "kind not covered",
        TagResolution::UnknownTactic { .. } => "unknown tactic",
        TagResolution::Malformed(_) => "malformed",
    }
}

#[test]
fn sigmahq_attack_tags() {
    let corpus = shared_dir().join("corpus/sigma");
    if !corpus.is_dir() {
        println!("skipped: {} not found", corpus.display());
        return;
    }
    let mut files = Vec::new();
    for dir in [
        "rules",
        "rules-emerging-threats",
        "rules-threat-hunting",
        "rules-placeholder",
        "rules-compliance",
    ] {
        rule_files(&corpus.join(dir), &mut files);
    }
    let data = AttackData::embedded();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut examples: BTreeMap<&str, BTreeMap<String, usize>> = BTreeMap::new();
    for file in &files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for tag in attack_tags(&text) {
            let resolution = data.resolve_tag(tag);
            let category = category(&resolution);
            *counts.entry(category).or_default() += 1;
            *examples
                .entry(category)
                .or_default()
                .entry(tag.to_owned())
                .or_default() += 1;
        }
    }
    let counts: Vec<(&str, usize)> = counts.into_iter().collect();
    let tags_of = |category: &str| -> Vec<&str> {
        examples
            .get(category)
            .into_iter()
            .flatten()
            .map(|(tag, _)| tag.as_str())
            .collect()
    };

    // The SigmaHQ rules of 2026 follow ATT&CK v19, which split Defense Evasion into Stealth
    // and Defense Impairment and added techniques T1685-T1690: against v18.1 those tags are
    // well-formed but unknown. Nothing is malformed or revoked.
    assert_eq!(
        tags_of("unknown tactic"),
        ["attack.defense-impairment", "attack.stealth"]
    );
    assert!(
        tags_of("unknown id")
            .iter()
            .all(|t| ("attack.t1685"..="attack.t1690.999").contains(t))
    );
    assert_eq!(tags_of("malformed"), Vec::<&str>::new());
    assert_eq!(tags_of("revoked"), Vec::<&str>::new());
    assert_eq!(tags_of("deprecated object"), ["attack.ds0005"]);

    let commit = std::fs::read_to_string(corpus.join("COMMIT")).unwrap_or_default();
    if !commit.starts_with("8eaafff") {
        println!(
            "exact counts skipped: corpus commit {} is not 8eaafff",
            commit.trim()
        );
        return;
    }
    assert_eq!(files.len(), 3780);
    assert_eq!(
        counts,
        [
            ("deprecated object", 1),
            ("object", 128),
            ("sub-technique", 2157),
            ("tactic", 4628),
            ("technique", 2108),
            ("unknown id", 244),
            ("unknown tactic", 1509),
        ]
    );
}
