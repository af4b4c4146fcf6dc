//! Remembered field scans: the atoms a value fires on a field, kept per thread.
//!
//! Logs repeat themselves: the same image paths, hashes, parent command lines and product
//! names come back in event after event (on the EVTX attack samples, 76% of the field values
//! of 8 bytes or more were seen before in the same run; on a busy host far more). A field scan
//! is a pure function of the field and the value's text, so its answer is kept: the next time
//! the same text comes on the same field, the fired atoms are replayed from here instead of
//! lower-casing the value and running the field's automaton over it again.
//!
//! The memo is bounded (entries and key bytes); when full it is emptied at once, which keeps
//! it simple and its cost predictable. It never changes what matches, only how fast.

use crate::atoms::{AtomId, FieldId};

/// Values shorter than this are scanned every time: hashing and comparing them costs about
/// what a scan of a few bytes does.
pub(crate) const MIN_BYTES: usize = 16;

/// The memo's default size: value text kept per thread (each entry adds about 40 bytes of
/// bookkeeping and its atom list).
pub const DEFAULT_SCAN_MEMO_BYTES: usize = 4 << 20;

/// The largest memo: offsets into it are `u32`, and a bigger one would hardly help.
const MAX_MEMO_BYTES: usize = 1 << 30;

/// One remembered scan.
#[derive(Clone, Copy)]
struct Entry {
    hash: u64,
    field: FieldId,
    text_start: u32,
    text_len: u32,
    atoms_start: u32,
    atoms_len: u32,
}

const EMPTY: u32 = u32::MAX;

/// Per-thread table of remembered scans (open addressing over `entries`).
pub(crate) struct ScanMemo {
    /// Indices into `entries`; a power of two long, at most half full.
    slots: Vec<u32>,
    entries: Vec<Entry>,
    /// The remembered texts, back to back.
    text: Vec<u8>,
    atoms: Vec<AtomId>,
    max_bytes: usize,
    max_entries: usize,
}

impl ScanMemo {
    /// A memo holding at most `max_bytes` of value text (0: remember nothing; at most 1 GiB).
    pub(crate) fn new(max_bytes: usize) -> ScanMemo {
        let max_bytes = max_bytes.min(MAX_MEMO_BYTES);
        // An entry per 64 bytes of text: most remembered values are paths and command lines.
        let max_entries = (max_bytes / 64).max(16);
        ScanMemo {
            // Allocated on the first insert: a thread that never meets a long value pays nothing.
            slots: Vec::new(),
            entries: Vec::new(),
            text: Vec::new(),
            atoms: Vec::new(),
            max_bytes,
            max_entries,
        }
    }

    /// Whether a value of this many bytes is looked up and remembered.
    #[inline]
    pub(crate) fn wants(&self, len: usize) -> bool {
        len >= MIN_BYTES && len <= self.max_bytes
    }

    #[inline]
    pub(crate) fn hash(field: FieldId, text: &str) -> u64 {
        use std::hash::Hasher;
        let mut hasher = crate::fx::FxHasher::default();
        hasher.write_u32(field);
        hasher.write(text.as_bytes());
        hasher.finish()
    }

    #[inline]
    fn slot_of(&self, hash: u64) -> usize {
        // The multiply's high bits are its best mixed ones.
        (hash.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize & (self.slots.len() - 1)
    }

    /// The atoms remembered for `text` on `field`, if any.
    #[inline]
    pub(crate) fn get(&self, hash: u64, field: FieldId, text: &str) -> Option<&[AtomId]> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut slot = self.slot_of(hash);
        loop {
            let index = self.slots[slot];
            if index == EMPTY {
                return None;
            }
            let e = &self.entries[index as usize];
            if e.hash == hash && e.field == field && self.text_of(e) == text.as_bytes() {
                let start = e.atoms_start as usize;
                return Some(&self.atoms[start..start + e.atoms_len as usize]);
            }
            slot = (slot + 1) & mask;
        }
    }

    fn text_of(&self, e: &Entry) -> &[u8] {
        let start = e.text_start as usize;
        &self.text[start..start + e.text_len as usize]
    }

    /// Remembers the atoms `text` fired on `field` (not already present: the caller looked).
    /// Empties the memo first when it is full.
    pub(crate) fn insert(&mut self, hash: u64, field: FieldId, text: &str, atoms: &[AtomId]) {
        if self.entries.len() >= self.max_entries
            || self.text.len() + text.len() > self.max_bytes
            || self.atoms.len() + atoms.len() > u32::MAX as usize
        {
            self.clear();
        }
        if self.slots.is_empty() {
            self.slots = vec![EMPTY; (self.max_entries * 2).next_power_of_two()];
        }
        let entry = Entry {
            hash,
            field,
            text_start: self.text.len() as u32,
            text_len: text.len() as u32,
            atoms_start: self.atoms.len() as u32,
            atoms_len: atoms.len() as u32,
        };
        self.text.extend_from_slice(text.as_bytes());
        self.atoms.extend_from_slice(atoms);
        let mask = self.slots.len() - 1;
        let mut slot = self.slot_of(hash);
        while self.slots[slot] != EMPTY {
            slot = (slot + 1) & mask;
        }
        self.slots[slot] = self.entries.len() as u32;
        self.entries.push(entry);
    }

