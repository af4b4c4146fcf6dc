//! Resolution of Sigma tags of the `attack` namespace (Sigma tags appendix v2.1.0):
//! `attack.<tactic shortname>`, `attack.tNNNN[.NNN]`, `attack.gNNNN`, `attack.sNNNN`,
//! `attack.mNNNN`, `attack.dsNNNN` and `attack.aNNNN`.

use std::fmt;

use crate::data::AttackData;
use crate::model::{AttackObject, Kind, ObjectKind, Revocation, Status, Tactic, Technique};

/// The namespace this module resolves.
const NAMESPACE: &str = "attack.";

/// What a tag names, judged against one [`AttackData`].
///
/// With `data.version()` a caller can write messages such as "tag attack.t1084 is revoked
/// in ATT&CK v18.1; use attack.t1546.003" ([`Revocation::replacement_tag`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TagResolution<'a> {
    /// The tag is not in the `attack` namespace (`car.2016-04-005`, `tlp.amber`, …).
    OtherNamespace,
    /// A tactic, written in the current form (`attack.privilege-escalation`).
    Tactic(&'a Tactic),
    /// A tactic written with underscores (`attack.privilege_escalation`): valid in Sigma 1.x,
    /// replaced by the dash form in Sigma 2.0.
    LegacyTacticName {
        /// The tactic meant.
        tactic: &'a Tactic,
        /// The tag to write instead, e.g. `attack.privilege-escalation`.
        corrected_tag: String,
    },
    /// An active technique or sub-technique.
    Technique(&'a Technique),
    /// An active group, software, mitigation, data source or asset.
    Object(&'a AttackObject),
    /// A deprecated technique or sub-technique: it still exists but has no replacement.
    DeprecatedTechnique(&'a Technique),
    /// A deprecated object (in ATT&CK v18 every data source is deprecated).
    DeprecatedObject(&'a AttackObject),
    /// A revoked id; the revocation gives the replacement.
    Revoked(&'a Revocation),
    /// A well-formed id that the data does not hold (`attack.t9999`).
    UnknownId {
        /// What the id form stands for.
        kind: Kind,
        /// The id, upper case (`T9999`).
        id: String,
    },
    /// A well-formed id of a kind the data holds nothing of, so it cannot be checked: the
    /// Enterprise data has no assets (`attack.a0001` belongs to ATT&CK for ICS).
    KindNotCovered {
        /// The kind missing from the data.
        kind: ObjectKind,
        /// The id, upper case.
        id: String,
    },
    /// A word that has the form of a tactic shortname but names no tactic of the data, e.g.
    /// `attack.stealth` (an ATT&CK v19 tactic) against ATT&CK v18.1.
    UnknownTactic {
        /// The name after `attack.`.
        name: String,
    },
    /// Not a valid tag of the `attack` namespace.
    Malformed(MalformedTag),
}

/// Why a tag of the `attack` namespace is not valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MalformedTag {
    /// Nothing follows `attack.`.
    Empty,
    /// The tag has upper-case letters; Sigma tags are lower case (`attack.T1059` is not
    /// valid, `attack.t1059` is).
    NotLowercase,
    /// Letters and digits, but the letters are no Sigma `attack` id prefix: Sigma has no
    /// tag for tactic ids (`ta0003`), campaigns (`c0001`) or data components (`dc0001`).
    UnknownIdPrefix,
    /// The right prefix with the wrong digits (`t123`, `t1059.1`, `g00016`).
    BadIdDigits,
    /// Anything else: blanks, dots or other characters where they cannot be.
    Unrecognized,
}

impl fmt::Display for MalformedTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MalformedTag::Empty => "nothing follows `attack.`",
            MalformedTag::NotLowercase => "Sigma tags are lower case",
            MalformedTag::UnknownIdPrefix => {
                "an ATT&CK id tag starts with t, g, s, m, ds or a (tactics are named by shortname)"
            }
            MalformedTag::BadIdDigits => {
                "an ATT&CK id has 4 digits, and a sub-technique 3 more after a dot (t1546.003)"
            }
            MalformedTag::Unrecognized => "neither an ATT&CK id nor a tactic shortname",
        })
    }
}

