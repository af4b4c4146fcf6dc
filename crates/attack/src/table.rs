//! Parser of the embedded table (`data/enterprise-attack.tsv`, written by
//! `scripts/gen_attack.py`; its header describes the records).

use crate::data::{AttackData, Parts};
use crate::error::{AttackError, TableProblem};
use crate::model::{
    AttackObject, Kind, ObjectKind, Revocation, Status, Successor, Tactic, Technique,
};

/// Parses the whole table.
pub(crate) fn parse(text: &str) -> Result<AttackData, AttackError> {
    let mut parts = Parts::default();
    for (index, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        parse_record(line, &mut parts).map_err(|problem| AttackError::Table {
            line: index + 1,
            problem,
        })?;
    }
    AttackData::assemble(parts)
}

/// Adds the record of one line to `parts`.
fn parse_record(line: &str, parts: &mut Parts) -> Result<(), TableProblem> {
    let (kind, rest) = line.split_once('\t').unwrap_or((line, ""));
    match kind {
        "meta" => {
            let [key, value] = fields(rest)?;
            match key {
                "attack_version" => parts.version = Some(value.to_owned()),
                "domain" => parts.domain = Some(value.to_owned()),
                _ => return Err(TableProblem::UnknownMeta(key.to_owned())),
            }
        }
        "tactic" => {
            let [id, order, shortname, name] = fields(rest)?;
            let order = order
                .parse::<u16>()
                .ok()
                .filter(|&o| o > 0)
                .ok_or_else(|| TableProblem::BadOrder(order.to_owned()))?;
            parts.tactics.push(Tactic::new(
                checked_id(id, Kind::Tactic)?,
                shortname.to_owned(),
                name.to_owned(),
                order,
            ));
        }
        "technique" | "subtechnique" => {
            let [id, status, tactics, name] = fields(rest)?;
            let kind = if kind == "technique" {
                Kind::Technique
            } else {
                Kind::SubTechnique
            };
            let tactics = tactics.split(',').map(str::to_owned).collect();
            parts.techniques.push(Technique::new(
                checked_id(id, kind)?,
                name.to_owned(),
                parse_status(status)?,
                tactics,
            ));
        }
        "revoked" => {
            let [id, revoked_by, replacement, name] = fields(rest)?;
            let kind = Kind::of_id(id)
                .filter(|k| *k != Kind::Tactic)
                .ok_or_else(|| TableProblem::BadId {
                    id: id.to_owned(),
                    kind: Kind::Technique,
                })?;
            let successor = Successor {
                revoked_by: checked_any_id(revoked_by)?,
                replacement: Some(checked_any_id(replacement)?),
            };
            parts.revocations.push(Revocation::new(
                kind,
                id.to_owned(),
                name.to_owned(),
                Some(successor),
            ));
        }
        other => {
            let kind =
                object_kind(other).ok_or_else(|| TableProblem::UnknownRecord(other.to_owned()))?;
            let [id, status, name] = fields(rest)?;
            parts.objects.push(AttackObject::new(
                kind,
                checked_id(id, kind.into())?,
                name.to_owned(),
                parse_status(status)?,
            ));
        }
    }
    Ok(())
}

/// The record kind the table uses for each object kind.
fn object_kind(record: &str) -> Option<ObjectKind> {
    Some(match record {
        "group" => ObjectKind::Group,
        "software" => ObjectKind::Software,
        "mitigation" => ObjectKind::Mitigation,
        "campaign" => ObjectKind::Campaign,
        "datasource" => ObjectKind::DataSource,
        "datacomponent" => ObjectKind::DataComponent,
        "asset" => ObjectKind::Asset,
        _ => return None,
    })
}

/// Splits the fields after the record kind; every one must be non-empty.
fn fields<const N: usize>(rest: &str) -> Result<[&str; N], TableProblem> {
    let mut out = [""; N];
    let mut found = 0;
    for field in rest.split('\t') {
        if let Some(slot) = out.get_mut(found) {
            *slot = field;
        }
        found += 1;
    }
    if found != N {
        return Err(TableProblem::FieldCount {
            expected: N + 1,
            found: found + 1,
        });
    }
    if out.iter().any(|f| f.is_empty()) {
        return Err(TableProblem::EmptyField);
    }
    Ok(out)
}

/// The id, if it is an upper-case id of `kind`.
fn checked_id(id: &str, kind: Kind) -> Result<String, TableProblem> {
    if Kind::of_id(id) == Some(kind) && !id.bytes().any(|b| b.is_ascii_lowercase()) {
        Ok(id.to_owned())
    } else {
        Err(TableProblem::BadId {
            id: id.to_owned(),
            kind,
        })
    }
}

