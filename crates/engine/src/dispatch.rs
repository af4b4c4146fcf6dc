//! Dispatch: which rule variants can apply to an event, decided by its channel and event id
//! with one or two hash lookups.
//!
//! A variant's source conditions (`Channel: Security, EventID: 4688`) become dispatch keys.
//! Every `(channel, event id)` pair, every channel and the "anything" case get a bucket holding
//! the variants whose keys they satisfy, merged and sorted at compile time. Conditions that are
//! not channel or event id (`OperationType`, `Provider_Name`) stay as a residual check run for
//! the variant before its condition.

use crate::atoms::{AtomTable, FieldId};
use crate::fx::FxMap;
use crate::text::lower;
use sigrun_pipeline::{ConditionValue, SourceVariant};

/// Event field names (as pipelines write conditions) that mean the event's channel.
pub const CHANNEL_FIELDS: &[&str] = &["Channel", "winlog.channel"];
/// Event field names that mean the event id.
pub const EVENT_ID_FIELDS: &[&str] = &["EventID", "winlog.event_id", "event.code"];

/// A compiled condition value of a residual check.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CondValue {
    /// Compared ignoring case (stored lower-cased).
    Text(Box<str>),
    /// Compared with the event value read as an integer.
    Int(i64),
}

/// One condition set of a source: all of its entries must hold.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct SetCheck {
    /// Lower-cased channels, one of which the event's must be (`None`: any).
    pub channels: Option<Vec<Box<str>>>,
    pub event_ids: Option<Vec<u32>>,
    /// Other entries: the field must have one of the values.
    pub residual: Vec<(FieldId, Vec<CondValue>)>,
}

/// Which events a source selects: any of its sets.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Selector {
    pub sets: Vec<SetCheck>,
}

/// Where a variant is filed.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    Exact(Box<str>, u32),
    Channel(Box<str>),
    Any,
}

/// A variant's selector, its dispatch keys, and whether being dispatched already proves
/// that the source selects the event (then the selector need not run).
pub fn compile_selector(
    variant: &SourceVariant<'_>,
    table: &mut AtomTable,
) -> (Selector, Vec<Key>, bool) {
    let mut selector = Selector::default();
    let mut keys = Vec::new();
    let mut exact = true;
    for set in variant.conditions() {
        let mut check = SetCheck::default();
        for condition in set.entries() {
            let name = condition.field();
            let values = condition.values();
            if CHANNEL_FIELDS.contains(&name)
                && values.iter().all(|v| matches!(v, ConditionValue::Text(_)))
            {
                let channels = values
                    .iter()
                    .filter_map(|v| match v {
                        ConditionValue::Text(t) => Some(lower(t).into_boxed_str()),
                        ConditionValue::Integer(_) => None,
                    })
                    .collect();
                check.channels = Some(intersect(check.channels.take(), channels));
                continue;
            }
            if EVENT_ID_FIELDS.contains(&name) {
                let ids: Option<Vec<u32>> = values
                    .iter()
                    .map(|v| match v {
                        ConditionValue::Integer(i) => u32::try_from(*i).ok(),
                        ConditionValue::Text(t) => t.trim().parse().ok(),
                    })
                    .collect();
                if let Some(ids) = ids {
                    check.event_ids = Some(intersect(check.event_ids.take(), ids));
                    continue;
                }
            }
            let field = table.field(&[name.to_owned()]);
            let values = values
                .iter()
                .map(|v| match v {
                    ConditionValue::Text(t) => CondValue::Text(lower(t).into()),
                    ConditionValue::Integer(i) => CondValue::Int(*i),
                })
                .collect();
            check.residual.push((field, values));
        }
        match (&check.channels, &check.event_ids) {
            (Some(channels), Some(ids)) => {
                for c in channels {
                    for &e in ids {
                        keys.push(Key::Exact(c.clone(), e));
                    }
                }
            }
            (Some(channels), None) => keys.extend(channels.iter().map(|c| Key::Channel(c.clone()))),
            (None, ids) => {
                // Without a channel the event id alone is checked, not dispatched on.
                exact &= ids.is_none();
                keys.push(Key::Any);
            }
        }
        exact &= check.residual.is_empty();
        selector.sets.push(check);
    }
    keys.sort();
    keys.dedup();
    (selector, keys, exact)
}

