//! Bulk answers for literal atoms: per field, one pass over each (lower-cased) value answers
//! every literal and number atom of every rule on that field.
//!
//! - equality atoms and numbers written as text: one hash lookup of the whole value;
//! - numbers: one hash lookup of the value read as a number;
//! - prefix, suffix and substring atoms: one Aho-Corasick automaton over all their texts,
//!   searched with overlapping matches; a prefix hit must start at 0, a suffix hit end at the
//!   value's end.

use crate::atoms::{Atom, AtomField, AtomId, ScanKind};
use crate::automaton::Automaton;
use crate::fx::FxMap;
use crate::matcher::{Anchor, Literal, Matcher, NumKey};

/// The scan tables of one field (or of the keyword pseudo-field).
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct FieldScan {
    #[serde(with = "crate::fx::sorted")]
    equals: FxMap<Box<str>, (u32, u32)>,
    /// The byte lengths of the `equals` keys (bit `n` for length `n < 256`, bit 255 for
    /// longer): most values are skipped without hashing them.
    equal_lengths: [u64; 4],
    #[serde(with = "crate::fx::sorted")]
    numbers: FxMap<NumKey, (u32, u32)>,
    #[serde(with = "crate::fx::exact_vec")]
    pool: Vec<AtomId>,
    /// Atoms true for every value (empty prefix, suffix or substring).
    every: Vec<AtomId>,
    /// The automaton over the keys of the prefix, suffix and substring atoms. Built by the
    /// first value that needs it (a hunt often never sees most fields: a corpus without
    /// registry events never builds the registry fields' automata), or by a snapshot, which
    /// keeps it.
    automaton: Automaton,
    /// Per automaton pattern: a range of `anchored`.
    #[serde(with = "crate::fx::exact_vec")]
    pattern_atoms: Vec<(u32, u32)>,
    #[serde(with = "crate::fx::exact_vec")]
    anchored: Vec<Anchored>,
    /// The rest of each literal longer than its automaton pattern, one after another (see
    /// [`Anchored::tail`]).
    tails: Box<str>,
    /// For keyword scans: a search of the event's whole text in its own case (see
    /// [`CaseGate`]). Not in snapshots: built again from the patterns when `case_gated`.
    #[serde(skip)]
    gate: Option<CaseGate>,
    /// A case gate was asked for ([`FieldScan::with_case_gate`]).
    case_gated: bool,
}

/// Most case variants a [`CaseGate`] searches for (a packed searcher handles a few dozen
/// patterns well).
const GATE_MAX_VARIANTS: usize = 64;

/// Up to how many bytes of each literal a [`CaseGate`] searches for.
const GATE_KEY_BYTES: usize = 3;

/// A keyword scan's whole-event prefilter. Keywords are searched in every value of an event,
/// lower-cased; lowering each value costs more than the search, and for most events no
/// keyword occurs anywhere. The gate searches the event's text as it is for every ASCII case
/// variant of a short ASCII piece of each literal (the piece with the fewest letters): each
/// character of a lowered value comes from one character of the value, and the only
/// non-ASCII characters whose lower case holds ASCII are the Kelvin sign (`k`) and the
/// dotted capital I (`i` and a combining dot), which the gate searches for as well. So a
/// value whose lowered text holds a literal holds one of the gate's patterns, and no hit
/// proves that no atom fires.
#[derive(Debug)]
struct CaseGate {
    searcher: aho_corasick::packed::Searcher,
    /// The characters of [`LOWERING_TO_ASCII`], searched apart: the dotted capital I is two
    /// bytes long, and a packed searcher with a two-byte pattern checks every pattern's
    /// candidates on two bytes instead of three.
    lowering_to_ascii: [memchr::memmem::Finder<'static>; 2],
}

/// The non-ASCII characters whose lower case holds an ASCII character
/// (`non_ascii_characters_lowering_to_ascii` checks the list against `char::to_lowercase`).
const LOWERING_TO_ASCII: [char; 2] = ['\u{130}', '\u{212a}'];

impl CaseGate {
    /// `None` when a scan atom is not a plain literal (numbers compare by value, and an empty
    /// literal is in every value), a literal has no ASCII piece, or the variants are too many.
    fn build(scan: &FieldScan) -> Option<CaseGate> {
        if !scan.every.is_empty() || !scan.numbers.is_empty() {
            return None;
        }
        let mut variants: Vec<Vec<u8>> = Vec::new();
        // A value equal to a literal holds it too.
        let equal = scan.equals.keys().map(|literal| &**literal);
        for literal in scan.automaton.patterns().iter().chain(equal) {
            let key = gate_key(literal.as_bytes())?;
            for variant in case_variants(key) {
                if !variants.contains(&variant) {
                    variants.push(variant);
                }
            }
            if variants.len() > GATE_MAX_VARIANTS {
                return None;
            }
        }
        let mut builder = aho_corasick::packed::Config::new().builder();
        builder.extend(&variants);
        let finder = |c: char| {
            memchr::memmem::Finder::new(c.encode_utf8(&mut [0; 4]).as_bytes()).into_owned()
        };
        Some(CaseGate {
            searcher: builder.build()?,
            lowering_to_ascii: LOWERING_TO_ASCII.map(finder),
        })
    }