    /// Forgets every remembered scan (keeping the memory).
    pub(crate) fn clear(&mut self) {
        self.slots.fill(EMPTY);
        self.entries.clear();
        self.text.clear();
        self.atoms.clear();
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

impl Default for ScanMemo {
    fn default() -> ScanMemo {
        ScanMemo::new(DEFAULT_SCAN_MEMO_BYTES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "c:\\windows\\system32\\cmd.exe /c whoami";
    const B: &str = "c:\\windows\\system32\\cmd.exe /c whoamI";

    fn remembered(memo: &ScanMemo, field: FieldId, text: &str) -> Option<Vec<AtomId>> {
        memo.get(ScanMemo::hash(field, text), field, text)
            .map(<[AtomId]>::to_vec)
    }

    fn insert(memo: &mut ScanMemo, field: FieldId, text: &str, atoms: &[AtomId]) {
        memo.insert(ScanMemo::hash(field, text), field, text, atoms);
    }

    #[test]
    fn answers_only_the_same_text_on_the_same_field() {
        let mut memo = ScanMemo::new(DEFAULT_SCAN_MEMO_BYTES);
        insert(&mut memo, 3, A, &[7, 9]);
        insert(&mut memo, 4, A, &[]);
        assert_eq!(remembered(&memo, 3, A), Some(vec![7, 9]));
        assert_eq!(remembered(&memo, 4, A), Some(vec![]));
        assert_eq!(remembered(&memo, 5, A), None);
        assert_eq!(remembered(&memo, 3, B), None);
        assert_eq!(remembered(&memo, 3, &A[1..]), None);
    }

    #[test]
    fn equal_hashes_are_told_apart_by_the_text() {
        let mut memo = ScanMemo::new(DEFAULT_SCAN_MEMO_BYTES);
        // Forced collisions: the same hash for different texts and fields.
        memo.insert(1, 3, A, &[1]);
        memo.insert(1, 3, B, &[2]);
        memo.insert(1, 4, A, &[3]);
        assert_eq!(memo.get(1, 3, A), Some(&[1][..]));
        assert_eq!(memo.get(1, 3, B), Some(&[2][..]));
        assert_eq!(memo.get(1, 4, A), Some(&[3][..]));
        assert_eq!(memo.get(1, 4, B), None);
    }

    #[test]
    fn a_full_memo_starts_again_empty() {
        // Room for two 37-byte texts, not three.
        let mut memo = ScanMemo::new(80);
        insert(&mut memo, 1, A, &[1]);
        insert(&mut memo, 1, B, &[2]);
        assert_eq!(memo.len(), 2);
        insert(&mut memo, 2, A, &[3]);
        assert_eq!(memo.len(), 1);
        assert_eq!(remembered(&memo, 1, A), None);
        assert_eq!(remembered(&memo, 1, B), None);
        assert_eq!(remembered(&memo, 2, A), Some(vec![3]));
    }

    #[test]
    fn entry_count_is_bounded_too() {
        let mut memo = ScanMemo::new(64 * 16);
        let texts: Vec<String> = (0..40).map(|i| format!("{A} {i:04}")).collect();
        for (i, t) in texts.iter().enumerate() {
            insert(&mut memo, 1, t, &[i as AtomId]);
            assert!(memo.len() <= 16);
            assert_eq!(remembered(&memo, 1, t), Some(vec![i as AtomId]));
        }
    }

    #[test]
    fn the_size_is_capped() {
        let memo = ScanMemo::new(usize::MAX);
        assert_eq!(memo.max_bytes, MAX_MEMO_BYTES);
        assert_eq!(memo.max_entries, MAX_MEMO_BYTES / 64);
    }

    #[test]
    fn short_long_and_disabled() {
        let memo = ScanMemo::new(DEFAULT_SCAN_MEMO_BYTES);
        assert!(!memo.wants(MIN_BYTES - 1));
        assert!(memo.wants(MIN_BYTES));
        assert!(!memo.wants(DEFAULT_SCAN_MEMO_BYTES + 1));
        let off = ScanMemo::new(0);
        assert!(!off.wants(MIN_BYTES));
        assert!(!off.wants(1000));
    }
}
