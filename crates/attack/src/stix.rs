//! Loader of official MITRE ATT&CK STIX 2.x bundles (`enterprise-attack.json` of
//! mitre-attack/attack-stix-data, and the ICS and Mobile bundles).
//!
//! What is read:
//!
//! | STIX type | becomes |
//! | --- | --- |
//! | `x-mitre-tactic` | a [`Tactic`] (`x_mitre_shortname`), ordered by the `tactic_refs` of the `x-mitre-matrix` |
//! | `attack-pattern` | a [`Technique`], its tactics from `kill_chain_phases` |
//! | `intrusion-set`, `malware`, `tool`, `course-of-action`, `campaign`, `x-mitre-data-source`, `x-mitre-data-component`, `x-mitre-asset` | an [`AttackObject`] |
//! | `relationship` of type `revoked-by` | the successor of a revoked object |
//! | `x-mitre-collection` | the ATT&CK version (`x_mitre_version`) |
//! | `x-mitre-matrix` | the domain (its `mitre-attack` external id) and the tactic order |
//!
//! An object's ATT&CK id is the `external_id` of its `mitre-attack` external reference;
//! objects without one are left out, and so are the course-of-action objects named after
//! techniques (`T1001`, all deprecated) that predate `Mnnnn` mitigations. Objects flagged
//! `revoked` become [`Revocation`]s, `x_mitre_deprecated` ones keep
//! [`Status::Deprecated`]. Revoked or deprecated tactics are left out. Other types are
//! ignored.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;

use crate::data::{AttackData, Parts};
use crate::error::{AttackError, StixProblem};
use crate::model::{
    AttackObject, Kind, ObjectKind, Revocation, Status, Successor, Tactic, Technique,
};

/// `source_name`s of external references that carry ATT&CK ids. Current bundles of every
/// domain use `mitre-attack`; older Mobile and ICS bundles used their own names.
const ATTACK_SOURCES: [&str; 3] = ["mitre-attack", "mitre-mobile-attack", "mitre-ics-attack"];

#[derive(Deserialize)]
struct Bundle {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    objects: Vec<StixObject>,
}

