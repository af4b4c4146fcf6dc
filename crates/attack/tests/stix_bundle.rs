//! Loading MITRE STIX bundles: a hand-written fixture, broken bundles, and arbitrary bytes.

use sigrun_attack::{
    AttackData, AttackError, Kind, ObjectKind, Revocation, Status, StixProblem, Tactic,
    TagResolution, Technique,
};

const FIXTURE: &[u8] = include_bytes!("fixtures/mini-bundle.json");

fn fixture() -> AttackData {
    match AttackData::from_stix_bundle(FIXTURE) {
        Ok(data) => data,
        Err(err) => panic!("fixture: {err}"),
    }
}

/// A bundle holding the given objects (JSON text, comma-separated).
fn bundle(objects: &str) -> Vec<u8> {
    format!(r#"{{"type": "bundle", "id": "bundle--1", "objects": [{objects}]}}"#).into_bytes()
}

/// A STIX object with a `mitre-attack` id and extra JSON members.
fn object(stix_type: &str, n: u32, attack_id: &str, extra: &str) -> String {
    format!(
        r#"{{"type": "{stix_type}", "id": "{stix_type}--{n}", "name": "Object {n}",
            "external_references": [{{"source_name": "mitre-attack", "external_id": "{attack_id}"}}]{extra}}}"#
    )
}

fn revoked_by(n: u32, source: &str, target: &str) -> String {
    format!(
        r#"{{"type": "relationship", "id": "relationship--{n}", "relationship_type": "revoked-by",
            "source_ref": "{source}", "target_ref": "{target}"}}"#
    )
}

#[test]
fn version_domain_and_tactics() {
    let data = fixture();
    assert_eq!(data.version(), Some("99.1"));
    assert_eq!(data.domain(), Some("enterprise-attack"));
    let tactics: Vec<(&str, &str, u16)> = data
        .tactics()
        .iter()
        .map(|t| (t.id(), t.shortname(), t.order()))
        .collect();
    // Ordered by the matrix; a tactic no matrix lists comes last.
    assert_eq!(
        tactics,
        [
            ("TA0002", "execution", 1),
            ("TA0003", "persistence", 2),
            ("TA0099", "orphan", 3)
        ]
    );
}

#[test]
fn techniques() {
    let data = fixture();
    let ids: Vec<(&str, Status)> = data
        .techniques()
        .iter()
        .map(|t| (t.id(), t.status()))
        .collect();
    assert_eq!(
        ids,
        [
            ("T1026", Status::Deprecated),
            ("T1059", Status::Active),
            ("T1546", Status::Active),
            ("T1546.003", Status::Active),
            ("T1574.001", Status::Active),
        ]
    );
    let wmi = data.technique("t1546.003").unwrap();
    assert_eq!(
        wmi.name(),
        "Windows Management Instrumentation Event Subscription"
    );
    assert!(wmi.is_subtechnique());
    // The Lockheed kill-chain phase is not an ATT&CK tactic.
    let shortnames: Vec<&str> = wmi.tactic_shortnames().collect();
    assert_eq!(shortnames, ["privilege-escalation", "persistence"]);
    // The fixture has no privilege-escalation tactic object, so only one tactic resolves.
    let tactics: Vec<&str> = data.tactics_of(wmi).map(Tactic::id).collect();
    assert_eq!(tactics, ["TA0003"]);
    assert_eq!(
        data.technique("T1059").map(Technique::kind),
        Some(Kind::Technique)
    );
}

#[test]
fn objects() {
    let data = fixture();
    let objects: Vec<(ObjectKind, &str, &str, Status)> = data
        .objects()
        .iter()
        .map(|o| (o.kind(), o.id(), o.name(), o.status()))
        .collect();
    assert_eq!(
        objects,
        [
            (ObjectKind::Asset, "A0001", "Control Server", Status::Active),
            (
                ObjectKind::Campaign,
                "C0001",
                "Frankenstein",
                Status::Active
            ),
            (
                ObjectKind::DataComponent,
                "DC0001",
                "Scheduled Job Creation",
                Status::Active
            ),
            (
                ObjectKind::DataSource,
                "DS0009",
                "Process",
                Status::Deprecated
            ),
            (ObjectKind::Group, "G0016", "APT29", Status::Active),
            (
                ObjectKind::Mitigation,
                "M1040",
                "Behavior Prevention on Endpoint",
                Status::Active
            ),
            (
                ObjectKind::Software,
                "S0001",
                "Trojan.Mebromi",
                Status::Active
            ),
            (ObjectKind::Software, "S0002", "Mimikatz", Status::Active),
        ]
    );
    assert!(data.covers(ObjectKind::Asset));
}

