//! The compiled rule set and the per-event matcher.
//!
//! For each event:
//! 1. dispatch on (channel, event id) to a bucket of candidate variants; an event no rule
//!    can apply to costs one lookup;
//! 2. walk the event's fields once, filing each value the rule set reads into per-field slots
//!    (no allocation: the slot table and value list live in the [`Scratch`]); a bucket with
//!    keyword rules keeps every value, unless its keyword scan's case gate finds none of the
//!    keywords anywhere in the event's text (`scan.rs`);
//! 3. scan the fields that carry the bucket's trigger atoms: one hash lookup and one
//!    Aho-Corasick pass per value answers every literal atom on the field, and a value the
//!    thread has scanned on that field before is answered from its memo (`memo.rs`);
//! 4. evaluate, in rule order, the variants without triggers and those whose trigger fired,
//!    short-circuiting, with every atom computed at most once per event (epoch stamps, never
//!    cleared).

use crate::atoms::{Atom, AtomField, AtomId, FieldId, ScanKind};
use crate::dispatch::{CondValue, DispatchTable, Selector};
use crate::event::{EventView, FieldValue};
use crate::fx::{FxMap, NameTable, short_word, word};
use crate::matcher::{Matcher, fieldref_holds};
use crate::memo::ScanMemo;
use crate::problem::CompileProblem;
use crate::scan::FieldScan;
use crate::text::push_lower;
use crate::tree::Node;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A rule that matched an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Match<'a> {
    /// The caller's id of the rule.
    pub rule: usize,
    /// The pipeline source (variant) through which it matched, e.g. `sysmon_process_creation`.
    pub source: &'a str,
}

/// Sizes and timings of a compiled engine.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct EngineStats {
    pub rules: usize,
    pub variants: usize,
    /// Variants evaluated for every event of their buckets (no trigger literal).
    pub untriggered_variants: usize,
    pub atoms: usize,
    pub scan_atoms: usize,
    pub fields: usize,
    pub automata: usize,
    pub automaton_patterns: usize,
    pub buckets: usize,
    /// Timings are zero in an engine read from a snapshot (they are not stored, so that a
    /// snapshot is the same bytes for the same input).
    #[serde(skip)]
    pub lowering: Duration,
    /// Building the per-field scan tables. Their automata are built when a hunt first
    /// searches the field, and not counted here.
    #[serde(skip)]
    pub scan_tables: Duration,
    /// The largest automata: (event field, patterns), largest first.
    pub largest_automata: Vec<(String, usize)>,
    #[serde(skip)]
    pub total: Duration,
}

#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct Variant {
    pub rule: u32,
    pub source: Box<str>,
    pub root: u32,
    /// `None` when dispatch alone proves the source selects the event.
    pub selector: Option<Selector>,
}

#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct Bucket {
    pub members: usize,
    /// Variants without triggers, sorted.
    pub always: Box<[u32]>,
    /// Trigger atom → range of `pool` (sorted by variant).
    #[serde(with = "crate::fx::sorted")]
    pub triggers: FxMap<AtomId, (u32, u32)>,
    pub pool: Box<[PoolEntry]>,
    /// Fields to scan: those of the trigger atoms.
    pub scan_fields: Box<[FieldId]>,
    /// The keyword scan to run over every value (index into `keyword_scans`), when the
    /// bucket has keyword triggers. It holds every keyword scan atom of the bucket's variants.
    pub keyword_scan: Option<u32>,
    /// Some variant searches keywords: keep every value of the event.
    pub collect_all: bool,
    /// Some keyword atom is evaluated over every value even when the keyword scan fires
    /// nothing; otherwise, an event the scan's gate turns away keeps only the named fields.
    pub keywords_need_values: bool,
}

/// A variant behind a trigger atom: the variant, which of its trigger sets holds the atom, and
/// whether it has two (it is evaluated once each has fired; see [`crate::tree::Trigger`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub(crate) struct PoolEntry(u32);

impl PoolEntry {
    /// The most variants an engine may have (two bits of an entry are the set's).
    pub const MAX_VARIANTS: usize = 1 << 30;

