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

/// The memo's default size: value text kept per thread (each entry adds a 20-byte header, 4
/// bytes per atom it fires, and one or two 4-byte slots).
pub const DEFAULT_SCAN_MEMO_BYTES: usize = 4 << 20;

/// The largest memo: offsets into it are `u32`, and a bigger one would hardly help.
const MAX_MEMO_BYTES: usize = 1 << 30;

const EMPTY: u32 = u32::MAX;

/// The first size of the slots.
const MIN_SLOTS: usize = 1024;

/// Bytes of a record before its atoms: hash, field, text length, atom count.
const HEADER: usize = 20;

/// Per-thread table of remembered scans: open addressing over records kept back to back in
/// one arena, each its hash, field, atoms and text together, so that a hit reads the slot and
/// one record (separate tables of entries, texts and atoms cost four cache misses a hit, and
/// the lookups were a tenth of a long hunt).
pub(crate) struct ScanMemo {
    /// Offsets of records in `records`; a power of two long, at most half full, and grown
    /// with the entries (a table sized for the largest memo up front was 512 KB of slots that
    /// every lookup missed in the cache, for the few thousand values most runs remember).
    slots: Vec<u32>,
    /// The records: hash (8 bytes), field, text length and atom count (4 each), the atoms (4
    /// each), the text.
    records: Vec<u8>,
    entries: usize,
    text_bytes: usize,
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
            records: Vec::new(),
            entries: 0,
            text_bytes: 0,
            max_bytes,
            max_entries,
        }
    }

    /// Whether a value of this many bytes is looked up and remembered.
    #[inline]
    pub(crate) fn wants(&self, len: usize) -> bool {
        len >= MIN_BYTES && len <= self.max_bytes
    }

    /// The key of a scan: the field and the value's text.
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
        (hash.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize & (self.slots.len() - 1)
    }

    /// The atoms remembered for `text` on `field` (`hash` is [`ScanMemo::hash`] of both).
    #[inline]
    pub(crate) fn get(&self, hash: u64, field: FieldId, text: &str) -> Option<Atoms<'_>> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut slot = self.slot_of(hash);
        loop {
            let at = self.slots[slot];
            if at == EMPTY {
                return None;
            }
            let record = Record::at(&self.records, at as usize)?;
            if record.hash == hash && record.field == field && record.text == text.as_bytes() {
                return Some(Atoms(record.atoms.chunks_exact(4)));
            }
            slot = (slot + 1) & mask;
        }
    }

    /// Remembers that `text` on `field` fires `atoms`.
    pub(crate) fn insert(&mut self, hash: u64, field: FieldId, text: &str, atoms: &[AtomId]) {
        let size = HEADER + 4 * atoms.len() + text.len();
        if self.entries >= self.max_entries
            || self.text_bytes + text.len() > self.max_bytes
            || self.records.len() + size > EMPTY as usize
        {
            self.clear();
            if size > EMPTY as usize {
                return;
            }
        }
        if self.slots.is_empty() || 2 * (self.entries + 1) > self.slots.len() {
            self.grow();
        }
        let at = self.records.len() as u32;
        self.records.extend_from_slice(&hash.to_le_bytes());
        for word in [field, text.len() as u32, atoms.len() as u32] {
            self.records.extend_from_slice(&word.to_le_bytes());
        }
        for atom in atoms {
            self.records.extend_from_slice(&atom.to_le_bytes());
        }
        self.records.extend_from_slice(text.as_bytes());
        self.entries += 1;
        self.text_bytes += text.len();
        self.place(hash, at);
    }

    fn place(&mut self, hash: u64, at: u32) {
        let mask = self.slots.len() - 1;
        let mut slot = self.slot_of(hash);
        while self.slots[slot] != EMPTY {
            slot = (slot + 1) & mask;
        }
        self.slots[slot] = at;
    }

    /// Doubles the slots (from [`MIN_SLOTS`]) and places every record again.
    fn grow(&mut self) {
        let len = (self.slots.len() * 2).max(MIN_SLOTS);
        self.slots.clear();
        self.slots.resize(len, EMPTY);
        let mut at = 0;
        while let Some(record) = Record::at(&self.records, at) {
            let next = at + record.size();
            self.place(record.hash, at as u32);
            at = next;
        }
    }

    /// Forgets every remembered scan (keeping the memory of the records).
    pub(crate) fn clear(&mut self) {
        self.slots.clear();
        self.records.clear();
        self.entries = 0;
        self.text_bytes = 0;
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries
    }
}

impl Record<'_> {
    /// Its bytes in the arena.
    fn size(&self) -> usize {
        HEADER + self.atoms.len() + self.text.len()
    }
}

/// A record of the arena, read.
struct Record<'m> {
    hash: u64,
    field: FieldId,
    atoms: &'m [u8],
    text: &'m [u8],
}

impl<'m> Record<'m> {
    #[inline]
    fn at(records: &'m [u8], at: usize) -> Option<Record<'m>> {
        let header = records.get(at..at + HEADER)?;
        let word =
            |i: usize| u32::from_le_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]);
        let hash = u64::from(word(0)) | u64::from(word(4)) << 32;
        let (field, text_len, atom_count) = (word(8), word(12) as usize, word(16) as usize);
        let atoms_end = at + HEADER + 4 * atom_count;
        Some(Record {
            hash,
            field,
            atoms: records.get(at + HEADER..atoms_end)?,
            text: records.get(atoms_end..atoms_end + text_len)?,
        })
    }
}

/// The atoms of a remembered scan.
pub(crate) struct Atoms<'m>(std::slice::ChunksExact<'m, u8>);

impl Iterator for Atoms<'_> {
    type Item = AtomId;

    #[inline]
    fn next(&mut self) -> Option<AtomId> {
        let bytes = self.0.next()?;
        Some(AtomId::from_le_bytes([
            bytes[0], bytes[1], bytes[2], bytes[3],
        ]))
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
            .map(Iterator::collect)
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
        let get = |field, text| memo.get(1, field, text).map(Iterator::collect::<Vec<_>>);
        assert_eq!(get(3, A), Some(vec![1]));
        assert_eq!(get(3, B), Some(vec![2]));
        assert_eq!(get(4, A), Some(vec![3]));
        assert_eq!(get(4, B), None);
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
    fn the_slots_grow_with_the_entries() {
        let mut memo = ScanMemo::new(DEFAULT_SCAN_MEMO_BYTES);
        insert(&mut memo, 1, A, &[1]);
        assert_eq!(memo.slots.len(), MIN_SLOTS);
        let texts: Vec<String> = (0..3000).map(|i| format!("{A} {i:05}")).collect();
        for (i, t) in texts.iter().enumerate() {
            insert(&mut memo, 2, t, &[i as AtomId, 7]);
        }
        assert_eq!(memo.slots.len(), 8192);
        for (i, t) in texts.iter().enumerate() {
            assert_eq!(remembered(&memo, 2, t), Some(vec![i as AtomId, 7]));
        }
        assert_eq!(remembered(&memo, 1, A), Some(vec![1]));
        assert_eq!(remembered(&memo, 1, &texts[0]), None);
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
