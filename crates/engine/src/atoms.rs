//! Atoms: one rule value tested against one field, deduplicated across the whole rule set.
//!
//! Two rules that test `Image` ending in `\cmd.exe` share one atom, evaluated at most once per
//! event. Fields are deduplicated too: a field is the list of event names a Sigma field
//! resolves to in a source (the first one present is read), so `Image` in Sysmon and `Image`
//! in Security 4688 (`NewProcessName`) are different fields.

use crate::fx::{FxHasher, FxMap};
use crate::matcher::{Anchor, Literal, Matcher, NumKey};
use crate::text::Glob;
use ipnet::IpNet;
use sigrun_rule::modifier::{CompareOp, TimePart};
use sigrun_rule::value::FieldRefMatch;
use std::hash::{Hash, Hasher};

pub type AtomId = u32;
pub type FieldId = u32;

/// What an atom is tested against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum AtomField {
    Field(FieldId),
    /// Keyword search: any value of any field.
    Keyword,
}

/// How an atom can be answered in bulk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ScanKind {
    /// Only by evaluating its matcher.
    None,
    /// Exactly, by the field's automaton / equality tables: after a scan, an atom that did
    /// not fire is false.
    Exact,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Atom {
    pub field: AtomField,
    pub matcher: Matcher,
    pub scan: ScanKind,
    /// Scan atoms one of which must be true whenever this one is (the longest literal of a
    /// wildcard pattern, the lower-cased text of a cased literal, the literals a regex
    /// match must start or end with). Empty: no hint.
    pub hints: Box<[AtomId]>,
}

/// The identity of a matcher, for deduplication.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MatcherKey {
    /// A case-sensitive literal (case-insensitive ones are found by [`AtomTable::literal`]).
    CasedLiteral(Anchor, Box<str>),
    Glob(Glob, bool),
    Regex(String, [bool; 3]),
    Number(NumKey, Box<str>),
    Bool(bool),
    Null,
    Exists(bool),
    Compare(CompareOp, u64),
    TimePart(TimePart, i64),
    Cidr(IpNet),
    FieldRef(Option<FieldId>, FieldRefMatch),
}

/// The interning tables for fields and atoms.
#[derive(Default)]
pub struct AtomTable {
    pub fields: Vec<Box<[String]>>,
    field_ids: FxMap<Box<[String]>, FieldId>,
    pub atoms: Vec<Atom>,
    /// Atoms by their identity, except case-insensitive literals.
    atom_ids: FxMap<(AtomField, MatcherKey), AtomId>,
    /// Case-insensitive literals, most atoms of a rule set: their ids, hashed by field, anchor
    /// and lower-cased text and compared with the atoms themselves, so that finding or adding
    /// one builds no key.
    literal_ids: hashbrown::HashTable<AtomId>,
    fold_buffer: String,
}

impl AtomTable {
    pub fn field(&mut self, names: &[String]) -> FieldId {
        if let Some(&id) = self.field_ids.get(names) {
            return id;
        }
        let id = self.fields.len() as FieldId;
        self.fields.push(names.into());
        self.field_ids.insert(names.into(), id);
        id
    }

    /// The atom for `key` on `field`, building its matcher with `build` the first time.
    pub fn atom<E>(
        &mut self,
        field: AtomField,
        key: MatcherKey,
        build: impl FnOnce(&mut Self) -> Result<(Matcher, Vec<AtomId>), E>,
    ) -> Result<AtomId, E> {
        let key = (field, key);
        if let Some(&id) = self.atom_ids.get(&key) {
            return Ok(id);
        }
        let (matcher, hints) = build(self)?;
        let scan = match (&matcher, field) {
            (Matcher::Literal(Literal { cased: false, .. }), _) => ScanKind::Exact,
            (Matcher::Number { .. }, AtomField::Field(_)) => ScanKind::Exact,
            _ => ScanKind::None,
        };
        let id = self.atoms.len() as AtomId;
        self.atoms.push(Atom {
            field,
            matcher,
            scan,
            hints: hints.into(),
        });
        self.atom_ids.insert(key, id);
        Ok(id)
    }

    /// The case-insensitive literal atom for `text` lower-cased, without allocating when it
    /// exists already (the common case: rules share most literals).
    pub fn literal_folding(&mut self, field: AtomField, anchor: Anchor, text: &str) -> AtomId {
        let mut lower_text = std::mem::take(&mut self.fold_buffer);
        lower_text.clear();
        crate::text::push_lower(&mut lower_text, text);
        let id = self.literal(field, anchor, &lower_text);
        self.fold_buffer = lower_text;
        id
    }

    /// A case-insensitive literal atom (always buildable).
    pub fn literal(&mut self, field: AtomField, anchor: Anchor, lower_text: &str) -> AtomId {
        let hash = literal_hash(field, anchor, lower_text);
        let atoms = &self.atoms;
        let is_it = |&id: &AtomId| {
            let atom = &atoms[id as usize];
            atom.field == field
                && matches!(&atom.matcher, Matcher::Literal(l)
                    if !l.cased && l.anchor == anchor && *l.text == *lower_text)
        };
        if let Some(&id) = self.literal_ids.find(hash, is_it) {
            return id;
        }
        let id = self.atoms.len() as AtomId;
        self.atoms.push(Atom {
            field,
            matcher: Matcher::Literal(Literal::new(anchor, lower_text, false)),
            scan: ScanKind::Exact,
            hints: Box::default(),
        });
        let atoms = &self.atoms;
        self.literal_ids.insert_unique(hash, id, |&id| {
            let atom = &atoms[id as usize];
            match &atom.matcher {
                Matcher::Literal(l) => literal_hash(atom.field, l.anchor, &l.text),
                _ => unreachable!("only literal atoms are in literal_ids"),
            }
        });
        id
    }
}

/// The hash under which [`AtomTable::literal`] files a case-insensitive literal.
fn literal_hash(field: AtomField, anchor: Anchor, lower_text: &str) -> u64 {
    let mut hasher = FxHasher::default();
    field.hash(&mut hasher);
    anchor.hash(&mut hasher);
    hasher.write(lower_text.as_bytes());
    hasher.finish()
}
