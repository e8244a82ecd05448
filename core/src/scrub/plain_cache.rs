//! Memoised plain values across scrubbing runs over one graph. The adversary scores dozens
//! of trees that differ from each other in a few datum rules; with paired sampling every
//! untouched node reads the same data in every run, so its plain values (the bulk of the
//! work: a forward pass per distinct datum) can be reused instead of recomputed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::feature::DatumId;
use crate::scrub::graph::NodeId;

/// A (terms, rows read) combination: plain nodes with the same one share entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GroupId(u32);

#[derive(Default)]
struct Inner {
    groups: HashMap<(Vec<NodeId>, Vec<usize>), GroupId>,
    values: HashMap<(GroupId, DatumId), Arc<[f32]>>,
    bytes: usize,
}

/// Plain values by (terms, rows read, datum), each the compact `[rows read, width]` sum of
/// the terms. Valid for one graph only: a rewritten graph needs its own cache.
pub struct PlainCache {
    inner: Mutex<Inner>,
    limit_bytes: usize,
}

impl Default for PlainCache {
    /// A cache holding the caches' share of the memory budget ([`crate::memory`]).
    fn default() -> Self {
        PlainCache::with_limit(crate::memory::cache_bytes())
    }
}

impl PlainCache {
    /// A cache that empties itself once it holds more than `limit_bytes` of values.
    pub fn with_limit(limit_bytes: usize) -> Self {
        PlainCache {
            inner: Mutex::new(Inner::default()),
            limit_bytes,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic elsewhere cannot leave the maps half-updated in a harmful way: entries are
        // inserted whole, so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The group of plain nodes summing `terms` (any order) on rows `rows`.
    pub fn group(&self, terms: &[NodeId], rows: &[usize]) -> GroupId {
        let mut t = terms.to_vec();
        t.sort();
        let mut inner = self.lock();
        let next = GroupId(inner.groups.len() as u32);
        *inner.groups.entry((t, rows.to_vec())).or_insert(next)
    }

    /// The cached value of `group` on `datum`.
    pub fn get(&self, group: GroupId, datum: DatumId) -> Option<Arc<[f32]>> {
        self.lock().values.get(&(group, datum)).cloned()
    }

    /// Many lookups under one lock: `out[i]` answers `keys[i]`.
    pub fn get_many(&self, keys: &[(GroupId, DatumId)]) -> Vec<Option<Arc<[f32]>>> {
        let inner = self.lock();
        keys.iter().map(|k| inner.values.get(k).cloned()).collect()
    }

    /// Stores values, starting over first when they would exceed the limit.
    pub fn insert_many(&self, entries: Vec<((GroupId, DatumId), Vec<f32>)>) {
        let mut inner = self.lock();
        let adding: usize = entries.iter().map(|(_, v)| v.len() * 4).sum();
        if inner.bytes + adding > self.limit_bytes {
            tracing::debug!(bytes = inner.bytes, "plain-value cache full; starting over");
            inner.values.clear();
            inner.bytes = 0;
        }
        for (k, v) in entries {
            let bytes = v.len() * 4;
            if inner.values.insert(k, v.into()).is_none() {
                inner.bytes += bytes;
            }
        }
    }

    /// Values held, in bytes.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }
}