    /// The entry of `variant`'s set `set` (0 or 1) of `sets` (1 or 2).
    pub fn new(variant: u32, set: usize, sets: usize) -> PoolEntry {
        debug_assert!((variant as usize) < Self::MAX_VARIANTS && set < sets && sets <= 2);
        PoolEntry(variant << 2 | (set as u32 & 1) << 1 | u32::from(sets > 1))
    }

    pub fn variant(self) -> u32 {
        self.0 >> 2
    }

    /// The set's bit in the variant's mark.
    fn set_bit(self) -> u32 {
        1 << ((self.0 >> 1) & 1)
    }

    /// The mark of a variant whose every set fired.
    fn all_sets(self) -> u32 {
        if self.0 & 1 == 1 { 0b11 } else { 0b01 }
    }
}

/// The part of an atom that answers it in most events: a scanned field that did not fire
/// it, or an absent field. Twelve bytes apiece beside atoms of eighty, so that these
/// answers read a table that stays in the cache (30,000 atoms: 350 KB instead of 2.4 MB).
#[derive(Clone, Copy)]
pub(crate) struct AtomHead {
    pub field: AtomField,
    pub exact: bool,
    pub when_absent: bool,
}

impl AtomHead {
    pub fn of(atom: &Atom) -> AtomHead {
        AtomHead {
            field: atom.field,
            exact: atom.scan == ScanKind::Exact,
            when_absent: atom.matcher.when_absent(),
        }
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct Parts {
    pub rule_ids: Vec<usize>,
    #[serde(with = "crate::fx::exact_vec")]
    pub variants: Vec<Variant>,
    /// Every variant's full selector (for the exhaustive path).
    #[serde(with = "crate::fx::exact_vec")]
    pub selectors: Vec<Selector>,
    #[serde(with = "crate::fx::exact_vec")]
    pub nodes: Vec<Node>,
    #[serde(with = "crate::fx::exact_vec")]
    pub kids: Vec<u32>,
    /// Encoded apart in snapshots, to be decoded beside the rest (`snapshot.rs`).
    #[serde(skip)]
    pub atoms: Vec<Atom>,
    /// Per atom, what the matcher checks first ([`AtomHead`]). Derived from `atoms`: not in
    /// snapshots.
    #[serde(skip)]
    pub heads: Vec<AtomHead>,
    #[serde(with = "crate::fx::exact_vec")]
    pub fields: Vec<Box<[String]>>,
    pub names: NameTable<(u32, u32)>,
    #[serde(with = "crate::fx::exact_vec")]
    pub name_targets: Vec<(FieldId, u16)>,
    #[serde(with = "crate::fx::exact_vec")]
    pub scans: Vec<Option<FieldScan>>,
    pub keyword_scans: Vec<FieldScan>,
    pub dispatch: DispatchTable,
    pub buckets: Vec<Bucket>,
    pub stats: EngineStats,
}

/// A compiled rule set. Immutable and `Send + Sync`: share one across threads, each with its
/// own [`Scratch`].
pub struct Engine {
    id: u64,
    p: Parts,
}

static NEXT_ENGINE_ID: AtomicU64 = AtomicU64::new(1);

const NIL: u32 = u32::MAX;
/// Epochs stay below this so that `epoch << 1 | bit` fits in a `u32`.
const MAX_EPOCH: u32 = 1 << 30;

impl Engine {
    pub(crate) fn from_parts(parts: Parts) -> Engine {
        Engine {
            id: NEXT_ENGINE_ID.fetch_add(1, Ordering::Relaxed),
            p: parts,
        }
    }

    /// How many keyword scans have a case gate (snapshots build them again; tests check).
    #[doc(hidden)]
    pub fn case_gates(&self) -> usize {
        self.p
            .keyword_scans
            .iter()
            .filter(|scan| scan.has_case_gate())
            .count()
    }

    pub(crate) fn parts(&self) -> &Parts {
        &self.p
    }

    #[cfg(test)]
    pub(crate) fn into_parts(self) -> Parts {
        self.p
    }

    pub fn stats(&self) -> &EngineStats {
        &self.p.stats
    }

    /// The caller's ids of the compiled rules, ascending.
    pub fn rule_ids(&self) -> &[usize] {
        &self.p.rule_ids
    }

    /// The caller's ids of every rule this engine was given, ascending: those it compiled and
    /// those in `problems`, the compiler's other result. Each id given appears exactly once
    /// (the compiler's guarantee; a snapshot read back is held to it).
    pub fn accounted_rules(&self, problems: &[CompileProblem]) -> Vec<usize> {
        let mut ids: Vec<usize> = self
            .p
            .rule_ids
            .iter()
            .copied()
            .chain(problems.iter().map(|p| p.rule))
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Per-thread working memory for [`Engine::match_event`].
    pub fn new_scratch(&self) -> Scratch {
        let mut scratch = Scratch::default();
        scratch.fit(self);
        scratch
    }

    /// Matches one event; calls `on_match` once per matching rule, in ascending rule order.
    /// Returns the number of matches.
    pub fn match_event<'e, E: EventView + ?Sized>(
        &'e self,
        event: &E,
        scratch: &mut Scratch,
        mut on_match: impl FnMut(Match<'e>),
    ) -> usize {
        scratch.begin(self);
        let mut channel = std::mem::take(&mut scratch.channel);
        channel.clear();
        let has_channel = match event.channel() {
            Some(c) => {
                push_lower(&mut channel, c);
                true
            }
            None => false,
        };
        let event_id = event.event_id();
        let channel_lower = has_channel.then_some(channel.as_str());
        let bucket = &self.p.buckets[self.p.dispatch.bucket(channel_lower, event_id) as usize];
        let mut count = 0;
        if bucket.members > 0 {
            let mut values: Vec<Val<'_>> = recycle(std::mem::take(&mut scratch.values));
            // The event's whole text usually proves that no keyword is in any value, before
            // the values are collected.
            let keywords_may_fire = bucket.keyword_scan.is_none_or(|scan| {
                self.p.keyword_scans[scan as usize].may_fire_in(event.all_text())
            });
            let collect_all =
                bucket.collect_all && (keywords_may_fire || bucket.keywords_need_values);
            scratch.collect(self, collect_all, event, &mut values);
            scratch.scan(self, bucket, keywords_may_fire, &mut values);
            scratch.enqueue(bucket);
            count = scratch.evaluate(
                self,
                bucket,
                &mut values,
                (channel_lower, event_id),
                &mut on_match,
            );
            scratch.values = recycle(values);
        }
        scratch.channel = channel;
        count
    }

    /// Matches one event the slow, obvious way: every variant, its source conditions checked
    /// in full, every atom evaluated by its matcher (no dispatch, scans or triggers). The
    /// result must equal [`Engine::match_event`]'s; tests and benchmarks compare the two.
    #[doc(hidden)]
    pub fn match_event_exhaustive<'e, E: EventView + ?Sized>(
        &'e self,
        event: &E,
        scratch: &mut Scratch,
        mut on_match: impl FnMut(Match<'e>),
    ) -> usize {
        scratch.begin(self);
        let channel = event.channel().map(crate::text::lower);
        let header = (channel.as_deref(), event.event_id());
        let mut values: Vec<Val<'_>> = recycle(std::mem::take(&mut scratch.values));
        scratch.collect(self, true, event, &mut values);
        let mut count = 0;
        let mut last_rule = u32::MAX;
        for (variant, selector) in self.p.variants.iter().zip(&self.p.selectors) {
            if variant.rule == last_rule || !scratch.selected(selector, header, &mut values) {
                continue;
            }
            if scratch.node(self, &mut values, variant.root) {
                last_rule = variant.rule;
                count += 1;
                on_match(Match {
                    rule: self.p.rule_ids[variant.rule as usize],
                    source: &variant.source,
                });
            }
        }
        scratch.values = recycle(values);
        count
    }

    /// The caller's ids of the rules an event matches (allocates; for tests and tools).
    pub fn matching_rules<E: EventView + ?Sized>(
        &self,
        event: &E,
        scratch: &mut Scratch,
    ) -> Vec<usize> {
        let mut out = Vec::new();
        self.match_event(event, scratch, |m| out.push(m.rule));
        out
    }
}

#[derive(Clone, Copy, Default)]
struct Slot {
    stamp: u32,
    rank: u16,
    head: u32,
    tail: u32,
}

#[derive(Clone, Copy)]
struct Link {
    value: u32,
    next: u32,
}

/// One value of the current event, with its lower-cased text once computed.
#[derive(Clone, Copy)]
struct Val<'a> {
    value: FieldValue<'a>,
    lower_start: u32,
    lower_len: u32,
}

/// Reuses a vector's allocation for values of another lifetime (the in-place `collect` of an
/// emptied vector keeps its buffer, as the types have the same layout).
fn recycle<'a, 'b>(mut values: Vec<Val<'a>>) -> Vec<Val<'b>> {
    values.clear();
    values.into_iter().map(|_| unreachable!("empty")).collect()
}

/// Per-thread working memory of the matcher, reused for every event (create it with
/// [`Engine::new_scratch`]; one used with another engine is refitted, not misread).
#[derive(Default)]
pub struct Scratch {
    engine_id: u64,
    epoch: u32,
    /// Per atom: `epoch << 1 | value` once computed in that epoch.
    atom_state: Vec<u32>,
    slots: Vec<Slot>,
    /// Per field: the epoch in which its values were scanned.
    scanned: Vec<u32>,
    keywords_scanned: u32,
    /// Per variant: `epoch << 2 | sets`, the trigger sets that fired in that epoch.
    queued: Vec<u32>,
    fired: Vec<AtomId>,
    queue: Vec<u32>,
    links: Vec<Link>,
    values: Vec<Val<'static>>,
    lower: String,
    channel: String,
    despaced: String,
    /// Field scans remembered across events.
    memo: ScanMemo,
    /// The atoms the value being scanned fires, for the memo.
    recorded: Vec<AtomId>,
    /// The name table of the events whose names `names` holds ([`EventView::name_table`]).
    names_table: u64,
    /// Per name id of that table, once seen: what the engine reads of the name.
    names: Vec<Option<NameUse>>,
}

/// The most name ids a [`Scratch`] remembers resolutions for (`sigrun-logs` starts a new table
/// past 65,536 names).
const MAX_NAME_IDS: usize = 1 << 20;

/// What the engine reads of an event field name: the ranges of `name_targets` of the name
/// itself and of the name with its spaces removed.
#[derive(Clone, Copy)]
struct NameUse {
    exact: Option<(u32, u32)>,
    spaced: Option<(u32, u32)>,
}

impl NameUse {
    fn of(name: &str, names: &NameTable<(u32, u32)>, despaced: &mut String) -> NameUse {
        // Sigma names fields as the log does with spaces removed (Defender's `Threat Name`
        // is `ThreatName`); a name with spaces feeds both spellings.
        let spaced = if has_space(name.as_bytes()) {
            despaced.clear();
            despaced.extend(name.chars().filter(|&c| c != ' '));
            names.get(despaced.as_str())
        } else {
            None
        };
        NameUse {
            exact: names.get(name),
            spaced,
        }
    }
}

impl Scratch {
    /// Sizes the memory of field scans kept across events, in bytes of remembered value text
    /// (default [`crate::DEFAULT_SCAN_MEMO_BYTES`]; 0 turns it off). Results never depend on it,
    /// only the speed.
    pub fn set_scan_memo_bytes(&mut self, bytes: usize) {
        self.memo = ScanMemo::new(bytes);
    }

    fn fit(&mut self, engine: &Engine) {
        self.engine_id = engine.id;
        self.epoch = 0;
        // Remembered scans name another engine's fields and atoms.
        self.memo.clear();
        self.atom_state = vec![0; engine.p.atoms.len()];
        self.slots = vec![Slot::default(); engine.p.fields.len()];
        self.scanned = vec![0; engine.p.fields.len()];
        self.keywords_scanned = 0;
        self.queued = vec![0; engine.p.variants.len()];
        // What names resolve to depends on the engine.
        self.names.clear();
    }

    fn begin(&mut self, engine: &Engine) {
        if self.engine_id != engine.id {
            self.fit(engine);
        }
        self.epoch += 1;
        if self.epoch >= MAX_EPOCH {
            // After a billion events: forget every stamp once rather than misread old ones.
            self.fit(engine);
            self.epoch = 1;
        }
        self.fired.clear();
        self.queue.clear();
        self.links.clear();
        self.lower.clear();
    }

    /// Step 2: file the event's values into slots.
    fn collect<'e, E: EventView + ?Sized>(
        &mut self,
        engine: &Engine,
        collect_all: bool,
        event: &'e E,
        values: &mut Vec<Val<'e>>,
    ) {
        let epoch = self.epoch;
        let slots = &mut self.slots;
        let links = &mut self.links;
        let names = &engine.p.names;
        let name_targets = &engine.p.name_targets;
        let despaced = &mut self.despaced;
        let table = event.name_table();
        if table != self.names_table {
            self.names.clear();
            self.names_table = table;
        }
        let known = &mut self.names;
        event.for_each_field_with_id(&mut |name, id, value| {
            let NameUse { exact, spaced } = match id {
                // Ids past the bound (from an `EventView` of another reader) are looked up by
                // name: the memory of names stays small whatever ids come.
                Some(id) if table != 0 && (id as usize) < MAX_NAME_IDS => {
                    let id = id as usize;
                    match known.get(id) {
                        Some(Some(known)) => *known,
                        _ => {
                            let used = NameUse::of(name, names, despaced);
                            if id >= known.len() {
                                known.resize(id + 1, None);
                            }
                            known[id] = Some(used);
                            used
                        }
                    }
                }
                _ => NameUse::of(name, names, despaced),
            };
            if exact.is_none() && spaced.is_none() && !collect_all {
                return;
            }
            let index = values.len() as u32;
            values.push(Val {
                value,
                lower_start: NIL,
                lower_len: 0,
            });
            for (start, len) in exact.into_iter().chain(spaced) {
                for &(field, rank) in &name_targets[start as usize..(start + len) as usize] {
                    let slot = &mut slots[field as usize];
                    let link = links.len() as u32;
                    if slot.stamp != epoch || rank < slot.rank {
                        links.push(Link {
                            value: index,
                            next: NIL,
                        });
                        *slot = Slot {
                            stamp: epoch,
                            rank,
                            head: link,
                            tail: link,
                        };
                    } else if rank == slot.rank {
                        links.push(Link {
                            value: index,
                            next: NIL,
                        });
                        links[slot.tail as usize].next = link;
                        slot.tail = link;
                    }
                }
            }
        });
    }

    /// Step 3: answer the literal atoms of the bucket's trigger fields.
    fn scan(
        &mut self,
        engine: &Engine,
        bucket: &Bucket,
        keywords_may_fire: bool,
        values: &mut [Val<'_>],
    ) {
        let epoch = self.epoch;
        let Scratch {
            atom_state,
            fired,
            lower,
            links,
            slots,
            scanned,
            keywords_scanned,
            memo,
            recorded,
            ..
        } = self;
        let mut fire = |atom: AtomId| {
            let state = &mut atom_state[atom as usize];
            if *state >> 1 != epoch {
                *state = epoch << 1 | 1;
                fired.push(atom);
            }
        };
        if let Some(keyword_scan) = bucket.keyword_scan {
            let keyword_scan = &engine.p.keyword_scans[keyword_scan as usize];
            // Unless the event's whole text proved that no keyword is anywhere, lower every
            // value back to back and ask the prefilter once over all of them: an occurrence
            // in a value is an occurrence in the concatenation, so "none there" means no
            // keyword anywhere (one that spans two values is only a false alarm).
            if keywords_may_fire {
                keyword_scan_values(keyword_scan, lower, values, &mut fire);
            }
            *keywords_scanned = epoch;
        }
        for &field in bucket.scan_fields.iter() {
            let slot = slots[field as usize];
            if slot.stamp != epoch {
                continue;
            }
            let Some(field_scan) = &engine.p.scans[field as usize] else {
                continue;
            };
            let mut link = slot.head;
            while link != NIL {
                let Link { value, next } = links[link as usize];
                link = next;
                if values[value as usize].value.is_null() {
                    continue;
                }
                let text = values[value as usize].value.text;
                if !(field_scan.has_automaton() && memo.wants(text.len())) {
                    let (start, len) = lowered(lower, values, value);
                    field_scan.scan(text, &lower[start..start + len], &mut fire);
                    continue;
                }
                let hash = ScanMemo::hash(field, text);
                if let Some(atoms) = memo.get(hash, field, text) {
                    atoms.for_each(&mut fire);
                    continue;
                }
                let (start, len) = lowered(lower, values, value);
                recorded.clear();
                field_scan.scan(text, &lower[start..start + len], &mut |atom| {
                    recorded.push(atom);
                    fire(atom);
                });
                // Overlapping matches fire an atom once per occurrence; keep it once.
                recorded.sort_unstable();
                recorded.dedup();
                memo.insert(hash, field, text, recorded);
            }
            scanned[field as usize] = epoch;
        }
    }

    /// The variants each of whose trigger sets fired, sorted.
    fn enqueue(&mut self, bucket: &Bucket) {
        let epoch = self.epoch;
        for &atom in &self.fired {
            if let Some(&(start, len)) = bucket.triggers.get(&atom) {
                for &entry in &bucket.pool[start as usize..(start + len) as usize] {
                    let mark = &mut self.queued[entry.variant() as usize];
                    let fired = if *mark >> 2 == epoch { *mark & 0b11 } else { 0 };
                    if fired & entry.set_bit() != 0 {
                        continue;
                    }
                    let fired = fired | entry.set_bit();
                    *mark = epoch << 2 | fired;
                    if fired == entry.all_sets() {
                        self.queue.push(entry.variant());
                    }
                }
            }
        }
        self.queue.sort_unstable();
    }

    /// Step 4: evaluate the candidates in variant (= rule) order.
    fn evaluate<'e>(
        &mut self,
        engine: &'e Engine,
        bucket: &Bucket,
        values: &mut [Val<'_>],
        header: (Option<&str>, Option<u32>),
        on_match: &mut impl FnMut(Match<'e>),
    ) -> usize {
        let (mut i, mut j) = (0, 0);
        let mut last_rule = u32::MAX;
        let mut count = 0;
        loop {
            let next = match (bucket.always.get(i), self.queue.get(j).copied()) {
                (Some(&a), Some(q)) if a <= q => {
                    i += 1;
                    a
                }
                (_, Some(q)) => {
                    j += 1;
                    q
                }
                (Some(&a), None) => {
                    i += 1;
                    a
                }
                (None, None) => break,
            };
            let variant = &engine.p.variants[next as usize];
            if variant.rule == last_rule {
                continue;
            }
            if let Some(selector) = &variant.selector
                && !self.selected(selector, header, values)
            {
                continue;
            }
            if self.node(engine, values, variant.root) {
                last_rule = variant.rule;
                count += 1;
                on_match(Match {
                    rule: engine.p.rule_ids[variant.rule as usize],
                    source: &variant.source,
                });
            }
        }
        count
    }

    fn selected(
        &mut self,
        selector: &Selector,
        (channel, event_id): (Option<&str>, Option<u32>),
        values: &mut [Val<'_>],
    ) -> bool {
        selector.sets.iter().any(|set| {
            set.channels
                .as_ref()
                .is_none_or(|cs| channel.is_some_and(|c| cs.iter().any(|x| **x == *c)))
                && set
                    .event_ids
                    .as_ref()
                    .is_none_or(|ids| event_id.is_some_and(|e| ids.contains(&e)))
                && set
                    .residual
                    .iter()
                    .all(|(field, expected)| self.field_equals(*field, expected, values))
        })
    }

    /// A residual source condition: some value of the field equals one of `expected`.
    fn field_equals(
        &mut self,
        field: FieldId,
        expected: &[CondValue],
        values: &mut [Val<'_>],
    ) -> bool {
        let slot = self.slots[field as usize];
        if slot.stamp != self.epoch {
            return false;
        }
        let mut link = slot.head;
        while link != NIL {
            let Link { value, next } = self.links[link as usize];
            link = next;
            let text = values[value as usize].value.text;
            let (start, len) = lowered(&mut self.lower, values, value);
            let lower = &self.lower[start..start + len];
            let hit = expected.iter().any(|e| match e {
                CondValue::Text(t) => **t == *lower,
                CondValue::Int(i) => text.trim().parse::<i64>() == Ok(*i),
            });
            if hit {
                return true;
            }
        }
        false
    }

    fn node(&mut self, engine: &Engine, values: &mut [Val<'_>], node: u32) -> bool {
        match engine.p.nodes[node as usize] {
            Node::Const(b) => b,
            Node::Atom(a) => self.atom(engine, values, a),
            Node::Not(inner) => !self.node(engine, values, inner),
            Node::And(start, len) => {
                (start..start + len).all(|k| self.node(engine, values, engine.p.kids[k as usize]))
            }
            Node::Or(start, len) => {
                (start..start + len).any(|k| self.node(engine, values, engine.p.kids[k as usize]))
            }
        }
    }

    fn atom(&mut self, engine: &Engine, values: &mut [Val<'_>], id: AtomId) -> bool {
        let state = self.atom_state[id as usize];
        if state >> 1 == self.epoch {
            return state & 1 == 1;
        }
        let result = self.compute(engine, values, id);
        self.atom_state[id as usize] = self.epoch << 1 | u32::from(result);
        result
    }

    fn compute(&mut self, engine: &Engine, values: &mut [Val<'_>], id: AtomId) -> bool {
        let epoch = self.epoch;
        // Most atoms are answered by their head alone, without reading the atom itself.
        let head = engine.p.heads[id as usize];
        match head.field {
            AtomField::Field(field) => {
                if head.exact && self.scanned[field as usize] == epoch {
                    // Scanned and not fired.
                    return false;
                }
                let slot = self.slots[field as usize];
                if slot.stamp != epoch {
                    return head.when_absent;
                }
                let atom = &engine.p.atoms[id as usize];
                if !atom.hints.is_empty()
                    && !atom.hints.iter().any(|&h| self.atom(engine, values, h))
                {
                    return false;
                }
                if let Matcher::FieldRef { other, position } = &atom.matcher {
                    let Some(other) = other
                        .map(|o| self.slots[o as usize])
                        .filter(|s| s.stamp == epoch)
                    else {
                        return false;
                    };
                    return self.fieldref(slot, other, *position, values);
                }
                let needs_lower = atom.matcher.needs_lower();
                let mut link = slot.head;
                while link != NIL {
                    let Link { value, next } = self.links[link as usize];
                    link = next;
                    if self.test(&atom.matcher, needs_lower, values, value) {
                        return true;
                    }
                }
                false
            }
            AtomField::Keyword => {
                if head.exact && self.keywords_scanned == epoch {
                    return false;
                }
                let atom = &engine.p.atoms[id as usize];
                if !atom.hints.is_empty()
                    && !atom.hints.iter().any(|&h| self.atom(engine, values, h))
                {
                    return false;
                }
                let needs_lower = atom.matcher.needs_lower();
                (0..values.len() as u32).any(|v| self.test(&atom.matcher, needs_lower, values, v))
            }
        }
    }

    #[inline]
    fn test(
        &mut self,
        matcher: &Matcher,
        needs_lower: bool,
        values: &mut [Val<'_>],
        value: u32,
    ) -> bool {
        let v = values[value as usize].value;
        if needs_lower && !v.is_null() {
            let (start, len) = lowered(&mut self.lower, values, value);
            matcher.test_value(v, &self.lower[start..start + len])
        } else {
            matcher.test_value(v, "")
        }
    }

    fn fieldref(
        &mut self,
        this: Slot,
        other: Slot,
        position: sigrun_rule::value::FieldRefMatch,
        values: &mut [Val<'_>],
    ) -> bool {
        let mut a = this.head;
        while a != NIL {
            let Link { value: va, next } = self.links[a as usize];
            a = next;
            if values[va as usize].value.is_null() {
                continue;
            }
            let mut b = other.head;
            while b != NIL {
                let Link {
                    value: vb,
                    next: next_b,
                } = self.links[b as usize];
                b = next_b;
                if values[vb as usize].value.is_null() {
                    continue;
                }
                let (sa, la) = lowered(&mut self.lower, values, va);
                let (sb, lb) = lowered(&mut self.lower, values, vb);
                if fieldref_holds(position, &self.lower[sa..sa + la], &self.lower[sb..sb + lb]) {
                    return true;
                }
            }
        }
        false
    }
}

/// Searches every value of the event for the keyword scan's atoms, lowering the values into
/// `lower` back to back and asking the scan's prefilter once over all of them first.
fn keyword_scan_values(
    keyword_scan: &FieldScan,
    lower: &mut String,
    values: &mut [Val<'_>],
    fire: &mut impl FnMut(AtomId),
) {
    let start = lower.len();
    for index in 0..values.len() as u32 {
        if !values[index as usize].value.is_null() {
            lowered(lower, values, index);
        }
    }
    if !keyword_scan.may_match(&lower[start..]) {
        return;
    }
    for v in values.iter() {
        if v.value.is_null() {
            continue;
        }
        let (s, l) = (v.lower_start as usize, v.lower_len as usize);
        keyword_scan.scan(v.value.text, &lower[s..s + l], fire);
    }
}

/// Whether a (short) name holds a space, eight bytes at a time: every field name of every
/// event is checked, and a byte loop (or `contains`, a call to memchr) showed in profiles.
#[inline]
fn has_space(name: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // A zero byte in `x` (a space in the word) sets its high bit here.
    let spaces = |word: u64| {
        let x = word ^ (u64::from(b' ') * ONES);
        x.wrapping_sub(ONES) & !x & HIGHS != 0
    };
    let n = name.len();
    if n < 8 {
        // Its zero bytes are not spaces.
        return spaces(short_word(name));
    }
    // Whole words, then the last eight bytes (overlapping the last whole word).
    name.chunks_exact(8)
        .any(|chunk| spaces(word::<8>(chunk, 0)))
        || spaces(word::<8>(name, n - 8))
}

/// The lower-cased text of a value, computed once per event into the arena.
#[inline]
fn lowered(arena: &mut String, values: &mut [Val<'_>], index: u32) -> (usize, usize) {
    let v = &mut values[index as usize];
    if v.lower_start == NIL {
        let start = arena.len();
        push_lower(arena, v.value.text);
        v.lower_start = start as u32;
        v.lower_len = (arena.len() - start) as u32;
    }
    (v.lower_start as usize, v.lower_len as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atom_heads_are_small() {
        assert_eq!(std::mem::size_of::<AtomHead>(), 12);
        assert!(std::mem::size_of::<Atom>() >= 6 * std::mem::size_of::<AtomHead>());
    }

    #[test]
    fn engine_is_shareable() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Engine>();
        assert_send_sync::<Scratch>();
    }

    #[test]
    fn spaces_are_found_anywhere_in_a_name() {
        for name in [
            "",
            "a",
            "Image",
            "ThreatName",
            "ParentCommandLine",
            "x\u{e9}y",
            "\u{2003}",
        ] {
            assert!(!has_space(name.as_bytes()), "{name}");
        }
        for name in [
            " ",
            "Threat Name",
            "Source Name ",
            " ProcessName",
            "abcdefg h",
            "abcdefgh i",
        ] {
            assert!(has_space(name.as_bytes()), "{name}");
        }
        // Bytes next to 0x20 are not spaces.
        assert!(!has_space(b"!!!!!!!!\x1f\x1f\x1f"));
        // Every length and position, around the four- and eight-byte loads.
        for n in 0..20 {
            for filler in [b'x', 0x1f, 0x21, 0xa0, 0x00] {
                let mut name = vec![filler; n];
                assert!(!has_space(&name), "{n} {filler:#x}");
                for at in 0..n {
                    name[at] = b' ';
                    assert!(has_space(&name), "{n} {at} {filler:#x}");
                    name[at] = filler;
                }
            }
        }
    }

    #[test]
    fn recycling_keeps_the_buffer() {
        let mut v: Vec<Val<'static>> = Vec::with_capacity(100);
        v.push(Val {
            value: FieldValue::string("x"),
            lower_start: NIL,
            lower_len: 0,
        });
        let ptr = v.as_ptr() as usize;
        let text = String::from("short-lived");
        let mut w: Vec<Val<'_>> = recycle(v);
        w.push(Val {
            value: FieldValue::string(&text),
            lower_start: NIL,
            lower_len: 0,
        });
        assert_eq!(w.as_ptr() as usize, ptr);
        let back: Vec<Val<'static>> = recycle(w);
        assert_eq!(back.as_ptr() as usize, ptr);
        assert!(back.capacity() >= 100);
    }
}
