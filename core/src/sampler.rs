//! Datum sampling for causal scrubbing, as the write-up's `run_scrub`: the root gets a
//! reference datum; each important node gets a datum drawn uniformly from those agreeing
//! with its parent's datum on the node's feature; unimportant nodes get uniformly random
//! data, shared according to the hypothesis's sharing policy.
//!
//! Every draw uses its own random stream derived from (seed, draw path, sample index), so
//! changing one node of a hypothesis never moves the samples of any other node: that is
//! what lets the adversary compare a hypothesis and its modification on paired samples.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::feature::{Buckets, DatumId, FeatureColumn, FeatureValue};

/// Slash-separated name of a node of the interpretation tree, e.g. `out/2.1/x2[3]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NodePath(pub String);

impl fmt::Display for NodePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Index of a slot (a node that receives a datum) in a [`SlotTree`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SlotId(pub usize);

/// How unimportant nodes share random data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Sharing {
    /// All unimportant children of one node share one datum (the write-up's default).
    #[default]
    PerParent,
    /// Every unimportant node draws its own datum.
    PerTerm,
    /// One random datum per sample for every unimportant node of the tree.
    Global,
}

/// What a slot's datum must satisfy.
#[derive(Debug, Clone, PartialEq)]
pub enum SlotKind {
    /// The root: the reference datum, whose label the loss is measured against.
    Reference,
    /// Agrees with the parent slot's datum on feature `feature` (index into the sampler's features).
    Agrees { feature: usize },
    /// Anything; shares its datum with other unimportant slots as the sharing policy says.
    Unimportant,
    /// Like `Unimportant`, but per-parent sharing is only within the named group.
    UnimportantGroup(String),
    /// Same datum as the slot named (an adversary's "sample these together" constraint).
    SameAs(SlotId),
}

/// One slot of the tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Slot {
    pub path: NodePath,
    pub parent: Option<SlotId>,
    pub kind: SlotKind,
}

/// The slots of an interpretation tree, parents before children.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SlotTree {
    pub slots: Vec<Slot>,
}

impl SlotTree {
    /// Adds a slot; parents must be added before their children.
    pub fn add(
        &mut self,
        path: impl Into<String>,
        parent: Option<SlotId>,
        kind: SlotKind,
    ) -> SlotId {
        if let Some(p) = parent {
            assert!(
                p.0 < self.slots.len(),
                "parent slot {p:?} must be added before its child"
            );
        }
        self.slots.push(Slot {
            path: NodePath(path.into()),
            parent,
            kind,
        });
        SlotId(self.slots.len() - 1)
    }

    /// The slot named `path`, if any.
    pub fn find(&self, path: &str) -> Option<SlotId> {
        self.slots.iter().position(|s| s.path.0 == path).map(SlotId)
    }
}

/// Why data could not be sampled.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SampleError {
    #[error("node `{node}`: no datum in the pool has {feature} = {value} (the value of its parent's datum {parent_datum}); the equivalence class is empty")]
    EmptyClass {
        node: NodePath,
        feature: String,
        value: String,
        parent_datum: u32,
    },
    #[error("the pool of data to sample from is empty")]
    EmptyPool,
    #[error("node `{node}` has no parent but is not the reference slot")]
    Orphan { node: NodePath },
    #[error("node `{node}` refers to feature #{feature}, but only {n} features were given")]
    UnknownFeature {
        node: NodePath,
        feature: usize,
        n: usize,
    },
    #[error("node `{node}` is sampled together with a slot that comes after it; list it later")]
    ForwardReference { node: NodePath },
}

/// Data for every slot of every sample: `data[sample * n_slots + slot]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    pub n_samples: usize,
    pub n_slots: usize,
    pub data: Vec<DatumId>,
}

impl Assignment {
    /// The datum of `slot` in sample `sample`.
    pub fn get(&self, sample: usize, slot: SlotId) -> DatumId {
        self.data[sample * self.n_slots + slot.0]
    }

    /// The data of one sample, indexed by slot.
    pub fn sample(&self, sample: usize) -> &[DatumId] {
        &self.data[sample * self.n_slots..(sample + 1) * self.n_slots]
    }
}

/// Samples data for slot trees over a fixed pool and feature set.
pub struct Sampler<'f> {
    pool: Vec<DatumId>,
    features: Vec<&'f FeatureColumn>,
    buckets: Vec<Buckets>,
}

impl<'f> Sampler<'f> {
    /// A sampler drawing from `pool` (the data scrubbing may use), with agreeing draws for
    /// each of `features` bucketed once here.
    pub fn new(pool: Vec<DatumId>, features: Vec<&'f FeatureColumn>) -> Result<Self, SampleError> {
        if pool.is_empty() {
            return Err(SampleError::EmptyPool);
        }
        let buckets = features.iter().map(|f| Buckets::new(f, &pool)).collect();
        Ok(Sampler {
            pool,
            features,
            buckets,
        })
    }