    #[inline]
    fn may_match(&self, text: &str) -> bool {
        self.searcher.find(text).is_some()
            || (!text.is_ascii()
                && self
                    .lowering_to_ascii
                    .iter()
                    .any(|finder| finder.find(text.as_bytes()).is_some()))
    }
}

/// The piece of a literal the gate searches for: the first of its all-ASCII windows of
/// [`GATE_KEY_BYTES`] bytes (or the whole literal when shorter) with the fewest letters
/// (fewest case variants), and of those one without a path separator or space if it can:
/// those are in nearly every Windows event (`\mi` of `\mimilib.dll` is in every
/// `\Microsoft` path, `ib.` is rare). `None` when it has none (or is empty).
fn gate_key(literal: &[u8]) -> Option<&[u8]> {
    let width = literal.len().min(GATE_KEY_BYTES);
    let letters = |w: &[u8]| w.iter().filter(|b| b.is_ascii_alphabetic()).count();
    let separators = |w: &[u8]| w.iter().any(|b| matches!(b, b'\\' | b'/' | b' '));
    if width == 0 {
        return None;
    }
    literal
        .windows(width)
        .filter(|w| w.is_ascii())
        .min_by_key(|w| (letters(w), separators(w)))
}

/// Every spelling of `key` with its ASCII letters in either case.
fn case_variants(key: &[u8]) -> Vec<Vec<u8>> {
    let mut variants = vec![Vec::with_capacity(key.len())];
    for &byte in key {
        if byte.is_ascii_alphabetic() {
            let upper: Vec<Vec<u8>> = variants
                .iter()
                .map(|v| {
                    let mut v = v.clone();
                    v.push(byte.to_ascii_uppercase());
                    v
                })
                .collect();
            for v in &mut variants {
                v.push(byte.to_ascii_lowercase());
            }
            variants.extend(upper);
        } else {
            for v in &mut variants {
                v.push(byte);
            }
        }
    }
    variants
}

/// An atom behind an automaton pattern. The automaton holds at most [`KEY_BYTES`] of each
/// literal; longer ones are checked in full where their start matched.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Anchored {
    atom: AtomId,
    anchor: Anchor,
    /// Where the rest of the literal after the pattern is in the scan's `tails` (start and
    /// length; empty when the pattern is the whole literal). One text for all tails instead
    /// of a string each: reading a snapshot allocated 17,000 of them.
    tail: (u32, u32),
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
    #[cfg(test)]
    pub(crate) fn automaton(&self) -> &Automaton {
        &self.automaton
    }

    /// Whether every index is in range, with `atoms` atoms (for scans read from snapshots).
    pub fn check(&self, atoms: usize) -> Result<(), String> {
        let in_pool = |&(start, len): &(u32, u32)| {
            (start as usize)
                .checked_add(len as usize)
                .is_some_and(|end| end <= self.pool.len())
        };
        let in_anchored = |&(start, len): &(u32, u32)| {
            (start as usize)
                .checked_add(len as usize)
                .is_some_and(|end| end <= self.anchored.len())
        };
        let atom = |&id: &AtomId| (id as usize) < atoms;
        let in_tails = |a: &Anchored| {
            let (start, len) = a.tail;
            (start as usize)
                .checked_add(len as usize)
                .is_some_and(|end| end <= self.tails.len())
        };
        if !self.anchored.iter().all(in_tails) {
            return Err("a literal's tail is out of bounds".into());
        }
        if !self
            .equals
            .values()
            .chain(self.numbers.values())
            .all(in_pool)
        {
            return Err("a scan table range is out of bounds".into());
        }
        if !self.pattern_atoms.iter().all(in_anchored)
            || self.pattern_atoms.len() != self.automaton.patterns().len()
        {
            return Err("an automaton pattern's atoms are out of bounds".into());
        }
        if !(self.pool.iter().all(atom)
            && self.every.iter().all(atom)
            && self.anchored.iter().all(|a| atom(&a.atom)))
        {
            return Err("a scan names an atom that does not exist".into());
        }
        Ok(())
    }

