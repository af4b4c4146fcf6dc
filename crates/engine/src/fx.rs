//! A small, fast, non-cryptographic hasher for the engine's internal maps (field names, atom
//! ids, lower-cased values). Keys come from rules and events, never from an adversary who
//! could pick colliding keys to any effect beyond slowing one scan down.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// The multiplicative hash rustc uses (FxHash).
#[derive(Clone, Copy, Default)]
pub struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            self.add(short_word(rest));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// The `N` (4 or 8) bytes of `bytes` at `at`, little-endian (the caller checks the length).
#[inline]
pub(crate) fn word<const N: usize>(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word[..N].copy_from_slice(&bytes[at..at + N]);
    u64::from_le_bytes(word)
}

/// Every byte of `bytes` (shorter than eight) in one word, by fixed-size loads only (a copy
/// of a variable length is a call to memcpy): the first and the last four bytes, overlapping,
/// for four to seven; the first, middle and last byte for one to three. The other bytes of the
/// word are zero. Equal inputs give equal words.
#[inline]
pub(crate) fn short_word(bytes: &[u8]) -> u64 {
    let n = bytes.len();
    match n {
        4.. => word::<4>(bytes, 0) | word::<4>(bytes, n - 4) << 32,
        1.. => u64::from(bytes[0]) | u64::from(bytes[n / 2]) << 8 | u64::from(bytes[n - 1]) << 16,
        0 => 0,
    }
}

pub type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// Serde for an [`FxMap`] as its entries sorted by key (`#[serde(with = "crate::fx::sorted")]`):
/// a map's iteration order depends on its history, and snapshots must be the same bytes for
/// the same engine.
pub(crate) mod sorted {
    use super::FxMap;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::hash::Hash;

    pub fn serialize<K, V, S>(map: &FxMap<K, V>, serializer: S) -> Result<S::Ok, S::Error>
    where
        K: Ord + Serialize,
        V: Serialize,
        S: Serializer,
    {
        let mut entries: Vec<(&K, &V)> = map.iter().collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        entries.serialize(serializer)
    }

    pub fn deserialize<'de, K, V, D>(deserializer: D) -> Result<FxMap<K, V>, D::Error>
    where
        K: Eq + Hash + Deserialize<'de>,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Ok(Vec::<(K, V)>::deserialize(deserializer)?
            .into_iter()
            .collect())
    }
}

/// Serde for a `Vec` decoded at its stated length at once (`#[serde(with =
/// "crate::fx::exact_vec")]`). serde's own `Vec` decoding reserves at most 1 MiB up front and
/// then grows by doubling: the engine's 3 MB of atoms were copied twice while decoding and
/// touched twice the fresh memory (page faults are most of a hunt's start-up). The
/// reservation is still capped, as a damaged snapshot may state any length; past the cap the
/// vector grows as usual.
pub(crate) mod exact_vec {
    use serde::de::{SeqAccess, Visitor};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::marker::PhantomData;

    /// The most bytes reserved before the elements are read.
    const MAX_RESERVE_BYTES: usize = 64 << 20;

    pub fn serialize<T: Serialize, S: Serializer>(
        items: &[T],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(items)
    }

    pub fn deserialize<'de, T, D>(deserializer: D) -> Result<Vec<T>, D::Error>
    where
        T: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        struct Exact<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Exact<T> {
            type Value = Vec<T>;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a sequence")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
                let cap = MAX_RESERVE_BYTES / std::mem::size_of::<T>().max(1);
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(cap));
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(items)
            }
        }
        deserializer.deserialize_seq(Exact(PhantomData))
    }
}

/// A read-only map from event field names to values, built once, tuned for the per-field
/// lookup of every event: the hash reads a name's length and its first and last eight bytes
/// (two loads and a multiply, however long the name), then probes linearly.
/// In snapshots, only the entries: the table is built again from them.
#[derive(Debug)]
pub struct NameTable<V> {
    /// Indexes into `entries`; `u32::MAX` is empty. The length is a power of two.
    slots: Vec<u32>,
    /// Each name with its [`NameKey`]: a probe compares keys, and the names themselves only
    /// when longer than a key holds.
    entries: Vec<(NameKey, Box<str>, V)>,
    shift: u32,
}

const EMPTY: u32 = u32::MAX;

/// A name's length and its first and last eight bytes (overlapping; shorter names in one
/// word, see [`short_word`]): the whole name when it is at most 16 bytes long, as most field
/// names are, so that equal keys mean equal names without a byte comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct NameKey {
    first: u64,
    last: u64,
    len: usize,
}

/// Up to this length a [`NameKey`] holds every byte of a name.
const WHOLE_KEY_LEN: usize = 16;

impl NameKey {
    #[inline]
    fn of(name: &[u8]) -> NameKey {
        let len = name.len();
        let (first, last) = match len {
            8.. => (word::<8>(name, 0), word::<8>(name, len - 8)),
            _ => (short_word(name), 0),
        };
        NameKey { first, last, len }
    }
}

impl<V: serde::Serialize> serde::Serialize for NameTable<V> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.entries.iter().map(|(_, name, value)| (name, value)))
    }
}

impl<'de, V: serde::Deserialize<'de> + Copy> serde::Deserialize<'de> for NameTable<V> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::<(Box<str>, V)>::deserialize(deserializer).map(NameTable::new)
    }
}