/// Resolves `tag` against `data`.
pub(crate) fn resolve<'a>(data: &'a AttackData, tag: &str) -> TagResolution<'a> {
    let Some(name) = tag.strip_prefix(NAMESPACE) else {
        let namespace_in_other_case = tag
            .get(..NAMESPACE.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(NAMESPACE));
        return if namespace_in_other_case {
            TagResolution::Malformed(MalformedTag::NotLowercase)
        } else {
            TagResolution::OtherNamespace
        };
    };
    if name.is_empty() {
        return TagResolution::Malformed(MalformedTag::Empty);
    }
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        return TagResolution::Malformed(MalformedTag::NotLowercase);
    }
    match shape_of(name) {
        Shape::Word => resolve_tactic(data, name),
        Shape::Id { prefix } => resolve_id(data, name, prefix),
        Shape::Other => TagResolution::Malformed(MalformedTag::Unrecognized),
    }
}

/// The forms a tag name can take.
enum Shape<'t> {
    /// Lower-case words joined by single `-` or `_`: a tactic shortname.
    Word,
    /// Letters followed by digits and dots: an id with this letter prefix.
    Id { prefix: &'t str },
    /// Neither.
    Other,
}

fn shape_of(name: &str) -> Shape<'_> {
    let is_word = name
        .split(['-', '_'])
        .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()));
    if is_word {
        return Shape::Word;
    }
    let digits_at = name
        .find(|c: char| !c.is_ascii_lowercase())
        .unwrap_or(name.len());
    let (prefix, number) = name.split_at(digits_at);
    let is_number = number.starts_with(|c: char| c.is_ascii_digit())
        && number.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    if !prefix.is_empty() && is_number {
        Shape::Id { prefix }
    } else {
        Shape::Other
    }
}

fn resolve_tactic<'a>(data: &'a AttackData, name: &str) -> TagResolution<'a> {
    if let Some(tactic) = data.tactic_by_shortname(name) {
        return TagResolution::Tactic(tactic);
    }
    if name.contains('_') {
        let dashed = name.replace('_', "-");
        if let Some(tactic) = data.tactic_by_shortname(&dashed) {
            return TagResolution::LegacyTacticName {
                tactic,
                corrected_tag: tactic.tag(),
            };
        }
    }
    TagResolution::UnknownTactic {
        name: name.to_owned(),
    }
}

fn resolve_id<'a>(data: &'a AttackData, name: &str, prefix: &str) -> TagResolution<'a> {
    // The id prefixes of the Sigma tags appendix v2.1.0.
    let expected = match prefix {
        "t" => None,
        "g" => Some(ObjectKind::Group),
        "s" => Some(ObjectKind::Software),
        "m" => Some(ObjectKind::Mitigation),
        "ds" => Some(ObjectKind::DataSource),
        "a" => Some(ObjectKind::Asset),
        _ => return TagResolution::Malformed(MalformedTag::UnknownIdPrefix),
    };
    let Some(kind) = Kind::of_id(name) else {
        return TagResolution::Malformed(MalformedTag::BadIdDigits);
    };
    if let Some(revocation) = data.revocation(name) {
        return TagResolution::Revoked(revocation);
    }
    let id = || name.to_ascii_uppercase();
    match expected {
        None => match data.technique(name) {
            Some(t) if t.status() == Status::Active => TagResolution::Technique(t),
            Some(t) => TagResolution::DeprecatedTechnique(t),
            None => TagResolution::UnknownId { kind, id: id() },
        },
        Some(object_kind) => match data.object(name) {
            Some(o) if o.status() == Status::Active => TagResolution::Object(o),
            Some(o) => TagResolution::DeprecatedObject(o),
            None if !data.covers(object_kind) => TagResolution::KindNotCovered {
                kind: object_kind,
                id: id(),
            },
            None => TagResolution::UnknownId { kind, id: id() },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert!(matches!(shape_of("command-and-control"), Shape::Word));
        assert!(matches!(shape_of("command_and-control"), Shape::Word));
        assert!(matches!(shape_of("ds0009"), Shape::Id { prefix: "ds" }));
        assert!(matches!(shape_of("t1546.003"), Shape::Id { prefix: "t" }));
        assert!(matches!(shape_of("t1059.1"), Shape::Id { prefix: "t" }));
        for other in [
            "-x", "x-", "a--b", "t1059x", "1234", "t.1059", "t 1059", "é", "ta0003b",
        ] {
            assert!(matches!(shape_of(other), Shape::Other), "{other}");
        }
    }
}