/// The id, if it is an upper-case id of any technique or object kind.
fn checked_any_id(id: &str) -> Result<String, TableProblem> {
    match Kind::of_id(id) {
        Some(kind) if kind != Kind::Tactic => checked_id(id, kind),
        _ => Err(TableProblem::BadId {
            id: id.to_owned(),
            kind: Kind::Technique,
        }),
    }
}

fn parse_status(status: &str) -> Result<Status, TableProblem> {
    match status {
        "active" => Ok(Status::Active),
        "deprecated" => Ok(Status::Deprecated),
        _ => Err(TableProblem::BadStatus(status.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(text: &str) -> (usize, TableProblem) {
        match parse(text) {
            Err(AttackError::Table { line, problem }) => (line, problem),
            other => panic!("expected a table error, got {other:?}"),
        }
    }

    #[test]
    fn small_table_parses() {
        let text = "# comment\nmeta\tattack_version\t9.9\ntactic\tTA0003\t1\tpersistence\tPersistence\n\
                    subtechnique\tT1546.003\tactive\tpersistence\tWMI\n\
                    technique\tT1546\tdeprecated\tpersistence,x\tEvent\nrevoked\tT1084\tT1546.003\tT1546.003\tOld\n\
                    group\tG0016\tactive\tAPT29\n";
        let data = parse(text).unwrap();
        assert_eq!(data.version(), Some("9.9"));
        assert_eq!(data.domain(), None);
        let ids: Vec<&str> = data.techniques().iter().map(Technique::id).collect();
        assert_eq!(ids, ["T1546", "T1546.003"]);
        let tactics: Vec<&str> = data.techniques()[0].tactic_shortnames().collect();
        assert_eq!(tactics, ["persistence", "x"]);
        let known: Vec<&str> = data
            .tactics_of(&data.techniques()[0])
            .map(Tactic::id)
            .collect();
        assert_eq!(known, ["TA0003"]);
        assert_eq!(data.techniques()[0].status(), Status::Deprecated);
        assert_eq!(
            data.revocation("T1084").and_then(Revocation::replacement),
            Some("T1546.003")
        );
        assert_eq!(data.object("G0016").map(AttackObject::name), Some("APT29"));
    }

    #[test]
    fn bad_lines_are_reported_with_their_number() {
        assert_eq!(
            problem("meta\tversion\t1\n"),
            (1, TableProblem::UnknownMeta("version".into()))
        );
        assert_eq!(
            problem("#\nthing\tX\n"),
            (2, TableProblem::UnknownRecord("thing".into()))
        );
        assert_eq!(
            problem("group\tG0016\tactive\n"),
            (
                1,
                TableProblem::FieldCount {
                    expected: 4,
                    found: 3
                }
            )
        );
        assert_eq!(
            problem("group\tS0001\tactive\tX\n"),
            (
                1,
                TableProblem::BadId {
                    id: "S0001".into(),
                    kind: Kind::Group
                }
            )
        );
        assert_eq!(
            problem("technique\tT1546.003\tactive\tx\tX\n"),
            (
                1,
                TableProblem::BadId {
                    id: "T1546.003".into(),
                    kind: Kind::Technique
                }
            )
        );
        assert_eq!(
            problem("group\tg0016\tactive\tX\n"),
            (
                1,
                TableProblem::BadId {
                    id: "g0016".into(),
                    kind: Kind::Group
                }
            )
        );
        assert_eq!(
            problem("group\tG0016\tgone\tX\n"),
            (1, TableProblem::BadStatus("gone".into()))
        );
        assert_eq!(
            problem("group\tG0016\tactive\t\n"),
            (1, TableProblem::EmptyField)
        );
        assert_eq!(
            problem("tactic\tTA0001\t0\tx\tX\n"),
            (1, TableProblem::BadOrder("0".into()))
        );
        assert_eq!(
            problem("revoked\tTA0001\tT1\tT1\tX\n"),
            (
                1,
                TableProblem::BadId {
                    id: "TA0001".into(),
                    kind: Kind::Technique
                }
            )
        );
    }

    #[test]
    fn duplicate_ids_are_refused() {
        let text = "group\tG0016\tactive\tA\nrevoked\tG0016\tG0001\tG0001\tB\n";
        assert!(matches!(parse(text), Err(AttackError::DuplicateId { id }) if id == "G0016"));
    }
}
