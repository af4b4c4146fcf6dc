//! Checks of `tags`: the schema's format, known namespaces, and `attack.*` tags against the
//! ATT&CK data (embedded v18.1, or the bundle given with `--attack-data`).

use super::{Context, Validator};
use crate::diagnostic::{Diagnostic, Severity};
use crate::loader::DocRef;
use sigrun_attack::{MalformedTag, TagResolution};

/// The namespaces of the Sigma tags appendix v2.1.0.
const NAMESPACES: &[&str] = &["attack", "car", "cve", "d3fend", "detection", "stp", "tlp"];

pub(super) fn validators() -> Vec<Validator> {
    vec![
        Validator::document(
            "tag-format",
            Severity::Error,
            "tags match the schema's pattern ^[a-z0-9_-]+\\.[a-z0-9._-]+$",
            tag_format,
        ),
        Validator::document(
            "tag-namespace",
            Severity::Warning,
            "tags use a namespace of the tags appendix (attack, car, cve, d3fend, detection, stp, tlp)",
            tag_namespace,
        ),
        Validator::document(
            "attack-tag",
            Severity::Warning,
            "attack.* tags name ATT&CK tactics and ids that exist: revoked ids are reported with their replacement, deprecated ones and Sigma 1 tactic names too; ids and tactics unknown to the data are noted (info)",
            attack_tag,
        ),
    ]
}

/// Whether `tag` matches `^[a-z0-9_-]+\.[a-z0-9._-]+$`.
pub(crate) fn is_well_formed(tag: &str) -> bool {
    let Some((namespace, name)) = tag.split_once('.') else {
        return false;
    };
    let ns_ok = !namespace.is_empty()
        && namespace
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    let name_ok = !name.is_empty()
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        });
    ns_ok && name_ok
}

fn tag_format(_: &Context<'_>, doc: DocRef<'_>, out: &mut Vec<Diagnostic>) {
    let Some(meta) = doc.document.meta() else {
        return;
    };
    for tag in &meta.tags {
        if !is_well_formed(&tag.value) {
            let mut diagnostic = Diagnostic::error(
                "tag-format",
                format!(
                    "tag '{}' is not of the form namespace.name in lowercase",
                    tag.value
                ),
            )
            .at(tag.span);
            let lowered = tag.value.to_ascii_lowercase().replace(' ', "-");
            if is_well_formed(&lowered) {
                diagnostic = diagnostic.help(format!("write '{lowered}'"));
            }
            out.push(diagnostic);
        }
    }
}

fn tag_namespace(_: &Context<'_>, doc: DocRef<'_>, out: &mut Vec<Diagnostic>) {
    let Some(meta) = doc.document.meta() else {
        return;
    };
    for tag in &meta.tags {
        if !is_well_formed(&tag.value) {
            continue;
        }
        let namespace = tag.value.split('.').next().unwrap_or_default();
        if !NAMESPACES.contains(&namespace) {
            out.push(
                Diagnostic::warning(
                    "tag-namespace",
                    format!("tag namespace '{namespace}' is not one of the Sigma tags appendix"),
                )
                .at(tag.span)
                .help(format!("known namespaces: {}", NAMESPACES.join(", "))),
            );
        }
    }
}