#[test]
fn revocations_follow_revoked_by_chains() {
    let data = fixture();
    let revocations: Vec<(&str, Kind, Option<&str>, Option<&str>)> = data
        .revocations()
        .iter()
        .map(|r| (r.id(), r.kind(), r.revoked_by(), r.replacement()))
        .collect();
    assert_eq!(
        revocations,
        [
            ("G0118", Kind::Group, Some("G0016"), Some("G0016")),
            // The revoked-by relationship of S0999 is itself revoked, so S0999 has no successor.
            ("S0999", Kind::Software, None, None),
            (
                "T1073",
                Kind::Technique,
                Some("T1574.002"),
                Some("T1574.001")
            ),
            (
                "T1084",
                Kind::Technique,
                Some("T1546.003"),
                Some("T1546.003")
            ),
            (
                "T1574.002",
                Kind::SubTechnique,
                Some("T1574.001"),
                Some("T1574.001")
            ),
        ]
    );
    assert_eq!(
        data.revocation("t1084").map(Revocation::name),
        Some("Windows Management Instrumentation Event Subscription")
    );
}

#[test]
fn tags_resolve_against_the_loaded_bundle() {
    let data = fixture();
    let TagResolution::Revoked(revocation) = data.resolve_tag("attack.t1084") else {
        panic!("attack.t1084 should be revoked");
    };
    assert_eq!(
        revocation.replacement_tag().as_deref(),
        Some("attack.t1546.003")
    );
    assert!(
        matches!(data.resolve_tag("attack.a0001"), TagResolution::Object(o) if o.name() == "Control Server")
    );
    assert!(
        matches!(data.resolve_tag("attack.orphan"), TagResolution::Tactic(t) if t.id() == "TA0099")
    );
    assert_eq!(
        data.resolve_tag("attack.s0999"),
        TagResolution::Revoked(data.revocation("S0999").unwrap())
    );
    assert_eq!(
        data.resolve_tag("attack.g0001"),
        TagResolution::UnknownId {
            kind: Kind::Group,
            id: "G0001".into()
        }
    );
    assert_eq!(
        data.resolve_tag("attack.privilege-escalation"),
        TagResolution::UnknownTactic {
            name: "privilege-escalation".into()
        }
    );
}

