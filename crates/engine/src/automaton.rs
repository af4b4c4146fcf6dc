//! A field's multi-pattern automaton: built from its patterns on first use, or read back from
//! the bytes a snapshot kept of it.
//!
//! Building the automata was a sixth of the instructions of a hunt over the EVTX corpus with
//! the 2,407 Windows rules, every time. `daachorse`'s double-array automata can be written out
//! and read back, so a snapshot holds every automaton of the rule set (writing one builds them
//! all) and a hunt that reads the snapshot only copies the ones it searches.
//!
//! Bytes read back are checked before use: `daachorse` checks that every index is in bounds,
//! and [`fail_links_end_at_root`] that no chain of failure links is a cycle (a cycle would make
//! a search loop forever). Bytes that fail either check are dropped and the automaton is built
//! from the patterns. A snapshot's checksum already catches damage; these checks are for
//! bytes made to pass it, which can change what the rules match (as any forged rule can) but
//! cannot crash or hang a hunt. A match's pattern and position are checked where they are used.

use bytes::Bytes;
use daachorse::{DoubleArrayAhoCorasick, DoubleArrayAhoCorasickBuilder, MatchKind};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::sync::OnceLock;

/// Most patterns for which the packed prefilter is built (Teddy handles up to a few dozen
/// patterns well).
const PREFILTER_MAX_PATTERNS: usize = 64;

/// Patterns back to back in one string: a snapshot's 23,000 patterns decode as two
/// allocations instead of one each.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Patterns {
    text: Box<str>,
    /// Where each pattern ends in `text`.
    ends: Box<[u32]>,
}

impl Patterns {
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Pattern `index` (of fewer than [`Patterns::len`]).
    pub(crate) fn get(&self, index: usize) -> &str {
        let start = index
            .checked_sub(1)
            .map_or(0, |before| self.ends[before] as usize);
        // Ends are checked when read (see `Deserialize`): this never falls back.
        self.text
            .get(start..self.ends[index] as usize)
            .unwrap_or_default()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.len()).map(|index| self.get(index))
    }
}

impl<'a> FromIterator<&'a str> for Patterns {
    fn from_iter<I: IntoIterator<Item = &'a str>>(patterns: I) -> Patterns {
        let mut text = String::new();
        let mut ends = Vec::new();
        for pattern in patterns {
            text.push_str(pattern);
            ends.push(text.len() as u32);
        }
        Patterns {
            text: text.into(),
            ends: ends.into(),
        }
    }
}

impl<'de> Deserialize<'de> for Patterns {
    /// Refuses ends that are not ascending char boundaries ending at the text's end.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            text: Box<str>,
            #[serde(with = "crate::fx::exact_vec")]
            ends: Vec<u32>,
        }
        let raw = Raw::deserialize(deserializer)?;
        let mut start = 0;
        for &end in &raw.ends {
            let end = end as usize;
            if end < start || !raw.text.is_char_boundary(end) {
                return Err(serde::de::Error::custom("pattern ends out of order"));
            }
            start = end;
        }
        if start != raw.text.len() {
            return Err(serde::de::Error::custom("pattern ends short of the text"));
        }
        Ok(Patterns {
            text: raw.text,
            ends: raw.ends.into(),
        })
    }
}

/// The patterns of one field and what searches for them.
#[derive(Default)]
pub(crate) struct Automaton {
    patterns: Patterns,
    /// The automaton as a snapshot kept it, until first use: a view of the snapshot's bytes
    /// where they are shared ([`SharedSnapshot`]), else a copy.
    stored: Option<Bytes>,
    searcher: OnceLock<Searcher>,
}

struct Searcher {
    /// `None` when the pattern set is beyond the automaton's size limits: the patterns are
    /// then searched one by one, which is slower but exact.
    automaton: Option<DoubleArrayAhoCorasick<u32>>,
    /// A packed (SIMD) searcher over the patterns, when there are few enough: it only says
    /// whether any pattern occurs, twenty times faster than the automaton says none does.
    prefilter: Option<aho_corasick::packed::Searcher>,
}

