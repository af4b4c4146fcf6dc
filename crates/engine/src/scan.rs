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
    automaton: Option<AhoCorasick>,
    /// A packed (SIMD) searcher over the automaton's patterns, when there are few enough:
    /// it only says whether any pattern occurs.
    prefilter: Option<aho_corasick::packed::Searcher>,
    /// Per automaton pattern: a range of `anchored`.
    pattern_atoms: Vec<(u32, u32)>,
    anchored: Vec<Anchored>,
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
    pub fn build(
        atoms: &[Atom],
        ids: &[AtomId],
        kind: AutomatonKind,
    ) -> Result<FieldScan, aho_corasick::BuildError> {
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
        if !order.is_empty() {
            for text in &order {
                let list = patterns.remove(text).unwrap_or_default();
                let start = scan.anchored.len() as u32;
                scan.pattern_atoms.push((start, list.len() as u32));
                scan.anchored.extend(list);
            }
            if order.len() <= PREFILTER_MAX_PATTERNS {
                let mut builder = aho_corasick::packed::Config::new().builder();
                builder.extend(order.iter());
                scan.prefilter = builder.build();
            }
            scan.automaton = Some(
                AhoCorasick::builder()
                    .match_kind(MatchKind::Standard)
                    .kind(kind.to_ac(order.len()))
                    .build(&order)?,
            );
        }
        Ok(scan)
    }

    /// Whether values are searched with an automaton (the costly part of a scan, worth
    /// remembering per value).
    #[inline]
    pub fn has_automaton(&self) -> bool {
        self.automaton.is_some()
    }

    pub fn pattern_count(&self) -> usize {
        self.pattern_atoms.len()
    }

    /// Whether any automaton pattern may occur in `lower` (no false negatives). Cheap when the
    /// field has a packed prefilter; otherwise always true.
    #[inline]
    pub fn may_match(&self, lower: &str) -> bool {
        self.prefilter
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
        if let Some(automaton) = &self.automaton {
            // Most values hold none of a small pattern set: a SIMD search (Teddy) rejects
            // them twenty times faster than the automaton could.
            if !self.may_match(lower) {
                return;
            }
            let end = lower.len();
            for m in automaton.find_overlapping_iter(lower) {
                let (start, len) = self.pattern_atoms[m.pattern().as_usize()];
                for anchored in &self.anchored[start as usize..(start + len) as usize] {
                    let found_end = match &anchored.full {
                        None => m.end(),
                        Some(full) => {
                            if !lower[m.start()..].starts_with(&**full) {
                                continue;
                            }
                            m.start() + full.len()
                        }
                    };
                    let holds = match anchored.anchor {
                        Anchor::Contains => true,
                        Anchor::Prefix => m.start() == 0,
                        Anchor::Suffix => found_end == end,
                        Anchor::Equals => m.start() == 0 && found_end == end,
                    };
                    if holds {
                        fire(anchored.atom);
                    }
                }
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