/// The fields of any STIX object that the loader reads; the others are skipped.
#[derive(Deserialize, Default)]
#[serde(default)]
struct StixObject {
    #[serde(rename = "type")]
    kind: String,
    id: String,
    name: Option<String>,
    revoked: Option<bool>,
    x_mitre_deprecated: Option<bool>,
    external_references: Vec<ExternalReference>,
    kill_chain_phases: Vec<KillChainPhase>,
    x_mitre_shortname: Option<String>,
    x_mitre_version: Option<String>,
    tactic_refs: Vec<String>,
    relationship_type: Option<String>,
    source_ref: Option<String>,
    target_ref: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ExternalReference {
    source_name: String,
    external_id: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct KillChainPhase {
    kill_chain_name: String,
    phase_name: String,
}

impl StixObject {
    fn attack_id(&self) -> Option<&str> {
        self.external_references
            .iter()
            .find(|r| ATTACK_SOURCES.contains(&r.source_name.as_str()))
            .and_then(|r| r.external_id.as_deref())
    }

    fn is_revoked(&self) -> bool {
        self.revoked.unwrap_or(false)
    }

    fn status(&self) -> Status {
        if self.x_mitre_deprecated.unwrap_or(false) {
            Status::Deprecated
        } else {
            Status::Active
        }
    }

    fn name(&self) -> Result<String, AttackError> {
        match self.name.as_deref().map(str::trim) {
            Some(name) if !name.is_empty() => Ok(name.to_owned()),
            _ => Err(self.problem(StixProblem::MissingField("name"))),
        }
    }

    fn problem(&self, problem: StixProblem) -> AttackError {
        AttackError::StixObject {
            stix_id: self.id.clone(),
            problem,
        }
    }
}

/// What an ATT&CK-bearing STIX type stands for.
#[derive(Clone, Copy)]
enum Role {
    Tactic,
    Technique,
    Object(ObjectKind),
}

fn role_of(stix_type: &str) -> Option<Role> {
    Some(match stix_type {
        "x-mitre-tactic" => Role::Tactic,
        "attack-pattern" => Role::Technique,
        "intrusion-set" => Role::Object(ObjectKind::Group),
        "malware" | "tool" => Role::Object(ObjectKind::Software),
        "course-of-action" => Role::Object(ObjectKind::Mitigation),
        "campaign" => Role::Object(ObjectKind::Campaign),
        "x-mitre-data-source" => Role::Object(ObjectKind::DataSource),
        "x-mitre-data-component" => Role::Object(ObjectKind::DataComponent),
        "x-mitre-asset" => Role::Object(ObjectKind::Asset),
        _ => return None,
    })
}

/// Loads a bundle.
pub(crate) fn load(bytes: &[u8]) -> Result<AttackData, AttackError> {
    let bundle: Bundle = serde_json::from_slice(bytes)?;
    if bundle.kind != "bundle" {
        return Err(AttackError::NotABundle { found: bundle.kind });
    }
    let objects = &bundle.objects;
    let first_of = |stix_type: &str| objects.iter().find(|o| o.kind == stix_type);
    let mut parts = Parts {
        version: first_of("x-mitre-collection").and_then(|o| o.x_mitre_version.clone()),
        domain: first_of("x-mitre-matrix").and_then(|o| o.attack_id().map(str::to_owned)),
        ..Parts::default()
    };
    let tactic_order = tactic_order(objects);
    let revoked_by = revoked_by_relationships(objects)?;
    // STIX id → ATT&CK id of every entry, to name revoked-by targets.
    let mut attack_ids: HashMap<&str, String> = HashMap::new();
    let mut revoked: Vec<(&StixObject, Kind, String)> = Vec::new();

    for object in objects {
        let Some((role, kind, id)) = attack_entry(object)? else {
            continue;
        };
        attack_ids.insert(object.id.as_str(), id.clone());
        if object.is_revoked() {
            if kind != Kind::Tactic {
                revoked.push((object, kind, id));
            }
            continue;
        }
        match role {
            Role::Tactic if object.status() == Status::Active => {
                parts.tactics.push(tactic(object, id, &tactic_order)?);
            }
            Role::Tactic => {}
            Role::Technique => {
                let technique =
                    Technique::new(id, object.name()?, object.status(), tactics_of(object));
                parts.techniques.push(technique);
            }
            Role::Object(kind) => {
                let entry = AttackObject::new(kind, id, object.name()?, object.status());
                parts.objects.push(entry);
            }
        }
    }

    let revoked_ids: HashSet<&str> = revoked.iter().map(|(o, _, _)| o.id.as_str()).collect();
    for (object, kind, id) in revoked {
        let successor = successor(object, &revoked_by, &revoked_ids, &attack_ids)?;
        parts
            .revocations
            .push(Revocation::new(kind, id, object.name()?, successor));
    }
    number_unordered_tactics(&mut parts.tactics);
    AttackData::assemble(parts)
}

/// The role, kind and upper-case ATT&CK id of an object, or `None` for objects that are
/// no ATT&CK entry: other STIX types, objects without a `mitre-attack` id, and the
/// course-of-action objects named after techniques (`T1001`) from before mitigations had
/// `Mnnnn` ids.
fn attack_entry(object: &StixObject) -> Result<Option<(Role, Kind, String)>, AttackError> {
    let (Some(role), Some(raw_id)) = (role_of(&object.kind), object.attack_id()) else {
        return Ok(None);
    };
    let id = raw_id.to_ascii_uppercase();
    let found = Kind::of_id(&id);
    let expected = match role {
        Role::Tactic => Kind::Tactic,
        Role::Technique if found == Some(Kind::SubTechnique) => Kind::SubTechnique,
        Role::Technique => Kind::Technique,
        Role::Object(ObjectKind::Mitigation) if found == Some(Kind::Technique) => return Ok(None),
        Role::Object(kind) => kind.into(),
    };
    if found != Some(expected) {
        let problem = StixProblem::BadId {
            id: raw_id.to_owned(),
            kind: expected,
        };
        return Err(object.problem(problem));
    }
    Ok(Some((role, expected, id)))
}

/// The tactic shortnames of a technique: the phases of its ATT&CK kill chains
/// (`mitre-attack`, `mitre-ics-attack`, …), not those of other kill chains.
fn tactics_of(object: &StixObject) -> Vec<String> {
    object
        .kill_chain_phases
        .iter()
        .filter(|p| p.kill_chain_name.starts_with("mitre-") && !p.phase_name.is_empty())
        .map(|p| p.phase_name.clone())
        .collect()
}

/// STIX id of each tactic → its 1-based column in the matrices, in bundle order.
fn tactic_order(objects: &[StixObject]) -> HashMap<&str, u16> {
    let mut order = HashMap::new();
    let refs = objects
        .iter()
        .filter(|o| o.kind == "x-mitre-matrix")
        .flat_map(|m| &m.tactic_refs);
    for tactic_ref in refs {
        let next = u16::try_from(order.len() + 1).unwrap_or(u16::MAX);
        order.entry(tactic_ref.as_str()).or_insert(next);
    }
    order
}

/// A tactic; its order is 0 when no matrix lists it ([`number_unordered_tactics`] fixes it).
fn tactic(
    object: &StixObject,
    id: String,
    order: &HashMap<&str, u16>,
) -> Result<Tactic, AttackError> {
    let shortname = match object.x_mitre_shortname.as_deref() {
        Some(s) if !s.is_empty() => s.to_owned(),
        _ => return Err(object.problem(StixProblem::MissingField("x_mitre_shortname"))),
    };
    let order = order.get(object.id.as_str()).copied().unwrap_or(0);
    Ok(Tactic::new(id, shortname, object.name()?, order))
}

/// Puts tactics that no matrix lists after the listed ones, by id.
fn number_unordered_tactics(tactics: &mut Vec<Tactic>) {
    tactics.sort_by_key(|t| (t.order() == 0, t.order(), t.id().to_owned()));
    let mut last = 0u16;
    for tactic in std::mem::take(tactics) {
        let tactic = if tactic.order() == 0 {
            tactic.with_order(last.saturating_add(1))
        } else {
            tactic
        };
        last = tactic.order();
        tactics.push(tactic);
    }
}

/// Source STIX id → target STIX id of every `revoked-by` relationship that is itself
/// neither revoked nor deprecated.
fn revoked_by_relationships(objects: &[StixObject]) -> Result<HashMap<&str, &str>, AttackError> {
    let mut map = HashMap::new();
    let relationships = objects.iter().filter(|o| {
        o.kind == "relationship"
            && o.relationship_type.as_deref() == Some("revoked-by")
            && !o.is_revoked()
            && o.status() == Status::Active
    });
    for relationship in relationships {
        let (Some(source), Some(target)) = (&relationship.source_ref, &relationship.target_ref)
        else {
            let field = if relationship.source_ref.is_none() {
                "source_ref"
            } else {
                "target_ref"
            };
            return Err(relationship.problem(StixProblem::MissingField(field)));
        };
        if map.insert(source.as_str(), target.as_str()).is_some() {
            return Err(AttackError::StixObject {
                stix_id: source.clone(),
                problem: StixProblem::AmbiguousRevocation,
            });
        }
    }
    Ok(map)
}

/// Where a revoked object leads: the direct target, and the end of the chain when every
/// link is in the bundle.
fn successor(
    object: &StixObject,
    revoked_by: &HashMap<&str, &str>,
    revoked: &HashSet<&str>,
    attack_ids: &HashMap<&str, String>,
) -> Result<Option<Successor>, AttackError> {
    let Some(direct) = revoked_by.get(object.id.as_str()) else {
        return Ok(None);
    };
    let Some(direct_id) = attack_ids.get(direct) else {
        return Ok(None);
    };
    let mut seen: HashSet<&str> = HashSet::from([object.id.as_str()]);
    let mut current: &str = direct;
    while revoked.contains(current) {
        if !seen.insert(current) {
            return Err(object.problem(StixProblem::RevocationCycle));
        }
        match revoked_by.get(current) {
            Some(next) => current = next,
            None => {
                return Ok(Some(Successor {
                    revoked_by: direct_id.clone(),
                    replacement: None,
                }));
            }
        }
    }
    let replacement = attack_ids.get(current).cloned();
    Ok(Some(Successor {
        revoked_by: direct_id.clone(),
        replacement,
    }))
}