impl<V: Copy> NameTable<V> {
    pub fn new(entries: Vec<(Box<str>, V)>) -> NameTable<V> {
        // At most half full, so that probes stay short.
        let size = (entries.len() * 2).next_power_of_two().max(16);
        let shift = 64 - size.trailing_zeros();
        let mut table = NameTable {
            slots: vec![EMPTY; size],
            entries: Vec::with_capacity(entries.len()),
            shift,
        };
        for (name, value) in entries {
            if table.get(&name).is_some() {
                continue;
            }
            let key = NameKey::of(name.as_bytes());
            let mut slot = table.slot_of(key);
            while table.slots[slot] != EMPTY {
                slot = (slot + 1) & (size - 1);
            }
            table.slots[slot] = table.entries.len() as u32;
            table.entries.push((key, name, value));
        }
        table
    }

    #[inline]
    fn slot_of(&self, key: NameKey) -> usize {
        let mixed = key.first.rotate_left(23) ^ key.last ^ (key.len as u64);
        (mixed.wrapping_mul(SEED) >> self.shift) as usize
    }

    #[inline]
    pub fn get(&self, name: &str) -> Option<V> {
        let mask = self.slots.len() - 1;
        let key = NameKey::of(name.as_bytes());
        let mut slot = self.slot_of(key);
        loop {
            let index = self.slots[slot] as usize;
            if index == EMPTY as usize {
                return None;
            }
            let (entry_key, entry_name, value) = &self.entries[index];
            if *entry_key == key && (key.len <= WHOLE_KEY_LEN || **entry_name == *name) {
                return Some(*value);
            }
            slot = (slot + 1) & mask;
        }
    }

    /// Every value, in entry order.
    pub fn values(&self) -> impl Iterator<Item = V> + '_ {
        self.entries.iter().map(|(_, _, value)| *value)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Exact {
        #[serde(with = "exact_vec")]
        items: Vec<u32>,
    }

    #[test]
    fn exact_vectors_are_decoded_at_their_length_and_damaged_lengths_fail() {
        // 1.2 MB of items: serde's own decoding would reserve 1 MiB and double past it.
        let exact = Exact {
            items: (0..300_000).collect(),
        };
        let bytes = postcard::to_allocvec(&exact).expect("encodes");
        let back: Exact = postcard::from_bytes(&bytes).expect("decodes");
        assert_eq!(back, exact);
        assert_eq!(back.items.capacity(), back.items.len());
        let empty: Exact = postcard::from_bytes(&[0]).expect("decodes");
        assert!(empty.items.is_empty());
        // A stated length of 2^35 items with three present: an error, not a 128 GiB
        // reservation.
        let damaged = [0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 1, 2, 3];
        assert!(postcard::from_bytes::<Exact>(&damaged).is_err());
    }

    #[test]
    fn name_table_finds_exactly_its_names() {
        let names = [
            "Image",
            "CommandLine",
            "ParentCommandLine",
            "a",
            "",
            "winlog.event_data.CommandLine",
            "ParentImage",
            "TargetObject",
        ];
        let table = NameTable::new(
            names
                .iter()
                .enumerate()
                .map(|(i, n)| (Box::from(*n), i))
                .collect(),
        );
        assert_eq!(table.len(), names.len());
        for (i, name) in names.iter().enumerate() {
            assert_eq!(table.get(name), Some(i), "{name}");
        }
        for missing in [
            "image",
            "CommandLin",
            "ParentCommandLinf",
            "b",
            " ",
            "Image ",
        ] {
            assert_eq!(table.get(missing), None, "{missing}");
        }
        // Names built by `name(i)` for `0..count` resolve, and those given as `missing` not.
        let resolves = |count: usize, name: &dyn Fn(usize) -> String, missing: &[&str]| {
            let names: Vec<(Box<str>, usize)> =
                (0..count).map(|i| (name(i).into_boxed_str(), i)).collect();
            let table = NameTable::new(names.clone());
            for (name, i) in &names {
                assert_eq!(table.get(name), Some(*i), "{name}");
            }
            for missing in missing {
                assert_eq!(table.get(missing), None, "{missing}");
            }
        };
        // Many names sharing their first and last bytes.
        resolves(500, &|i| format!("Field{i:04}Name"), &["Field0500Name"]);
        // Longer than a key holds: names alike in length and in their first and last eight
        // bytes differ in the middle.
        resolves(
            50,
            &|i| format!("Prefix__{i:03}__Suffix"),
            &["Prefix__050__Suffix", "Prefix__0_1__Suffix"],
        );
        // Every length up to a whole key, and one beyond, with names differing in one byte.
        for len in 0..=WHOLE_KEY_LEN + 1 {
            let names: Vec<(Box<str>, usize)> = (0..len)
                .map(|at| {
                    let mut name = vec![b'a'; len];
                    name[at] = b'b';
                    (String::from_utf8(name).expect("ascii").into_boxed_str(), at)
                })
                .collect();
            let table = NameTable::new(names.clone());
            for (name, at) in &names {
                assert_eq!(table.get(name), Some(*at), "{name}");
            }
            assert_eq!(table.get(&"a".repeat(len)), None, "{len}");
        }
    }
}