impl Automaton {
    pub(crate) fn new(patterns: Patterns) -> Automaton {
        Automaton {
            patterns,
            ..Automaton::default()
        }
    }

    pub(crate) fn patterns(&self) -> &Patterns {
        &self.patterns
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The searcher: read from the stored bytes if they pass the checks, else built.
    fn searcher(&self) -> &Searcher {
        self.searcher.get_or_init(|| {
            let automaton = self
                .stored
                .as_deref()
                .and_then(read_automaton)
                .or_else(|| build_automaton(&self.patterns));
            Searcher {
                automaton,
                prefilter: build_prefilter(&self.patterns),
            }
        })
    }

    /// Builds the searcher now, if it is not built yet (snapshots hold every automaton).
    pub(crate) fn build(&self) {
        self.searcher();
    }

    /// Whether some pattern may occur in `text` (no false negatives). Cheap when there is a
    /// packed prefilter; otherwise always true.
    #[inline]
    pub(crate) fn may_match(&self, text: &str) -> bool {
        self.searcher()
            .prefilter
            .as_ref()
            .is_none_or(|prefilter| prefilter.find(text).is_some())
    }

    /// Calls `found(pattern, start)` for every occurrence of a pattern in `text`, overlapping
    /// ones included, after the prefilter (if any) found one.
    #[inline]
    pub(crate) fn for_each_match(&self, text: &str, mut found: impl FnMut(usize, usize)) {
        let searcher = self.searcher();
        if searcher
            .prefilter
            .as_ref()
            .is_some_and(|prefilter| prefilter.find(text).is_none())
        {
            return;
        }
        match &searcher.automaton {
            Some(automaton) => {
                for m in automaton.find_overlapping_iter(text) {
                    // Always true of a built automaton; checked for one read from bytes.
                    let pattern = m.value() as usize;
                    if pattern < self.patterns.len() && m.start() < text.len() {
                        found(pattern, m.start());
                    }
                }
            }
            None => {
                for (pattern, needle) in self.patterns.iter().enumerate() {
                    // Every occurrence, overlapping ones included (`find_iter` skips those).
                    let finder = memchr::memmem::Finder::new(needle.as_bytes());
                    let mut from = 0;
                    while let Some(at) = finder.find(&text.as_bytes()[from..]) {
                        found(pattern, from + at);
                        from += at + 1;
                    }
                }
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn is_built(&self) -> bool {
        self.searcher.get().is_some()
    }

    /// The stored bytes of the searcher.
    #[cfg(test)]
    pub(crate) fn stored_bytes(&self) -> Option<&Bytes> {
        self.stored.as_ref()
    }

    #[cfg(test)]
    pub(crate) fn is_stored(&self) -> bool {
        self.stored.is_some()
    }

    #[cfg(test)]
    pub(crate) fn without_automaton(patterns: Patterns) -> Automaton {
        let automaton = Automaton::new(patterns);
        let prefilter = build_prefilter(&automaton.patterns);
        if automaton
            .searcher
            .set(Searcher {
                automaton: None,
                prefilter,
            })
            .is_err()
        {
            unreachable!("a new automaton has no searcher");
        }
        automaton
    }
}

impl std::fmt::Debug for Automaton {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Automaton")
            .field("patterns", &self.patterns.len())
            .field("built", &self.searcher.get().is_some())
            .finish()
    }
}

fn build_automaton(patterns: &Patterns) -> Option<DoubleArrayAhoCorasick<u32>> {
    if patterns.is_empty() {
        return None;
    }
    DoubleArrayAhoCorasickBuilder::new()
        .match_kind(MatchKind::Standard)
        // The packed prefilter does this job for small sets; daachorse's own costs 64 KiB an
        // automaton in memory and in snapshots.
        .use_prefilter(false)
        .build(patterns.iter().map(str::as_bytes))
        .ok()
}

fn build_prefilter(patterns: &Patterns) -> Option<aho_corasick::packed::Searcher> {
    if patterns.is_empty() || patterns.len() > PREFILTER_MAX_PATTERNS {
        return None;
    }
    let mut builder = aho_corasick::packed::Config::new().builder();
    builder.extend(patterns.iter().map(str::as_bytes));
    builder.build()
}

/// The automaton in `bytes`, if they hold exactly one that passes the checks.
fn read_automaton(bytes: &[u8]) -> Option<DoubleArrayAhoCorasick<u32>> {
    if !fail_links_end_at_root(bytes) {
        return None;
    }
    match DoubleArrayAhoCorasick::<u32>::deserialize(bytes) {
        Ok((automaton, [])) => Some(automaton),
        _ => None,
    }
}

/// The state daachorse starts from; a search follows failure links until it reaches it.
const ROOT: usize = 0;

/// Whether every state's chain of failure links reaches the root. The bytes start with the
/// standard automaton's states as daachorse 5 writes them: their count (`u32`, little endian),
/// then per state its base, failure link and output/check word (`u32` each). Bytes of any
/// other layout fail the check, and the automaton is built instead (a unit test checks that a
/// built automaton passes, so a daachorse that changed its layout would be noticed).
fn fail_links_end_at_root(bytes: &[u8]) -> bool {
    const STATE_BYTES: usize = 12;
    const ON_CHAIN: u8 = 1;
    const REACHES_ROOT: u8 = 2;
    let Some((count, states)) = bytes.split_first_chunk::<4>() else {
        return false;
    };
    let count = u32::from_le_bytes(*count) as usize;
    let Some(states) = count
        .checked_mul(STATE_BYTES)
        .and_then(|len| states.get(..len))
    else {
        return false;
    };
    let fail_link = |state: usize| {
        let at = state * STATE_BYTES + 4;
        let mut link = [0; 4];
        link.copy_from_slice(&states[at..at + 4]);
        u32::from_le_bytes(link) as usize
    };
    let mut seen = vec![0u8; count];
    let mut chain = Vec::new();
    for start in 0..count {
        let mut state = start;
        while state != ROOT && seen[state] != REACHES_ROOT {
            if seen[state] == ON_CHAIN {
                return false;
            }
            seen[state] = ON_CHAIN;
            chain.push(state);
            state = fail_link(state);
            if state >= count {
                return false;
            }
        }
        for &s in &chain {
            seen[s] = REACHES_ROOT;
        }
        chain.clear();
    }
    true
}

/// How a snapshot holds an automaton: its patterns and, once built, its bytes.
#[derive(Serialize)]
struct StoredRef<'a> {
    patterns: &'a Patterns,
    #[serde(with = "serde_bytes")]
    automaton: Option<Vec<u8>>,
}

#[derive(Deserialize)]
struct Stored<'a> {
    patterns: Patterns,
    #[serde(borrow)]
    automaton: Option<&'a [u8]>,
}

thread_local! {
    /// The snapshot being read on this thread, when its bytes are shared.
    static SHARED: RefCell<Option<Bytes>> = const { RefCell::new(None) };
}

/// While alive, automata read on this thread keep views of `bytes` (the snapshot being read)
/// instead of copies of their parts of it: reading a snapshot of the Windows rules copied
/// 2 MB of automata into fresh memory.
pub(crate) struct SharedSnapshot(());

impl SharedSnapshot {
    pub(crate) fn new(bytes: &Bytes) -> SharedSnapshot {
        SHARED.with_borrow_mut(|shared| *shared = Some(bytes.clone()));
        SharedSnapshot(())
    }
}

impl Drop for SharedSnapshot {
    fn drop(&mut self) {
        SHARED.with_borrow_mut(|shared| *shared = None);
    }
}

/// `part` as a view of the shared snapshot it is a slice of, else a copy.
fn keep(part: &[u8]) -> Bytes {
    SHARED.with_borrow(|shared| {
        let within = shared.as_ref().filter(|whole| {
            let start = (part.as_ptr() as usize).wrapping_sub(whole.as_ptr() as usize);
            start <= whole.len() && part.len() <= whole.len() - start
        });
        match within {
            Some(whole) => whole.slice_ref(part),
            None => Bytes::copy_from_slice(part),
        }
    })
}

impl Serialize for Automaton {
    /// Builds the automaton if it is not built yet.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let automaton = self.searcher().automaton.as_ref().map(|a| a.serialize());
        StoredRef {
            patterns: &self.patterns,
            automaton,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Automaton {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let stored = Stored::deserialize(deserializer)?;
        Ok(Automaton {
            patterns: stored.patterns,
            stored: stored.automaton.map(keep),
            searcher: OnceLock::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patterns(texts: &[&str]) -> Patterns {
        texts.iter().copied().collect()
    }

    #[test]
    fn patterns_are_kept_back_to_back_and_checked_when_read() {
        let packed = patterns(&["cmd.exe", "", "\\t\u{e9}mp\\"]);
        assert_eq!(packed.len(), 3);
        assert_eq!(
            packed.iter().collect::<Vec<_>>(),
            ["cmd.exe", "", "\\t\u{e9}mp\\"]
        );
        assert!(Patterns::default().is_empty());
        let bytes = postcard::to_allocvec(&packed).expect("encodes");
        let back: Patterns = postcard::from_bytes(&bytes).expect("decodes");
        assert_eq!(back, packed);
        let with = |text: &str, ends: &[u32]| {
            let raw = Patterns {
                text: text.into(),
                ends: ends.into(),
            };
            postcard::from_bytes::<Patterns>(&postcard::to_allocvec(&raw).expect("encodes")).is_ok()
        };
        assert!(with("abc", &[1, 3]));
        assert!(with("", &[]));
        assert!(with("abc", &[0, 3]));
        // Descending, past the text, short of it, inside a character.
        assert!(!with("abc", &[2, 1, 3]));
        assert!(!with("abc", &[4]));
        assert!(!with("abc", &[2]));
        assert!(!with("\u{e9}", &[1, 2]));
    }

    fn matches(automaton: &Automaton, text: &str) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        automaton.for_each_match(text, |pattern, start| out.push((pattern, start)));
        out.sort_unstable();
        out
    }

    fn built_bytes(texts: &[&str]) -> Vec<u8> {
        build_automaton(&patterns(texts))
            .expect("built")
            .serialize()
    }

    /// An automaton as a snapshot stores it, with its bytes changed by `damage`.
    fn stored(texts: &[&str], damage: impl FnOnce(&mut Vec<u8>)) -> Automaton {
        let mut bytes = built_bytes(texts);
        damage(&mut bytes);
        Automaton {
            patterns: patterns(texts),
            stored: Some(Bytes::from(bytes)),
            searcher: OnceLock::new(),
        }
    }

    const TEXTS: [&str; 4] = ["cmd.exe", "md", "\\temp\\", "exe"];
    const VALUE: &str = "c:\\temp\\cmd.exe";

    /// Read while a snapshot's bytes are shared, an automaton keeps a view of them; read
    /// otherwise (or after), a copy. Either finds the same matches.
    #[test]
    fn automata_read_from_shared_bytes_keep_views_of_them() {
        let automaton = Automaton::new(patterns(&TEXTS));
        automaton.build();
        let bytes = Bytes::from(postcard::to_allocvec(&automaton).expect("encodes"));
        let in_bytes = |read: &Automaton| {
            let stored = read.stored.as_ref().expect("stored");
            let start = (stored.as_ptr() as usize).wrapping_sub(bytes.as_ptr() as usize);
            start < bytes.len()
        };
        let copied: Automaton = postcard::from_bytes(&bytes).expect("decodes");
        assert!(!in_bytes(&copied));
        let shared: Automaton = {
            let _shared = SharedSnapshot::new(&bytes);
            postcard::from_bytes(&bytes).expect("decodes")
        };
        assert!(in_bytes(&shared));
        let after: Automaton = postcard::from_bytes(&bytes).expect("decodes");
        assert!(!in_bytes(&after));
        // Bytes that are not the shared ones are copied.
        let other = bytes.to_vec();
        let elsewhere: Automaton = {
            let _shared = SharedSnapshot::new(&bytes);
            postcard::from_bytes(&other).expect("decodes")
        };
        assert!(!in_bytes(&elsewhere));
        let expected = matches(&automaton, VALUE);
        assert!(!expected.is_empty());
        for read in [&copied, &shared, &elsewhere] {
            assert_eq!(matches(read, VALUE), expected);
        }
    }
    const EXPECTED: [(usize, usize); 4] = [(0, 8), (1, 9), (2, 2), (3, 12)];

    #[test]
    fn a_built_automaton_is_read_back_from_its_bytes() {
        let bytes = built_bytes(&TEXTS);
        assert!(fail_links_end_at_root(&bytes), "daachorse's layout");
        assert!(read_automaton(&bytes).is_some());
        let automaton = stored(&TEXTS, |_| {});
        assert_eq!(matches(&automaton, VALUE), EXPECTED);
        let built = Automaton::new(patterns(&TEXTS));
        assert_eq!(matches(&built, VALUE), EXPECTED);
    }

    #[test]
    fn a_cycle_of_failure_links_is_refused_and_the_automaton_built() {
        let bytes = built_bytes(&TEXTS);
        let count = u32::from_le_bytes(bytes[..4].try_into().expect("4 bytes")) as usize;
        // Every state past the root and the dead state, pointing its failure link at itself.
        for state in 2..count {
            let mut looped = bytes.clone();
            let at = 4 + state * 12 + 4;
            looped[at..at + 4].copy_from_slice(&(state as u32).to_le_bytes());
            assert!(!fail_links_end_at_root(&looped), "state {state}");
        }
        let automaton = stored(&TEXTS, |bytes| {
            let at = 4 + 5 * 12 + 4;
            bytes[at..at + 4].copy_from_slice(&5u32.to_le_bytes());
        });
        assert_eq!(matches(&automaton, VALUE), EXPECTED);
    }

    #[test]
    fn bytes_cut_short_or_too_long_are_refused_and_the_automaton_built() {
        type Damage = fn(&mut Vec<u8>);
        let damages: [(&str, Damage); 5] = [
            ("empty", |bytes| bytes.clear()),
            ("cut short", |bytes| bytes.truncate(bytes.len() / 2)),
            ("a byte too many", |bytes| bytes.push(0)),
            ("a state count beyond the bytes", |bytes| {
                bytes[..4].copy_from_slice(&u32::MAX.to_le_bytes())
            }),
            ("a failure link out of range", |bytes| {
                bytes[4 + 12 + 4..4 + 12 + 8].copy_from_slice(&u32::MAX.to_le_bytes())
            }),
        ];
        for (what, damage) in damages {
            let mut bytes = built_bytes(&TEXTS);
            damage(&mut bytes);
            assert!(read_automaton(&bytes).is_none(), "{what}");
            assert_eq!(matches(&stored(&TEXTS, damage), VALUE), EXPECTED, "{what}");
        }
    }

    /// The largest field automaton of SigmaHQ's Windows rules has a few thousand patterns; a
    /// set several times that size must still get an automaton, not the one-by-one fallback.
    #[test]
    fn large_pattern_sets_get_an_automaton() {
        let texts: Vec<String> = (0..20_000).map(|i| format!("\\p{i:07}.exe")).collect();
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        assert!(build_automaton(&patterns(&texts)).is_some());
        let automaton = Automaton::new(patterns(&texts));
        assert_eq!(matches(&automaton, "c:\\x\\p0012345.exe"), [(12_345, 4)]);
    }

    #[test]
    fn matches_naming_no_pattern_are_ignored() {
        // Bytes of an automaton over more patterns than the field has: the extra pattern's
        // matches name an index the field does not have.
        let bytes = built_bytes(&["md", "exe"]);
        let automaton = Automaton {
            patterns: patterns(&["md"]),
            stored: Some(Bytes::from(bytes)),
            searcher: OnceLock::new(),
        };
        assert_eq!(matches(&automaton, VALUE), [(0, 9)]);
    }
}
