//! Sigma `attack.` tag resolution against the embedded data (Sigma tags appendix v2.1.0).

use sigrun_attack::{AttackData, Kind, MalformedTag, ObjectKind, TagResolution, resolve_tag};

/// A short, comparable summary of a resolution: variant and the ids or names it carries.
fn summary(tag: &str) -> String {
    match resolve_tag(tag) {
        TagResolution::OtherNamespace => "other namespace".into(),
        TagResolution::Tactic(t) => format!("tactic {} {}", t.id(), t.name()),
        TagResolution::LegacyTacticName {
            tactic,
            corrected_tag,
        } => {
            format!("legacy tactic {} -> {corrected_tag}", tactic.id())
        }
        TagResolution::Technique(t) => format!("technique {} {}", t.id(), t.name()),
        TagResolution::Object(o) => format!("{} {} {}", o.kind(), o.id(), o.name()),
        TagResolution::DeprecatedTechnique(t) => format!("deprecated technique {}", t.id()),
        TagResolution::DeprecatedObject(o) => format!("deprecated {} {}", o.kind(), o.id()),
        TagResolution::Revoked(r) => format!(
            "revoked {} by {} -> {}",
            r.id(),
            r.revoked_by().unwrap_or("?"),
            r.replacement_tag().unwrap_or_default()
        ),
        TagResolution::UnknownId { kind, id } => format!("unknown {kind} {id}"),
        TagResolution::KindNotCovered { kind, id } => format!("no {kind} data for {id}"),
        TagResolution::UnknownTactic { name } => format!("unknown tactic {name}"),
        TagResolution::Malformed(why) => format!("malformed: {why}"),
    }
}

#[test]
fn tactics() {
    assert_eq!(summary("attack.persistence"), "tactic TA0003 Persistence");
    assert_eq!(
        summary("attack.command-and-control"),
        "tactic TA0011 Command and Control"
    );
    assert_eq!(
        summary("attack.reconnaissance"),
        "tactic TA0043 Reconnaissance"
    );
    assert_eq!(
        summary("attack.privilege_escalation"),
        "legacy tactic TA0004 -> attack.privilege-escalation"
    );
    assert_eq!(
        summary("attack.command_and-control"),
        "legacy tactic TA0011 -> attack.command-and-control"
    );
    // ATT&CK v19 splits Defense Evasion into Stealth and Defense Impairment; v18.1 has neither.
    assert_eq!(summary("attack.stealth"), "unknown tactic stealth");
    assert_eq!(
        summary("attack.defense-impairment"),
        "unknown tactic defense-impairment"
    );
    assert_eq!(
        summary("attack.defense_impairment"),
        "unknown tactic defense_impairment"
    );
}

#[test]
fn techniques() {
    assert_eq!(
        summary("attack.t1546.003"),
        "technique T1546.003 Windows Management Instrumentation Event Subscription"
    );
    assert_eq!(
        summary("attack.t1546"),
        "technique T1546 Event Triggered Execution"
    );
    assert_eq!(summary("attack.t1026"), "deprecated technique T1026");
    assert_eq!(summary("attack.t9999"), "unknown technique T9999");
    assert_eq!(
        summary("attack.t1546.999"),
        "unknown sub-technique T1546.999"
    );
}

#[test]
fn revoked_techniques_name_their_replacement() {
    assert_eq!(
        summary("attack.t1084"),
        "revoked T1084 by T1546.003 -> attack.t1546.003"
    );
    assert_eq!(
        summary("attack.t1073"),
        "revoked T1073 by T1574.002 -> attack.t1574.001"
    );
    assert_eq!(
        summary("attack.t1574.002"),
        "revoked T1574.002 by T1574.001 -> attack.t1574.001"
    );
    assert_eq!(
        summary("attack.g0118"),
        "revoked G0118 by G0016 -> attack.g0016"
    );
}

#[test]
fn the_revoked_message_the_linter_needs() {
    let data = AttackData::embedded();
    let tag = "attack.t1084";
    let TagResolution::Revoked(revocation) = data.resolve_tag(tag) else {
        panic!("{tag} should be revoked");
    };
    let message = format!(
        "tag {tag} is revoked in ATT&CK v{}; use {}",
        data.version().unwrap_or("?"),
        revocation.replacement_tag().unwrap_or_default()
    );
    assert_eq!(
        message,
        "tag attack.t1084 is revoked in ATT&CK v18.1; use attack.t1546.003"
    );
}

