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
    /// A cache holding at most `limit_bytes` of values.
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

    /// Stores values while they fit; once full, keeps what it holds. Successive runs read
    /// the same data in the same order (paired sampling), so a cache that started over
    /// when full would drop exactly what the next run reads first and hit almost never;
    /// keeping the first entries gives every later run those hits.
    pub fn insert_many(&self, entries: Vec<((GroupId, DatumId), Vec<f32>)>) {
        let mut inner = self.lock();
        for (k, v) in entries {
            let bytes = v.len() * 4;
            if inner.bytes + bytes > self.limit_bytes {
                tracing::debug!(
                    bytes = inner.bytes,
                    "plain-value cache full; keeping what it holds"
                );
                return;
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_cache_keeps_its_first_entries_and_stores_no_more() {
        let cache = PlainCache::with_limit(3 * 4 * 2);
        let g = cache.group(&[NodeId(1), NodeId(0)], &[0]);
        assert_eq!(
            g,
            cache.group(&[NodeId(0), NodeId(1)], &[0]),
            "terms in any order"
        );
        let entry = |d: u32| ((g, DatumId(d)), vec![d as f32; 3]);
        cache.insert_many(vec![entry(0), entry(1)]);
        cache.insert_many(vec![entry(2)]);
        assert_eq!(cache.bytes(), 24);
        assert_eq!(cache.get(g, DatumId(0)).as_deref(), Some(&[0.0; 3][..]));
        assert_eq!(cache.get(g, DatumId(1)).as_deref(), Some(&[1.0; 3][..]));
        assert!(cache.get(g, DatumId(2)).is_none());
        // Storing a value again costs nothing.
        cache.insert_many(vec![entry(1)]);
        assert_eq!(cache.bytes(), 24);
    }
}
