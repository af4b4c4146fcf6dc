//! Bulk answers for literal atoms: per field, one pass over each (lower-cased) value answers
//! every literal and number atom of every rule on that field.
//!
//! - equality atoms and numbers written as text: one hash lookup of the whole value;
//! - numbers: one hash lookup of the value read as a number;
//! - prefix, suffix and substring atoms: one Aho-Corasick automaton over all their texts,
//!   searched with overlapping matches; a prefix hit must start at 0, a suffix hit end at the
//!   value's end.

use crate::atoms::{Atom, AtomField, AtomId, ScanKind};
use crate::fx::FxMap;
use crate::matcher::{Anchor, Literal, Matcher, NumKey};
use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use std::sync::OnceLock;

/// Which Aho-Corasick implementation the field automata use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AutomatonKind {
    /// A DFA for a few patterns, a contiguous NFA for many.
    #[default]
    Auto,
    /// Fastest search, slowest build and most memory.
    Dfa,
    ContiguousNfa,
    NoncontiguousNfa,
}

/// Up to this many patterns, [`AutomatonKind::Auto`] builds a DFA (fastest to search, and
/// cheap to build when small); beyond, a contiguous NFA (a DFA of thousands of patterns takes
/// longer to build than a whole hunt of a few thousand events spends searching it).
const AUTO_DFA_MAX_PATTERNS: usize = 32;

impl AutomatonKind {
    fn to_ac(self, patterns: usize) -> Option<AhoCorasickKind> {
        match self {
            AutomatonKind::Auto if patterns <= AUTO_DFA_MAX_PATTERNS => Some(AhoCorasickKind::DFA),
            AutomatonKind::Auto => Some(AhoCorasickKind::ContiguousNFA),
            AutomatonKind::Dfa => Some(AhoCorasickKind::DFA),
            AutomatonKind::ContiguousNfa => Some(AhoCorasickKind::ContiguousNFA),
            AutomatonKind::NoncontiguousNfa => Some(AhoCorasickKind::NoncontiguousNFA),
        }
    }
}

/// Most patterns a field may have for the packed prefilter to be built (Teddy handles up to
/// a few dozen patterns well).
const PREFILTER_MAX_PATTERNS: usize = 64;

/// The scan tables of one field (or of the keyword pseudo-field).
#[derive(Debug, Default)]
pub struct FieldScan {
    equals: FxMap<Box<str>, (u32, u32)>,
    /// The byte lengths of the `equals` keys (bit `n` for length `n < 256`, bit 255 for
    /// longer): most values are skipped without hashing them.
    equal_lengths: [u64; 4],
    numbers: FxMap<NumKey, (u32, u32)>,
    pool: Vec<AtomId>,
    /// Atoms true for every value (empty prefix, suffix or substring).
    every: Vec<AtomId>,
    /// The automaton's patterns (the keys of the prefix, suffix and substring atoms).
    patterns: Box<[Box<str>]>,
    kind: AutomatonKind,
    /// Built from `patterns` by the first value that needs it: building is most of the cost
    /// of compiling a rule set, and a hunt often never sees most fields (a corpus without
    /// registry events never builds the registry fields' automata).
    searcher: OnceLock<Searcher>,
    /// Per automaton pattern: a range of `anchored`.
    pattern_atoms: Vec<(u32, u32)>,
    anchored: Vec<Anchored>,
}

/// What searches a value for a field's patterns.
#[derive(Debug)]
struct Searcher {
    /// `None` when the pattern set is beyond the automaton's size limits: the patterns are
    /// then searched one by one, which is slower but exact.
    automaton: Option<AhoCorasick>,
    /// A packed (SIMD) searcher over the patterns, when there are few enough: it only says
    /// whether any pattern occurs.
    prefilter: Option<aho_corasick::packed::Searcher>,
}

impl Searcher {
    fn build(patterns: &[Box<str>], kind: AutomatonKind) -> Searcher {
        let prefilter = if patterns.len() <= PREFILTER_MAX_PATTERNS {
            let mut builder = aho_corasick::packed::Config::new().builder();
            builder.extend(patterns.iter().map(|p| p.as_bytes()));
            builder.build()
        } else {
            None
        };
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .kind(kind.to_ac(patterns.len()))
            .build(patterns.iter().map(|p| p.as_bytes()))
            .ok();
        Searcher {
            automaton,
            prefilter,
        }
    }
}