#[test]
fn other_objects() {
    assert_eq!(summary("attack.g0016"), "group G0016 APT29");
    assert_eq!(
        summary("attack.s0005"),
        "software S0005 Windows Credential Editor"
    );
    assert_eq!(
        summary("attack.m1040"),
        "mitigation M1040 Behavior Prevention on Endpoint"
    );
    assert_eq!(summary("attack.ds0009"), "deprecated data source DS0009");
    assert_eq!(summary("attack.g0014"), "deprecated group G0014");
    assert_eq!(summary("attack.g9999"), "unknown group G9999");
    assert_eq!(summary("attack.ds0099"), "unknown data source DS0099");
    assert_eq!(summary("attack.a0001"), "no asset data for A0001");
}

#[test]
fn malformed_tags() {
    let malformed = |tag: &str| match resolve_tag(tag) {
        TagResolution::Malformed(why) => Some(why),
        _ => None,
    };
    assert_eq!(malformed("attack."), Some(MalformedTag::Empty));
    assert_eq!(malformed("attack.T1059"), Some(MalformedTag::NotLowercase));
    assert_eq!(malformed("ATTACK.t1059"), Some(MalformedTag::NotLowercase));
    assert_eq!(
        malformed("attack.Persistence"),
        Some(MalformedTag::NotLowercase)
    );
    assert_eq!(
        malformed("attack.ta0003"),
        Some(MalformedTag::UnknownIdPrefix)
    );
    assert_eq!(
        malformed("attack.c0001"),
        Some(MalformedTag::UnknownIdPrefix)
    );
    assert_eq!(
        malformed("attack.dc0001"),
        Some(MalformedTag::UnknownIdPrefix)
    );
    assert_eq!(malformed("attack.t123"), Some(MalformedTag::BadIdDigits));
    assert_eq!(malformed("attack.t1059.1"), Some(MalformedTag::BadIdDigits));
    assert_eq!(malformed("attack.t1059."), Some(MalformedTag::BadIdDigits));
    assert_eq!(malformed("attack.g00016"), Some(MalformedTag::BadIdDigits));
    assert_eq!(
        malformed("attack.ds0009.001"),
        Some(MalformedTag::BadIdDigits)
    );
    assert_eq!(malformed("attack.t1059 "), Some(MalformedTag::Unrecognized));
    assert_eq!(
        malformed("attack.-persistence"),
        Some(MalformedTag::Unrecognized)
    );
    assert_eq!(
        malformed("attack.persistence-"),
        Some(MalformedTag::Unrecognized)
    );
    assert_eq!(
        malformed("attack.lateral--movement"),
        Some(MalformedTag::Unrecognized)
    );
    assert_eq!(malformed("attack.t1059x"), Some(MalformedTag::Unrecognized));
    assert_eq!(malformed("attack.1059"), Some(MalformedTag::Unrecognized));
    assert_eq!(
        malformed("attack.persistance!"),
        Some(MalformedTag::Unrecognized)
    );
    assert_eq!(malformed("attack.é"), Some(MalformedTag::Unrecognized));
}

#[test]
fn other_namespaces_are_not_judged() {
    for tag in [
        "car.2016-04-005",
        "cve.2021-44228",
        "tlp.amber",
        "detection.dfir",
        "attack",
        "attacks.t1059",
        "",
        "at",
    ] {
        assert_eq!(resolve_tag(tag), TagResolution::OtherNamespace, "{tag:?}");
    }
    // Multi-byte characters at the namespace boundary must not split a character.
    assert_eq!(resolve_tag("attacké.t1059"), TagResolution::OtherNamespace);
}

#[test]
fn unknown_ids_are_upper_case() {
    assert_eq!(
        resolve_tag("attack.t1546.999"),
        TagResolution::UnknownId {
            kind: Kind::SubTechnique,
            id: "T1546.999".into()
        }
    );
    assert_eq!(
        resolve_tag("attack.a0001"),
        TagResolution::KindNotCovered {
            kind: ObjectKind::Asset,
            id: "A0001".into()
        }
    );
}

#[test]
fn every_embedded_entry_resolves_to_itself() {
    let data = AttackData::embedded();
    for technique in data.techniques() {
        match data.resolve_tag(&technique.tag()) {
            TagResolution::Technique(t) | TagResolution::DeprecatedTechnique(t) => {
                assert_eq!(t, technique)
            }
            other => panic!("{}: {other:?}", technique.id()),
        }
    }
    for tactic in data.tactics() {
        assert_eq!(
            data.resolve_tag(&tactic.tag()),
            TagResolution::Tactic(tactic)
        );
    }
    for object in data.objects() {
        let Some(tag) = object.tag() else { continue };
        match data.resolve_tag(&tag) {
            TagResolution::Object(o) | TagResolution::DeprecatedObject(o) => assert_eq!(o, object),
            other => panic!("{}: {other:?}", object.id()),
        }
    }
    for revocation in data.revocations() {
        let tag = format!("attack.{}", revocation.id().to_ascii_lowercase());
        assert_eq!(data.resolve_tag(&tag), TagResolution::Revoked(revocation));
    }
}
