//! Cross-check of the embedded table with `reference/attack-enterprise.json` of the shared
//! directory (same ATT&CK v18.1 release, built independently from mitre/cti).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;
use sigrun_attack::{AttackData, Status, Technique};

/// `$SIGRUN_SHARED`, else `../shared` next to the workspace root.
fn shared_dir() -> PathBuf {
    match std::env::var_os("SIGRUN_SHARED") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    }
}

fn load_reference() -> Option<Value> {
    let path = shared_dir().join("reference/attack-enterprise.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        println!("skipped: {} not found", path.display());
        return None;
    };
    match serde_json::from_str(&text) {
        Ok(value) => Some(value),
        Err(err) => panic!("{}: {err}", path.display()),
    }
}

fn str_of(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap_or_default().to_owned()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

/// id → (name, sub-technique?, tactics) of a list of reference techniques.
fn reference_techniques(list: &Value) -> BTreeMap<String, (String, bool, Vec<String>)> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            let sub = t["subtechnique"].as_bool().unwrap_or_default();
            (
                str_of(t, "id"),
                (str_of(t, "name"), sub, strings(&t["tactics"])),
            )
        })
        .collect()
}

fn our_techniques(status: Status) -> BTreeMap<String, (String, bool, Vec<String>)> {
    AttackData::embedded()
        .techniques()
        .iter()
        .filter(|t| t.status() == status)
        .map(|t: &Technique| {
            let tactics = t.tactic_shortnames().map(str::to_owned).collect();
            (
                t.id().to_owned(),
                (t.name().to_owned(), t.is_subtechnique(), tactics),
            )
        })
        .collect()
}

#[test]
fn meta_and_counts() {
    let Some(reference) = load_reference() else {
        return;
    };
    let meta = &reference["meta"];
    assert_eq!(
        meta["attack_version"].as_str(),
        AttackData::embedded().version()
    );
    assert_eq!(meta["domain"].as_str(), AttackData::embedded().domain());
    let counts = &meta["counts"];
    let ours = our_techniques(Status::Active);
    assert_eq!(
        counts["tactics"].as_u64(),
        Some(AttackData::embedded().tactics().len() as u64)
    );
    assert_eq!(
        counts["techniques"].as_u64(),
        Some(ours.values().filter(|t| !t.1).count() as u64)
    );
    assert_eq!(
        counts["subtechniques"].as_u64(),
        Some(ours.values().filter(|t| t.1).count() as u64)
    );
    assert_eq!(
        counts["deprecated"].as_u64(),
        Some(our_techniques(Status::Deprecated).len() as u64)
    );
    assert_eq!(counts["revoked"].as_u64(), Some(132));
}

#[test]
fn tactics_are_identical() {
    let Some(reference) = load_reference() else {
        return;
    };
    let theirs: Vec<(String, String, String, u64)> = reference["tactics"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            (
                str_of(t, "id"),
                str_of(t, "shortname"),
                str_of(t, "name"),
                t["order"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let ours: Vec<(String, String, String, u64)> = AttackData::embedded()
        .tactics()
        .iter()
        .map(|t| {
            (
                t.id().to_owned(),
                t.shortname().to_owned(),
                t.name().to_owned(),
                u64::from(t.order()),
            )
        })
        .collect();
    assert_eq!(ours, theirs);
    for (tactic, value) in AttackData::embedded()
        .tactics()
        .iter()
        .zip(reference["tactics"].as_array().into_iter().flatten())
    {
        assert_eq!(tactic.url(), str_of(value, "url"));
    }
}

#[test]
fn techniques_are_identical() {
    let Some(reference) = load_reference() else {
        return;
    };
    assert_eq!(
        our_techniques(Status::Active),
        reference_techniques(&reference["techniques"])
    );
    assert_eq!(
        our_techniques(Status::Deprecated),
        reference_techniques(&reference["deprecated"])
    );
    for value in reference["techniques"].as_array().into_iter().flatten() {
        let id = str_of(value, "id");
        let ours = AttackData::embedded().technique(&id).map(Technique::url);
        assert_eq!(ours, Some(str_of(value, "url")), "{id}");
    }
}

#[test]
fn revoked_ids_are_identical() {
    let Some(reference) = load_reference() else {
        return;
    };
    let theirs: BTreeMap<String, (String, String, String)> = reference["revoked"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(id, r)| {
            (
                id.clone(),
                (
                    str_of(r, "name"),
                    str_of(r, "revoked_by"),
                    str_of(r, "replacement"),
                ),
            )
        })
        .collect();
    let ours: BTreeMap<String, (String, String, String)> = AttackData::embedded()
        .revocations()
        .iter()
        .filter(|r| r.id().starts_with('T'))
        .map(|r| {
            let revoked_by = r.revoked_by().unwrap_or_default().to_owned();
            let replacement = r.replacement().unwrap_or_default().to_owned();
            (
                r.id().to_owned(),
                (r.name().to_owned(), revoked_by, replacement),
            )
        })
        .collect();
    assert_eq!(ours, theirs);
}