/// `previous ∩ next` (a set naming the same field twice needs both).
fn intersect<T: PartialEq>(previous: Option<Vec<T>>, next: Vec<T>) -> Vec<T> {
    match previous {
        None => next,
        Some(previous) => next.into_iter().filter(|v| previous.contains(v)).collect(),
    }
}

/// The lookup from `(channel, event id)` to a bucket index.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct DispatchTable {
    #[serde(with = "crate::fx::sorted")]
    channels: FxMap<Box<str>, ChannelBuckets>,
    global: u32,
}

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct ChannelBuckets {
    #[serde(with = "crate::fx::sorted")]
    by_event_id: FxMap<u32, u32>,
    other: u32,
}

impl DispatchTable {
    /// Every bucket the table can return.
    pub fn bucket_ids(&self) -> impl Iterator<Item = u32> + '_ {
        std::iter::once(self.global).chain(self.channels.values().flat_map(|channel| {
            std::iter::once(channel.other).chain(channel.by_event_id.values().copied())
        }))
    }

    /// The bucket for an event; `channel_lower` is its channel, lower-cased.
    #[inline]
    pub fn bucket(&self, channel_lower: Option<&str>, event_id: Option<u32>) -> u32 {
        let Some(channel) = channel_lower.and_then(|c| self.channels.get(c)) else {
            return self.global;
        };
        event_id
            .and_then(|e| channel.by_event_id.get(&e).copied())
            .unwrap_or(channel.other)
    }

    /// Builds the table and the member list of each bucket (sorted variant ids). Buckets with
    /// the same members are shared.
    pub fn build(keys: &[(u32, Vec<Key>)]) -> (DispatchTable, Vec<Vec<u32>>) {
        let mut exact: FxMap<(Box<str>, u32), Vec<u32>> = FxMap::default();
        let mut by_channel: FxMap<Box<str>, Vec<u32>> = FxMap::default();
        let mut any: Vec<u32> = Vec::new();
        for (variant, variant_keys) in keys {
            for key in variant_keys {
                match key {
                    Key::Exact(c, e) => exact.entry((c.clone(), *e)).or_default().push(*variant),
                    Key::Channel(c) => by_channel.entry(c.clone()).or_default().push(*variant),
                    Key::Any => any.push(*variant),
                }
            }
        }
        let mut channels: Vec<Box<str>> = by_channel
            .keys()
            .cloned()
            .chain(exact.keys().map(|(c, _)| c.clone()))
            .collect();
        channels.sort();
        channels.dedup();

        let mut lists: Vec<Vec<u32>> = Vec::new();
        let mut shared: FxMap<Vec<u32>, u32> = FxMap::default();
        let mut intern = |parts: &[&[u32]]| -> u32 {
            let mut members: Vec<u32> = parts.iter().flat_map(|p| p.iter().copied()).collect();
            members.sort_unstable();
            members.dedup();
            *shared.entry(members.clone()).or_insert_with(|| {
                lists.push(members);
                (lists.len() - 1) as u32
            })
        };
        let global = intern(&[&any]);
        let mut table = DispatchTable {
            channels: FxMap::default(),
            global,
        };
        let mut exact_keys: Vec<&(Box<str>, u32)> = exact.keys().collect();
        exact_keys.sort();
        for channel in channels {
            let channel_only: &[u32] = by_channel.get(&channel).map_or(&[], Vec::as_slice);
            let other = intern(&[channel_only, &any]);
            let mut by_event_id = FxMap::default();
            for (c, e) in exact_keys.iter().filter(|(c, _)| *c == channel) {
                let pair = &exact[&(c.clone(), *e)];
                by_event_id.insert(*e, intern(&[pair, channel_only, &any]));
            }
            table
                .channels
                .insert(channel, ChannelBuckets { by_event_id, other });
        }
        (table, lists)
    }
}
