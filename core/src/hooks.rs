//! Intermediate activations of one sequence under TransformerLens hook names
//! (`blocks.0.attn.hook_pattern`, `blocks.2.hook_resid_post`, ...), shaped as
//! TransformerLens shapes them without the batch axis.

use std::collections::BTreeMap;

use crate::tensor::Tensor;

/// Activations of one sequence, keyed by hook name.
#[derive(Debug, Clone, Default)]
pub struct ActivationCache {
    acts: BTreeMap<String, Tensor>,
}

impl ActivationCache {
    /// The activation recorded under `name`, if any.
    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.acts.get(name)
    }

    /// Records `t` under `name`, replacing any earlier value.
    pub fn insert(&mut self, name: impl Into<String>, t: Tensor) {
        self.acts.insert(name.into(), t);
    }

    /// All recorded hook names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.acts.keys().map(String::as_str)
    }
}

/// Collects per-sequence caches while a batched forward runs; a no-op when disabled so the
/// fast path and the recording path are one function.
pub struct Recorder<'a> {
    caches: Option<&'a mut Vec<ActivationCache>>,
    offsets: &'a [usize],
    keep: Option<&'a [String]>,
}

impl<'a> Recorder<'a> {
    /// A recorder that writes one cache per sequence of a batch with `offsets`.
    pub fn new(caches: Option<&'a mut Vec<ActivationCache>>, offsets: &'a [usize]) -> Self {
        Self::keeping(caches, offsets, None)
    }

    /// Like `new`, but records only the hooks named in `keep` (all when `None`), so caching
    /// a few activations of many sequences stays small.
    pub fn keeping(
        caches: Option<&'a mut Vec<ActivationCache>>,
        offsets: &'a [usize],
        keep: Option<&'a [String]>,
    ) -> Self {
        let mut r = Recorder {
            caches,
            offsets,
            keep,
        };
        if let Some(c) = r.caches.as_deref_mut() {
            c.clear();
            c.resize_with(offsets.len() - 1, ActivationCache::default);
        }
        r
    }

    /// True when activations are being kept.
    pub fn enabled(&self) -> bool {
        self.caches.is_some()
    }

    /// True when the hook `name` is being kept.
    pub fn wants(&self, name: &str) -> bool {
        self.caches.is_some() && self.keep.is_none_or(|k| k.iter().any(|n| n == name))
    }

    /// Records a row-wise activation `[n_rows, inner...]`, split per sequence into `[pos, inner...]`.
    pub fn rows(&mut self, name: &str, data: &[f32], inner: &[usize]) {
        if !self.wants(name) {
            return;
        }
        let Some(caches) = self.caches.as_deref_mut() else {
            return;
        };
        let w: usize = inner.iter().product();
        for (s, cache) in caches.iter_mut().enumerate() {
            let (a, b) = (self.offsets[s], self.offsets[s + 1]);
            let mut shape = vec![b - a];
            shape.extend_from_slice(inner);
            cache.insert(name, Tensor::new(shape, data[a * w..b * w].to_vec()));
        }
    }

    /// Records an activation of sequence `seq` alone.
    pub fn seq(&mut self, seq: usize, name: &str, t: impl FnOnce() -> Tensor) {
        if !self.wants(name) {
            return;
        }
        if let Some(caches) = self.caches.as_deref_mut() {
            caches[seq].insert(name, t());
        }
    }
}