    /// Builds the tables for the given scan atoms (all on the same field).
    pub fn build(atoms: &[Atom], ids: &[AtomId]) -> FieldScan {
        let mut equals: FxMap<Box<str>, Vec<AtomId>> = FxMap::default();
        let mut numbers: FxMap<NumKey, Vec<AtomId>> = FxMap::default();
        let mut patterns: FxMap<&str, Vec<Anchored>> = FxMap::default();
        let mut order: Vec<&str> = Vec::new();
        let mut every: Vec<AtomId> = Vec::new();
        let mut tails = String::new();
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
                    let tail = &text[key.len()..];
                    let start = tails.len() as u32;
                    tails.push_str(tail);
                    entry.push(Anchored {
                        atom: id,
                        anchor: *anchor,
                        tail: (start, tail.len() as u32),
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
            tails: tails.into(),
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
        scan.automaton = Automaton::new(order.iter().copied().collect());
        scan
    }

    /// Builds the [`CaseGate`] of a keyword scan, when its atoms allow one.
    pub fn with_case_gate(mut self) -> FieldScan {
        self.case_gated = true;
        self.restore();
        self
    }

    pub fn has_case_gate(&self) -> bool {
        self.gate.is_some()
    }

    /// Builds what a snapshot does not hold, in a scan read from one: its case gate, if it
    /// had one.
    pub fn restore(&mut self) {
        if self.case_gated {
            self.gate = CaseGate::build(self);
        }
    }

    /// Whether an event whose [`EventView::all_text`](crate::EventView::all_text) is
    /// `all_text` may hold a value this scan fires an atom for (no false negatives): `false`
    /// spares lowering and searching its values.
    #[inline]
    pub fn may_fire_in(&self, all_text: Option<&str>) -> bool {
        match (&self.gate, all_text) {
            (Some(gate), Some(text)) => gate.may_match(text),
            _ => true,
        }
    }

    /// Builds the automaton now, if the scan has one and it is not built yet.
    pub fn build_automaton(&self) {
        if self.has_automaton() {
            self.automaton.build();
        }
    }

    /// Whether values are searched with an automaton (the costly part of a scan, worth
    /// remembering per value).
    #[inline]
    pub fn has_automaton(&self) -> bool {
        !self.automaton.is_empty()
    }

    pub fn pattern_count(&self) -> usize {
        self.pattern_atoms.len()
    }

    /// Whether any automaton pattern may occur in `lower` (no false negatives). Cheap when the
    /// field has a packed prefilter; otherwise always true.
    #[inline]
    pub fn may_match(&self, lower: &str) -> bool {
        self.automaton.is_empty() || self.automaton.may_match(lower)
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
        if self.has_automaton() {
            self.automaton.for_each_match(lower, |pattern, start| {
                self.fire_pattern(pattern, start, lower, fire)
            });
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
        let key_end = start + self.automaton.patterns().get(pattern).len();
        for anchored in &self.anchored[first as usize..(first + len) as usize] {
            let found_end = match anchored.tail {
                (_, 0) => key_end,
                (tail_start, tail_len) => {
                    // Tails are checked when read (`check`): this never falls back.
                    let tail_end = tail_start as usize + tail_len as usize;
                    let tail = self
                        .tails
                        .as_bytes()
                        .get(tail_start as usize..tail_end)
                        .unwrap_or_default();
                    if !lower.as_bytes()[key_end..].starts_with(tail) {
                        continue;
                    }
                    key_end + tail.len()
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
        let mut scan = FieldScan::build(atoms, ids);
        scan.automaton = Automaton::without_automaton(scan.automaton.patterns().clone());
        scan
    }

    /// A field scan written as a snapshot writes it and read back: its automaton is the
    /// stored one.
    fn read_back(atoms: &[Atom], ids: &[AtomId]) -> FieldScan {
        let bytes = postcard::to_allocvec(&FieldScan::build(atoms, ids)).expect("encoded");
        let scan: FieldScan = postcard::from_bytes(&bytes).expect("decoded");
        assert!(!scan.has_automaton() || scan.automaton.is_stored());
        scan
    }

    #[test]
    fn check_finds_every_index_out_of_range() {
        let atoms = literal_atoms(&[
            (Anchor::Suffix, "\\cmd.exe".into()),
            (Anchor::Equals, "x".into()),
            (Anchor::Prefix, "".into()),
        ]);
        let built = || FieldScan::build(&atoms, &[0, 1, 2]);
        assert_eq!(built().check(atoms.len()), Ok(()));
        assert!(built().check(2).is_err(), "an atom beyond the table");
        type Damage = fn(&mut FieldScan);
        let damages: [(&str, Damage); 7] = [
            ("pool", |scan| scan.pool[0] = 3),
            ("every", |scan| scan.every[0] = 3),
            ("anchored", |scan| scan.anchored[0].atom = 3),
            ("tail", |scan| scan.anchored[0].tail = (0, 99)),
            ("pattern range", |scan| scan.pattern_atoms[0].1 += 1),
            ("more pattern ranges than patterns", |scan| {
                scan.pattern_atoms.push((0, 0))
            }),
            ("equals", |scan| {
                scan.equals.values_mut().next().expect("equals").0 = u32::MAX
            }),
        ];
        for (what, damage) in damages {
            let mut scan = built();
            damage(&mut scan);
            assert!(scan.check(3).is_err(), "{what}");
        }
    }

    #[test]
    fn automata_are_built_on_first_use() {
        let atoms = literal_atoms(&[(Anchor::Suffix, "\\cmd.exe".into())]);
        let scan = FieldScan::build(&atoms, &[0]);
        assert!(scan.has_automaton());
        assert!(!scan.automaton.is_built());
        assert_eq!(fired(&scan, "c:\\windows\\system32\\cmd.exe"), [0]);
        assert!(scan.automaton.is_built());
    }

    #[test]
    fn long_literals_are_checked_in_full_after_their_key() {
        let atoms = literal_atoms(&[
            (Anchor::Contains, "abcdefghijklmnop".into()),
            (Anchor::Suffix, "abcdefghijklmnop".into()),
            (Anchor::Prefix, "abcdefghijklxyz".into()),
        ]);
        for scan in [
            FieldScan::build(&atoms, &[0, 1, 2]),
            without_automaton(&atoms, &[0, 1, 2]),
            read_back(&atoms, &[0, 1, 2]),
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

    #[test]
    fn gate_keys_are_the_windows_with_fewest_letters() {
        let key = |literal: &str| gate_key(literal.as_bytes()).map(|k| k.to_vec());
        assert_eq!(key("sekurlsa::"), Some(b"a::".to_vec()));
        assert_eq!(key("dpapi::masterkey"), Some(b"i::".to_vec()));
        assert_eq!(key("mimidrv.sys"), Some(b"rv.".to_vec()));
        // Of the windows with fewest letters, one without a separator or space.
        assert_eq!(key("\\mimilib.dll"), Some(b"ib.".to_vec()));
        assert_eq!(key("Kiwi Legit Printer"), Some(b"wi ".to_vec()));
        assert_eq!(key("a\\b"), Some(b"a\\b".to_vec()));
        assert_eq!(key("ab"), Some(b"ab".to_vec()));
        assert_eq!(key("abcd"), Some(b"abc".to_vec()));
        // Only all-ASCII pieces.
        assert_eq!(key("\u{e9}t\u{e9}.x"), None);
        assert_eq!(key("caf\u{e9}.exe"), Some(b".ex".to_vec()));
        assert_eq!(key("\u{e9}t\u{e9}"), None);
        assert_eq!(key(""), None);
        assert_eq!(
            case_variants(b"a:b"),
            [b"a:b", b"A:b", b"a:B", b"A:B"].map(|v| v.to_vec())
        );
        assert_eq!(case_variants(b"::1"), [b"::1".to_vec()]);
    }

    fn keyword_scan(literals: &[&str]) -> FieldScan {
        let literals: Vec<(Anchor, String)> = literals
            .iter()
            .map(|l| (Anchor::Contains, l.to_string()))
            .collect();
        let atoms = literal_atoms(&literals);
        let ids: Vec<AtomId> = (0..atoms.len() as AtomId).collect();
        FieldScan::build(&atoms, &ids).with_case_gate()
    }

    #[test]
    fn the_case_gate_passes_text_that_may_hold_a_keyword() {
        let scan = keyword_scan(&["sekurlsa::", "mimidrv.sys", "kiwi legit printer"]);
        assert!(scan.gate.is_some());
        for text in [
            "CommandLine\nmimikatz SEKURLSA::logonpasswords",
            "x\nC:\\Windows\\MimiDrv.SYS",
            "Kiwi Legit Printer",
            // The Kelvin sign lowers to `k`.
            "\u{212a}iwi Legit Printer",
        ] {
            assert!(scan.may_fire_in(Some(text)), "{text}");
        }
        for text in [
            "",
            "C:\\Windows\\System32\\cmd.exe /c dir",
            "sekurlsa:x",
            "Microsoft\u{ae} Windows\u{ae} Operating System",
        ] {
            assert!(!scan.may_fire_in(Some(text)), "{text}");
        }
        // Events without a whole text are always searched.
        assert!(scan.may_fire_in(None));
        // The two characters that lower to ASCII: `\u{212a}IWI` lowers to `kiwi`, and
        // `X\u{130}` to `xi` and a combining dot.
        let scan = keyword_scan(&["kiwi", "xi"]);
        assert!(scan.may_fire_in(Some("\u{212a}IWI")));
        assert!(scan.may_fire_in(Some("X\u{130}")));
        assert!(!scan.may_fire_in(Some("KIX XJ")));
        // A literal without an ASCII piece: no gate.
        assert!(keyword_scan(&["\u{e9}t\u{e9}"]).gate.is_none());
    }

    #[test]
    fn non_ascii_characters_lowering_to_ascii() {
        let found: Vec<char> = (0..=u32::from(char::MAX))
            .filter_map(char::from_u32)
            .filter(|c| !c.is_ascii() && c.to_lowercase().any(|l| l.is_ascii()))
            .collect();
        assert_eq!(found, LOWERING_TO_ASCII);
    }

    #[test]
    fn no_case_gate_for_an_empty_literal_or_numbers() {
        assert!(keyword_scan(&[""]).gate.is_none());
        let atoms = vec![Atom {
            field: AtomField::Keyword,
            matcher: Matcher::Literal(Literal::new(Anchor::Equals, "", false)),
            scan: ScanKind::Exact,
            hints: Box::default(),
        }];
        assert!(
            FieldScan::build(&atoms, &[0])
                .with_case_gate()
                .gate
                .is_none()
        );
        // Too many variants: no gate, every event is searched.
        let many: Vec<String> = (0..40).map(|i| format!("ab{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let scan = keyword_scan(&many);
        assert!(scan.gate.is_none());
        assert!(scan.may_fire_in(Some("nothing")));
    }

    proptest! {
        /// The case gate never turns away an event one of whose values the keyword scan fires
        /// an atom for, whatever the case of the values (the Kelvin sign lowers to `k`).
        #[test]
        fn the_case_gate_has_no_false_negatives(
            literals in prop::collection::vec((anchor(), "[ak:.\u{e9}]{0,6}"), 1..6),
            values in prop::collection::vec(
                prop_oneof![4 => "[aAkK:. ]{0,12}", 1 => "[aAkK:.\u{e9}\u{c9}\u{212a} ]{0,12}"],
                0..4,
            ),
        ) {
            let literals: Vec<(Anchor, String)> = literals
                .into_iter()
                .map(|(anchor, text)| (anchor, crate::text::lower(&text)))
                .collect();
            let atoms = literal_atoms(&literals);
            let ids: Vec<AtomId> = (0..atoms.len() as AtomId).collect();
            let scan = FieldScan::build(&atoms, &ids).with_case_gate();
            let all_text = values.join("\n");
            for value in &values {
                let lower = crate::text::lower(value);
                let mut any = false;
                scan.scan(value, &lower, &mut |_| any = true);
                if any {
                    prop_assert!(scan.may_fire_in(Some(&all_text)), "{:?} in {:?}", value, all_text);
                }
            }
        }
    }

    proptest! {
        /// The automaton, the one read back from a snapshot's bytes, the one-by-one search
        /// and each literal's own matcher agree on
        /// every value (a small alphabet makes overlaps and repeats common; literals longer
        /// than the automaton's 12-byte keys are included).
        #[test]
        fn scans_agree_with_the_literals_themselves(
            literals in prop::collection::vec((anchor(), "[ab.]{0,15}"), 1..40),
            values in prop::collection::vec("[ab.]{0,24}", 1..20),
        ) {
            let atoms = literal_atoms(&literals);
            let ids: Vec<AtomId> = (0..atoms.len() as AtomId).collect();
            let automaton = FieldScan::build(&atoms, &ids);
            let one_by_one = without_automaton(&atoms, &ids);
            let restored = read_back(&atoms, &ids);
            for value in &values {
                let expected: Vec<AtomId> = ids
                    .iter()
                    .copied()
                    .filter(|&id| atoms[id as usize].matcher.test_value(FieldValue::string(value), value))
                    .collect();
                prop_assert_eq!(&fired(&automaton, value), &expected, "automaton on {:?}", value);
                prop_assert_eq!(&fired(&one_by_one, value), &expected, "one by one on {:?}", value);
                prop_assert_eq!(&fired(&restored, value), &expected, "read back on {:?}", value);
            }
        }
    }
}
