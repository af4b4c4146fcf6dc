//! Ids for the field names of EVTX template shapes, so that a consumer of events (the engine)
//! can remember what it made of a name by a number instead of hashing the name in every
//! event: a Sysmon event has some thirty fields, and looking each name up was a tenth of the
//! engine's cache misses.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

type RandomState = foldhash::fast::RandomState;

/// Past this many names, [`NameIds::is_full`] (the reader then forgets its shapes and starts
/// a new table; the logs of one Windows machine have a few hundred).
const MAX_NAMES: usize = 1 << 16;

static NEXT_TABLE: AtomicU64 = AtomicU64::new(1);

/// Names and their ids, `0..len` in the order first seen. A table never gives an id to a
/// second name; a table started again has a new number ([`NameIds::table`]), so ids from
/// before are never read as ids of the new one.
#[derive(Debug)]
pub(crate) struct NameIds {
    table: u64,
    ids: HashMap<Box<str>, u32, RandomState>,
}

impl Default for NameIds {
    fn default() -> Self {
        NameIds {
            table: NEXT_TABLE.fetch_add(1, Ordering::Relaxed),
            ids: HashMap::default(),
        }
    }
}

impl NameIds {
    /// The number of this table (never 0, unique in the process).
    pub(crate) fn table(&self) -> u64 {
        self.table
    }

    /// The id of `name`, given now if it has none.
    pub(crate) fn id(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.ids.len() as u32;
        self.ids.insert(name.into(), id);
        id
    }

    pub(crate) fn is_full(&self) -> bool {
        self.ids.len() >= MAX_NAMES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_keeps_its_id_and_tables_have_their_own_numbers() {
        let mut names = NameIds::default();
        assert_eq!(names.id("Image"), 0);
        assert_eq!(names.id("CommandLine"), 1);
        assert_eq!(names.id("Image"), 0);
        assert_eq!(names.id(""), 2);
        let other = NameIds::default();
        assert_ne!(other.table(), names.table());
        assert_ne!(names.table(), 0);
        assert!(!names.is_full());
        for n in 0..MAX_NAMES {
            names.id(&n.to_string());
        }
        assert!(names.is_full());
    }
}