/// An atom behind an automaton pattern. The automaton holds at most [`KEY_BYTES`] of each
/// literal; longer ones are checked in full where their start matched.
#[derive(Debug)]
struct Anchored {
    atom: AtomId,
    anchor: Anchor,
    /// The whole literal when it is longer than the automaton's pattern.
    full: Option<Box<str>>,
}

/// How much of a literal goes into the automaton. Long literals (file hashes, whole command
/// lines) would otherwise make automata of hundreds of thousands of states, slow to build and
/// to search; a 12-byte start is rare enough that checking the rest on a hit costs little.
const KEY_BYTES: usize = 12;

/// The start of `text` the automaton holds: at most [`KEY_BYTES`], cut at a char boundary.
fn key_of(text: &str) -> &str {
    if text.len() <= KEY_BYTES {
        return text;
    }
    let mut end = KEY_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

impl FieldScan {
    /// Builds the tables for the given scan atoms (all on the same field).
    pub fn build(atoms: &[Atom], ids: &[AtomId], kind: AutomatonKind) -> FieldScan {
        let mut equals: FxMap<Box<str>, Vec<AtomId>> = FxMap::default();
        let mut numbers: FxMap<NumKey, Vec<AtomId>> = FxMap::default();
        let mut patterns: FxMap<&str, Vec<Anchored>> = FxMap::default();
        let mut order: Vec<&str> = Vec::new();
        let mut every: Vec<AtomId> = Vec::new();
        for &id in ids {
            let atom = &atoms[id as usize];
            debug_assert_eq!(atom.scan, ScanKind::Exact);
            match &atom.matcher {
                Matcher::Literal(Literal {
                    anchor: Anchor::Equals,
                    text,
                    ..
                }) => equals.entry(text.clone()).or_default().push(id),
                Matcher::Literal(Literal { text, .. }) if text.is_empty() => {
                    // An empty prefix, suffix or substring is in every value; the automaton
                    // cannot hold the empty pattern.
                    every.push(id);
                }
                Matcher::Literal(Literal { anchor, text, .. }) => {
                    let key = key_of(text);
                    let entry = patterns.entry(key).or_insert_with(|| {
                        order.push(key);
                        Vec::new()
                    });
                    entry.push(Anchored {
                        atom: id,
                        anchor: *anchor,
                        full: (key.len() < text.len()).then(|| text.clone()),
                    });
                }
                Matcher::Number { key, raw_lower } => {
                    numbers.entry(*key).or_default().push(id);
                    equals.entry(raw_lower.clone()).or_default().push(id);
                }
                _ => {}
            }
        }
        let mut scan = FieldScan {
            every,
            kind,
            ..FieldScan::default()
        };
        for (text, ids) in equals {
            let bit = text.len().min(255);
            scan.equal_lengths[bit / 64] |= 1 << (bit % 64);
            let start = scan.pool.len() as u32;
            scan.pool.extend(ids.iter().copied());
            scan.equals.insert(text, (start, ids.len() as u32));
        }
        for (key, ids) in numbers {
            let start = scan.pool.len() as u32;
            scan.pool.extend(ids.iter().copied());
            scan.numbers.insert(key, (start, ids.len() as u32));
        }
        for text in &order {
            let list = patterns.remove(text).unwrap_or_default();
            let start = scan.anchored.len() as u32;
            scan.pattern_atoms.push((start, list.len() as u32));
            scan.anchored.extend(list);
        }
        scan.patterns = order.iter().map(|&text| Box::from(text)).collect();
        scan
    }

    /// The searcher over the patterns, built on first use.
    fn searcher(&self) -> &Searcher {
        self.searcher
            .get_or_init(|| Searcher::build(&self.patterns, self.kind))
    }

    /// Whether values are searched with an automaton (the costly part of a scan, worth
    /// remembering per value).
    #[inline]
    pub fn has_automaton(&self) -> bool {
        !self.patterns.is_empty()
    }

    pub fn pattern_count(&self) -> usize {
        self.pattern_atoms.len()
    }

    /// Whether any automaton pattern may occur in `lower` (no false negatives). Cheap when the
    /// field has a packed prefilter; otherwise always true.
    #[inline]
    pub fn may_match(&self, lower: &str) -> bool {
        self.patterns.is_empty()
            || self
                .searcher()
                .prefilter
                .as_ref()
                .is_none_or(|prefilter| prefilter.find(lower).is_some())
    }

    /// Calls `fire` for every atom that holds for one value. `lower` is the value's
    /// lower-cased text, `text` its original text (for numbers).
    #[inline]
    pub fn scan(&self, text: &str, lower: &str, fire: &mut impl FnMut(AtomId)) {
        self.every.iter().for_each(|&a| fire(a));
        let bit = lower.len().min(255);
        if self.equal_lengths[bit / 64] & (1 << (bit % 64)) != 0
            && let Some(&(start, len)) = self.equals.get(lower)
        {
            self.pool[start as usize..(start + len) as usize]
                .iter()
                .for_each(|&a| fire(a));
        }
        if !self.numbers.is_empty()
            && may_be_number(text)
            && let Some(key) = NumKey::parse(text)
            && let Some(&(start, len)) = self.numbers.get(&key)
        {
            self.pool[start as usize..(start + len) as usize]
                .iter()
                .for_each(|&a| fire(a));
        }
        if self.patterns.is_empty() {
            return;
        }
        let searcher = self.searcher();
        // Most values hold none of a small pattern set: a SIMD search (Teddy) rejects them
        // twenty times faster than the automaton could.
        if searcher
            .prefilter
            .as_ref()
            .is_some_and(|prefilter| prefilter.find(lower).is_none())
        {
            return;
        }
        match &searcher.automaton {
            Some(automaton) => {
                for m in automaton.find_overlapping_iter(lower) {
                    self.fire_pattern(m.pattern().as_usize(), m.start(), lower, fire);
                }
            }
            None => {
                for (pattern, text) in self.patterns.iter().enumerate() {
                    // Every occurrence, overlapping ones included (`find_iter` skips those).
                    let finder = memchr::memmem::Finder::new(text.as_bytes());
                    let mut from = 0;
                    while let Some(at) = finder.find(&lower.as_bytes()[from..]) {
                        self.fire_pattern(pattern, from + at, lower, fire);
                        from += at + 1;
                    }
                }
            }
        }
    }

    /// Fires the atoms of `pattern`, found at `start` of `lower`, whose anchor and full
    /// literal hold there.
    #[inline]
    fn fire_pattern(
        &self,
        pattern: usize,
        start: usize,
        lower: &str,
        fire: &mut impl FnMut(AtomId),
    ) {
        let (first, len) = self.pattern_atoms[pattern];
        let key_end = start + self.patterns[pattern].len();
        for anchored in &self.anchored[first as usize..(first + len) as usize] {
            let found_end = match &anchored.full {
                None => key_end,
                Some(full) => {
                    if !lower[start..].starts_with(&**full) {
                        continue;
                    }
                    start + full.len()
                }
            };
            let holds = match anchored.anchor {
                Anchor::Contains => true,
                Anchor::Prefix => start == 0,
                Anchor::Suffix => found_end == lower.len(),
                Anchor::Equals => start == 0 && found_end == lower.len(),
            };
            if holds {
                fire(anchored.atom);
            }
        }
    }
}

/// Whether `text` can parse as a number: after the whitespace `Number::parse` trims, it
/// starts with a digit, a sign or a point (`1`, `-1.5`, `.5`, `1e3`; `inf` is refused there).
#[inline]
fn may_be_number(text: &str) -> bool {
    text.trim_start()
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.'))
}

/// The scan atoms among `used`, by field (keyword atoms are grouped per bucket elsewhere).
pub fn group_scan_atoms(atoms: &[Atom], used: &[bool]) -> FxMap<u32, Vec<AtomId>> {
    let mut by_field: FxMap<u32, Vec<AtomId>> = FxMap::default();
    for (id, atom) in atoms.iter().enumerate() {
        if !used[id] || atom.scan != ScanKind::Exact {
            continue;
        }
        if let AtomField::Field(f) = atom.field {
            by_field.entry(f).or_default().push(id as AtomId);
        }
    }
    by_field
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::FieldValue;
    use proptest::prelude::*;

    fn literal_atoms(literals: &[(Anchor, String)]) -> Vec<Atom> {
        literals
            .iter()
            .map(|(anchor, text)| Atom {
                field: AtomField::Field(0),
                matcher: Matcher::Literal(Literal::new(*anchor, text, false)),
                scan: ScanKind::Exact,
                hints: Box::default(),
            })
            .collect()
    }

    fn fired(scan: &FieldScan, value: &str) -> Vec<AtomId> {
        let mut out = Vec::new();
        scan.scan(value, value, &mut |atom| out.push(atom));
        out.sort_unstable();
        out.dedup();
        out
    }

    /// A field scan whose automaton "could not be built": its patterns are searched one by
    /// one.
    fn without_automaton(atoms: &[Atom], ids: &[AtomId]) -> FieldScan {
        let scan = FieldScan::build(atoms, ids, AutomatonKind::Auto);
        let prefilter = Searcher::build(&scan.patterns, AutomatonKind::Auto).prefilter;
        scan.searcher
            .set(Searcher {
                automaton: None,
                prefilter,
            })
            .expect("not built yet");
        scan
    }

    #[test]
    fn automata_are_built_on_first_use() {
        let atoms = literal_atoms(&[(Anchor::Suffix, "\\cmd.exe".into())]);
        let scan = FieldScan::build(&atoms, &[0], AutomatonKind::Auto);
        assert!(scan.has_automaton());
        assert!(scan.searcher.get().is_none());
        assert_eq!(fired(&scan, "c:\\windows\\system32\\cmd.exe"), [0]);
        assert!(scan.searcher.get().is_some());
    }

    #[test]
    fn long_literals_are_checked_in_full_after_their_key() {
        let atoms = literal_atoms(&[
            (Anchor::Contains, "abcdefghijklmnop".into()),
            (Anchor::Suffix, "abcdefghijklmnop".into()),
            (Anchor::Prefix, "abcdefghijklxyz".into()),
        ]);
        for scan in [
            FieldScan::build(&atoms, &[0, 1, 2], AutomatonKind::Auto),
            without_automaton(&atoms, &[0, 1, 2]),
        ] {
            assert_eq!(scan.pattern_count(), 1, "one 12-byte key");
            assert_eq!(fired(&scan, "xxabcdefghijklmnop"), [0, 1]);
            assert_eq!(fired(&scan, "abcdefghijklmnopq"), [0]);
            assert_eq!(fired(&scan, "abcdefghijklxyz"), [2]);
            assert_eq!(fired(&scan, "abcdefghijkl"), [] as [AtomId; 0]);
        }
    }

    fn anchor() -> impl Strategy<Value = Anchor> {
        prop_oneof![
            Just(Anchor::Prefix),
            Just(Anchor::Suffix),
            Just(Anchor::Contains),
            Just(Anchor::Equals),
        ]
    }

    proptest! {
        /// The automaton, the one-by-one search and each literal's own matcher agree on
        /// every value (a small alphabet makes overlaps and repeats common; literals longer
        /// than the automaton's 12-byte keys are included).
        #[test]
        fn scans_agree_with_the_literals_themselves(
            literals in prop::collection::vec((anchor(), "[ab.]{0,15}"), 1..40),
            values in prop::collection::vec("[ab.]{0,24}", 1..20),
        ) {
            let atoms = literal_atoms(&literals);
            let ids: Vec<AtomId> = (0..atoms.len() as AtomId).collect();
            let automaton = FieldScan::build(&atoms, &ids, AutomatonKind::Auto);
            let one_by_one = without_automaton(&atoms, &ids);
            for value in &values {
                let expected: Vec<AtomId> = ids
                    .iter()
                    .copied()
                    .filter(|&id| atoms[id as usize].matcher.test_value(FieldValue::string(value), value))
                    .collect();
                prop_assert_eq!(&fired(&automaton, value), &expected, "automaton on {:?}", value);
                prop_assert_eq!(&fired(&one_by_one, value), &expected, "one by one on {:?}", value);
            }
        }
    }
}