fn attack_tag(context: &Context<'_>, doc: DocRef<'_>, out: &mut Vec<Diagnostic>) {
    let Some(meta) = doc.document.meta() else {
        return;
    };
    let version = context
        .attack
        .version()
        .map_or_else(|| "(unknown version)".to_string(), |v| format!("v{v}"));
    for tag in &meta.tags {
        let diagnostic = match context.attack.resolve_tag(&tag.value) {
            TagResolution::OtherNamespace
            | TagResolution::Tactic(_)
            | TagResolution::Technique(_)
            | TagResolution::Object(_) => continue,
            // The schema check already reports what is not lowercase.
            TagResolution::Malformed(MalformedTag::NotLowercase) => continue,
            TagResolution::Malformed(why) => Diagnostic::warning(
                "attack-tag",
                format!("tag '{}' is not a valid ATT&CK tag: {why}", tag.value),
            ),
            TagResolution::LegacyTacticName { corrected_tag, .. } => Diagnostic::warning(
                "attack-tag",
                format!("tag '{}' is the Sigma 1 spelling of a tactic", tag.value),
            )
            .help(format!("write '{corrected_tag}'")),
            TagResolution::Revoked(revocation) => {
                let mut d = Diagnostic::warning(
                    "attack-tag",
                    format!(
                        "tag '{}' names {} ({}), revoked in ATT&CK {version}",
                        tag.value,
                        revocation.id(),
                        revocation.name()
                    ),
                );
                if let Some(replacement) = revocation.replacement_tag() {
                    d = d.help(format!("use '{replacement}' instead"));
                }
                d
            }
            TagResolution::DeprecatedTechnique(technique) => Diagnostic::warning(
                "attack-tag",
                format!(
                    "tag '{}' names {} ({}), deprecated in ATT&CK {version} without replacement",
                    tag.value,
                    technique.id(),
                    technique.name()
                ),
            ),
            TagResolution::DeprecatedObject(object) => Diagnostic::info(
                "attack-tag",
                format!(
                    "tag '{}' names {} ({}), deprecated in ATT&CK {version}",
                    tag.value,
                    object.id(),
                    object.name()
                ),
            ),
            TagResolution::UnknownId { id, .. } => Diagnostic::info(
                "attack-tag",
                format!("tag '{}': {id} is not in ATT&CK {version}", tag.value),
            )
            .help("a newer ATT&CK release may define it: pass its STIX bundle with --attack-data"),
            TagResolution::KindNotCovered { id, .. } => Diagnostic::info(
                "attack-tag",
                format!(
                    "tag '{}': the ATT&CK data has nothing of {id}'s kind, so it cannot be checked",
                    tag.value
                ),
            ),
            TagResolution::UnknownTactic { name } => Diagnostic::info(
                "attack-tag",
                format!(
                    "tag '{}': '{name}' is not a tactic of ATT&CK {version}",
                    tag.value
                ),
            )
            .help("a newer ATT&CK release may define it: pass its STIX bundle with --attack-data"),
        };
        out.push(diagnostic.at(tag.span));
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    fn tags(list: &str) -> Vec<(String, String, String)> {
        check(&rule_with(&format!(
            "tags: {list}\ndetection:\n    sel:\n        A: b\n    condition: sel\n"
        )))
    }

    #[test]
    fn well_formed_tags() {
        assert!(is_well_formed("attack.t1546.003"));
        assert!(is_well_formed("detection.emerging-threats"));
        assert!(is_well_formed("cve.2021-44228"));
        assert!(!is_well_formed("attack"));
        assert!(!is_well_formed("Attack.T1059"));
        assert!(!is_well_formed("attack.t 1059"));
        assert!(!is_well_formed(".t1059"));
    }

    #[test]
    fn valid_tags_have_no_findings() {
        assert_eq!(
            tags(
                "[attack.persistence, attack.t1546.003, attack.g0016, car.2016-04-005, tlp.amber, detection.threat-hunting]"
            ),
            vec![]
        );
    }

    #[test]
    fn revoked_technique_names_its_replacement() {
        let findings = tags("[attack.t1084]");
        assert_eq!(
            findings,
            vec![(
                "attack-tag".into(),
                "tag 'attack.t1084' names T1084 (Windows Management Instrumentation Event Subscription), revoked in ATT&CK v18.1".into(),
                "attack.t1084".into()
            )]
        );
        let set = crate::loader::RuleSet::from_sources([crate::source::SourceFile::new(
            "r.yml",
            rule_with(
                "tags: [attack.t1084]\ndetection:\n    sel:\n        A: b\n    condition: sel\n",
            ),
        )]);
        let all = super::super::validate(
            &set,
            sigrun_attack::AttackData::embedded(),
            &Default::default(),
        );
        assert_eq!(
            all[0].diagnostics[0].help.as_deref(),
            Some("use 'attack.t1546.003' instead")
        );
    }

    #[test]
    fn format_namespace_legacy_unknown() {
        let findings = tags(
            "[Attack.T1059, foo.bar, attack.privilege_escalation, attack.t9999, attack.stealth, attack.t123]",
        );
        assert_eq!(
            codes(&findings),
            [
                "tag-format",
                "tag-namespace",
                "attack-tag",
                "attack-tag",
                "attack-tag",
                "attack-tag"
            ]
        );
        assert_eq!(
            findings[0].1,
            "tag 'Attack.T1059' is not of the form namespace.name in lowercase"
        );
        assert_eq!(
            findings[1].1,
            "tag namespace 'foo' is not one of the Sigma tags appendix"
        );
        assert_eq!(
            findings[2].1,
            "tag 'attack.privilege_escalation' is the Sigma 1 spelling of a tactic"
        );
        assert_eq!(
            findings[3].1,
            "tag 'attack.t9999': T9999 is not in ATT&CK v18.1"
        );
        assert_eq!(
            findings[4].1,
            "tag 'attack.stealth': 'stealth' is not a tactic of ATT&CK v18.1"
        );
        assert_eq!(
            findings[5].1,
            "tag 'attack.t123' is not a valid ATT&CK tag: an ATT&CK id has 4 digits, and a sub-technique 3 more after a dot (t1546.003)"
        );
    }
}