    /// Data for samples `samples` (indices; row 0 of the assignment is `samples.start`) of
    /// `tree` with `seed`. Deterministic: the same seed, tree, pool and index give the same
    /// data, whatever range the index is drawn in, so runs split by sample index merge.
    pub fn sample(
        &self,
        tree: &SlotTree,
        sharing: Sharing,
        samples: std::ops::Range<usize>,
        seed: u64,
    ) -> Result<Assignment, SampleError> {
        let n_samples = samples.len();
        let n_slots = tree.slots.len();
        for (i, s) in tree.slots.iter().enumerate() {
            match (&s.kind, s.parent) {
                (SlotKind::Reference, _) => {}
                (SlotKind::SameAs(other), _) if other.0 >= i => {
                    return Err(SampleError::ForwardReference {
                        node: s.path.clone(),
                    })
                }
                (_, None) => {
                    return Err(SampleError::Orphan {
                        node: s.path.clone(),
                    })
                }
                (SlotKind::Agrees { feature }, _) if *feature >= self.features.len() => {
                    return Err(SampleError::UnknownFeature {
                        node: s.path.clone(),
                        feature: *feature,
                        n: self.features.len(),
                    })
                }
                _ => {}
            }
        }
        // Where each unimportant slot draws from: the stream path names the sharing group,
        // so every member of a group reads the same random number.
        let group_path: Vec<Option<String>> = tree
            .slots
            .iter()
            .map(|s| match (&s.kind, sharing) {
                (SlotKind::Unimportant, Sharing::PerParent) => Some(format!(
                    "{}/<unimportant>",
                    tree.slots[s.parent.expect("checked").0].path
                )),
                (SlotKind::UnimportantGroup(g), Sharing::PerParent) => Some(format!(
                    "{}/<unimportant:{g}>",
                    tree.slots[s.parent.expect("checked").0].path
                )),
                (SlotKind::Unimportant | SlotKind::UnimportantGroup(_), Sharing::PerTerm) => {
                    Some(s.path.0.clone())
                }
                (SlotKind::Unimportant | SlotKind::UnimportantGroup(_), Sharing::Global) => {
                    Some("<unimportant>".into())
                }
                _ => None,
            })
            .collect();
        let mut data = vec![DatumId(0); n_samples * n_slots];
        for (k, sample) in samples.enumerate() {
            let row = &mut data[k * n_slots..(k + 1) * n_slots];
            for (i, s) in tree.slots.iter().enumerate() {
                row[i] = match &s.kind {
                    SlotKind::Reference => {
                        self.pool[draw(seed, &s.path.0, sample, self.pool.len())]
                    }
                    SlotKind::Unimportant | SlotKind::UnimportantGroup(_) => {
                        self.pool[draw(
                            seed,
                            group_path[i].as_deref().expect("unimportant"),
                            sample,
                            self.pool.len(),
                        )]
                    }
                    SlotKind::SameAs(other) => row[other.0],
                    SlotKind::Agrees { feature } => {
                        let parent = row[s.parent.expect("checked").0];
                        let f = self.features[*feature];
                        let value: FeatureValue = f.value(parent);
                        let class = self.buckets[*feature].class(value);
                        if class.is_empty() {
                            return Err(SampleError::EmptyClass {
                                node: s.path.clone(),
                                feature: f.name.clone(),
                                value: f.describe(value),
                                parent_datum: parent.0,
                            });
                        }
                        class[draw(seed, &s.path.0, sample, class.len())]
                    }
                };
            }
        }
        Ok(Assignment {
            n_samples,
            n_slots,
            data,
        })
    }
}

/// A uniform index in `0..n` from the stream (seed, path, sample).
fn draw(seed: u64, path: &str, sample: usize, n: usize) -> usize {
    let mut s = SplitMix64(stream_seed(seed, path, sample as u64));
    s.below(n as u64) as usize
}

/// Mixes the three coordinates of a stream into one 64-bit state (FNV-1a over the path,
/// then SplitMix64 finalisation), so nearby seeds, paths and sample indices decorrelate.
fn stream_seed(seed: u64, path: &str, sample: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in path.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut s = SplitMix64(seed ^ mix(h));
    s.next();
    mix(s.next() ^ mix(sample.wrapping_add(0x632b_e59b_d9b4_e019)))
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// SplitMix64: a small, well-tested generator; one per draw keeps streams independent.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }

    /// Unbiased uniform integer below `n` (Lemire's multiply-and-reject).
    fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "draw from an empty range");
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = (self.next() as u128) * (n as u128);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }
}

/// Histogram of how often each value of `feature` is drawn for `slot`; for tests and reports.
pub fn value_counts(
    a: &Assignment,
    slot: SlotId,
    feature: &FeatureColumn,
) -> HashMap<FeatureValue, usize> {
    let mut out = HashMap::new();
    for s in 0..a.n_samples {
        *out.entry(feature.value(a.get(s, slot))).or_insert(0) += 1;
    }
    out
}

#[cfg(test)]
#[path = "sampler_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "sampler_props.rs"]
mod props;