#[test]
fn a_missing_link_leaves_the_replacement_unknown() {
    let bytes = bundle(
        &[
            object("attack-pattern", 1, "T1001", r#", "revoked": true"#),
            object("attack-pattern", 2, "T1002", r#", "revoked": true"#),
            revoked_by(3, "attack-pattern--1", "attack-pattern--2"),
            // T1001 → T1002 (revoked, with no revoked-by of its own); T1003 → an object not in the bundle.
            object("attack-pattern", 4, "T1003", r#", "revoked": true"#),
            revoked_by(5, "attack-pattern--4", "attack-pattern--404"),
        ]
        .join(","),
    );
    let data = AttackData::from_stix_bundle(&bytes).unwrap();
    let successors: Vec<(&str, Option<&str>, Option<&str>)> = data
        .revocations()
        .iter()
        .map(|r| (r.id(), r.revoked_by(), r.replacement()))
        .collect();
    assert_eq!(
        successors,
        [
            ("T1001", Some("T1002"), None),
            ("T1002", None, None),
            ("T1003", None, None)
        ]
    );
}

#[test]
fn an_empty_bundle_is_an_empty_data_set() {
    let data = AttackData::from_stix_bundle(br#"{"type": "bundle"}"#).unwrap();
    assert_eq!(
        (
            data.tactics().len(),
            data.techniques().len(),
            data.objects().len()
        ),
        (0, 0, 0)
    );
    assert_eq!((data.version(), data.domain()), (None, None));
    assert_eq!(
        data.resolve_tag("attack.t1059"),
        TagResolution::UnknownId {
            kind: Kind::Technique,
            id: "T1059".into()
        }
    );
}

/// The error of loading `bytes`, which must fail.
fn error(bytes: &[u8]) -> AttackError {
    match AttackData::from_stix_bundle(bytes) {
        Ok(_) => panic!("{} should not load", String::from_utf8_lossy(bytes)),
        Err(err) => err,
    }
}

fn stix_problem(bytes: &[u8]) -> (String, StixProblem) {
    match error(bytes) {
        AttackError::StixObject { stix_id, problem } => (stix_id, problem),
        other => panic!("expected a STIX object error, got {other}"),
    }
}

#[test]
fn json_errors_give_line_and_column() {
    let err = error(b"{\"type\": \"bundle\",\n \"objects\": [ }");
    assert!(matches!(err, AttackError::Json(_)));
    assert_eq!(
        err.to_string(),
        "STIX bundle: expected value at line 2 column 15"
    );
    let err = error(br#"{"type": "bundle", "objects": 5}"#);
    assert_eq!(
        err.to_string(),
        "STIX bundle: invalid type: integer `5`, expected a sequence at line 1 column 31"
    );
    assert!(matches!(error(b""), AttackError::Json(_)));
    // serde also reads a struct from an array; an empty one is no bundle.
    assert!(matches!(error(b"[]"), AttackError::NotABundle { found } if found.is_empty()));
}

#[test]
fn a_non_bundle_is_refused() {
    let err = error(br#"{"type": "attack-pattern", "objects": []}"#);
    assert!(matches!(&err, AttackError::NotABundle { found } if found == "attack-pattern"));
    assert!(matches!(error(b"{}"), AttackError::NotABundle { found } if found.is_empty()));
}

#[test]
fn ids_that_do_not_fit_the_type_are_refused() {
    assert_eq!(
        stix_problem(&bundle(&object("attack-pattern", 1, "G0016", ""))),
        (
            "attack-pattern--1".into(),
            StixProblem::BadId {
                id: "G0016".into(),
                kind: Kind::Technique
            }
        )
    );
    assert_eq!(
        stix_problem(&bundle(&object("intrusion-set", 1, "T1001", ""))),
        (
            "intrusion-set--1".into(),
            StixProblem::BadId {
                id: "T1001".into(),
                kind: Kind::Group
            }
        )
    );
    assert_eq!(
        stix_problem(&bundle(&object("course-of-action", 1, "G0016", ""))),
        (
            "course-of-action--1".into(),
            StixProblem::BadId {
                id: "G0016".into(),
                kind: Kind::Mitigation
            }
        )
    );
    assert_eq!(
        stix_problem(&bundle(&object("x-mitre-tactic", 1, "T0001", ""))),
        (
            "x-mitre-tactic--1".into(),
            StixProblem::BadId {
                id: "T0001".into(),
                kind: Kind::Tactic
            }
        )
    );
    // Course-of-action objects named after techniques are pre-2019 mitigations, left out.
    let legacy = bundle(&object(
        "course-of-action",
        1,
        "T1001",
        r#", "x_mitre_deprecated": true"#,
    ));
    assert_eq!(
        AttackData::from_stix_bundle(&legacy)
            .map(|d| d.objects().len())
            .ok(),
        Some(0)
    );
}

#[test]
fn missing_fields_are_named() {
    assert_eq!(
        stix_problem(&bundle(&object("x-mitre-tactic", 1, "TA0001", ""))),
        (
            "x-mitre-tactic--1".into(),
            StixProblem::MissingField("x_mitre_shortname")
        )
    );
    let nameless = r#"{"type": "tool", "id": "tool--1", "name": " ",
        "external_references": [{"source_name": "mitre-attack", "external_id": "S0002"}]}"#;
    assert_eq!(
        stix_problem(&bundle(nameless)),
        ("tool--1".into(), StixProblem::MissingField("name"))
    );
    let dangling = r#"{"type": "relationship", "id": "relationship--1", "relationship_type": "revoked-by",
        "source_ref": "tool--1"}"#;
    assert_eq!(
        stix_problem(&bundle(dangling)),
        (
            "relationship--1".into(),
            StixProblem::MissingField("target_ref")
        )
    );
}

#[test]
fn revocation_problems() {
    let cycle = [
        object("attack-pattern", 1, "T1001", r#", "revoked": true"#),
        object("attack-pattern", 2, "T1002", r#", "revoked": true"#),
        revoked_by(3, "attack-pattern--1", "attack-pattern--2"),
        revoked_by(4, "attack-pattern--2", "attack-pattern--1"),
    ];
    assert_eq!(
        stix_problem(&bundle(&cycle.join(","))),
        ("attack-pattern--1".into(), StixProblem::RevocationCycle)
    );
    let ambiguous = [
        object("attack-pattern", 1, "T1001", r#", "revoked": true"#),
        object("attack-pattern", 2, "T1002", ""),
        object("attack-pattern", 3, "T1003", ""),
        revoked_by(4, "attack-pattern--1", "attack-pattern--2"),
        revoked_by(5, "attack-pattern--1", "attack-pattern--3"),
    ];
    assert_eq!(
        stix_problem(&bundle(&ambiguous.join(","))),
        ("attack-pattern--1".into(), StixProblem::AmbiguousRevocation)
    );
}

#[test]
fn duplicate_ids_are_refused() {
    let twice = [
        object("malware", 1, "S0001", ""),
        object("tool", 2, "s0001", ""),
    ];
    assert!(
        matches!(error(&bundle(&twice.join(","))), AttackError::DuplicateId { id } if id == "S0001")
    );
}

/// xorshift64: a small deterministic generator, so that a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn truncated_bundles_are_errors() {
    let end = FIXTURE
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .unwrap_or(0);
    // Every 5th length, and every length near the end where fewer brackets are left open
    // (all lengths take seconds in a debug build).
    for len in (0..=end).filter(|len| len % 5 == 0 || len + 300 > end) {
        assert!(
            AttackData::from_stix_bundle(&FIXTURE[..len]).is_err(),
            "prefix of {len} bytes loaded"
        );
    }
}

#[test]
fn mutated_bundles_never_panic() {
    // Bytes that change JSON structure or STIX meaning more often than random ones do.
    const INTERESTING: &[u8] = b"{}[]\",:0123456789.-tTgGsSaA \\\xff\x00";
    let mut rng = Rng(0x005E_EDA7_7AC4);
    let mut outcomes = [0usize; 2];
    for _ in 0..1500 {
        let mut bytes = FIXTURE.to_vec();
        for _ in 0..=rng.below(4) {
            let at = rng.below(bytes.len());
            match rng.below(3) {
                0 => bytes[at] = INTERESTING[rng.below(INTERESTING.len())],
                1 => {
                    bytes.remove(at);
                }
                _ => bytes.insert(at, INTERESTING[rng.below(INTERESTING.len())]),
            }
        }
        let loaded = AttackData::from_stix_bundle(&bytes);
        outcomes[usize::from(loaded.is_ok())] += 1;
        if let Ok(data) = loaded {
            // Whatever loaded must answer lookups.
            for tag in [
                "attack.t1084",
                "attack.t1546.003",
                "attack.persistence",
                "attack.g0016",
            ] {
                let _ = data.resolve_tag(tag);
            }
        }
    }
    // Both outcomes occur, so the mutations are neither all fatal nor all harmless.
    assert!(
        outcomes[0] > 0 && outcomes[1] > 0,
        "errors, successes: {outcomes:?}"
    );
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(42);
    for _ in 0..2000 {
        let len = rng.below(64);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        assert!(AttackData::from_stix_bundle(&bytes).is_err());
    }
}

#[test]
fn random_tags_never_panic() {
    const ALPHABET: &[char] = &[
        'a', 't', 'g', 'd', 's', '.', '-', '_', '0', '1', '9', 'T', ' ', 'é', '\u{2013}',
    ];
    let data = AttackData::embedded();
    let mut rng = Rng(7);
    for _ in 0..20_000 {
        let len = rng.below(14);
        let tail: String = (0..len)
            .map(|_| ALPHABET[rng.below(ALPHABET.len())])
            .collect();
        let tag = if rng.below(2) == 0 {
            format!("attack.{tail}")
        } else {
            tail
        };
        let _ = data.resolve_tag(&tag);
        let _ = data.lookup(&tag);
    }
}
