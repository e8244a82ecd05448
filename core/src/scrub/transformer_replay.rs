//! Plain values rebuilt from what one forward pass leaves behind. Every hypothesis of a
//! table, and every tree the adversary tries, reads the same few thousand sequences; a
//! forward pass per sequence per run was most of the induction table's time. Each block's
//! `z` (and MLP output) is a fraction of what the pass computes and gives every term back
//! with one small product: a head is `z_h·W_O[h]`, the residual stream before a block is
//! the sum the pass formed. The products are the pass's own, on the same inputs, so the
//! values are its bits (tested against the pass for every architecture).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use super::{Component, TransformerGraph};
use crate::config::{ModelConfig, PositionalKind};
use crate::feature::DatumId;
use crate::forward::{
    add_in_place, affine, forward_through, head_keys, head_pattern, head_pattern_rows, unembed,
};
use crate::hooks::ActivationCache;
use crate::linalg::{gemm, View, ViewMut};
use crate::scrub::graph::NodeId;
use crate::tokens::TokenBatch;

/// One block's record: `z` `[n, heads·d_head]` and, with an MLP, its output `[n, d_model]`.
struct BlockRecord {
    z: Vec<f32>,
    mlp_out: Option<Vec<f32>>,
}

/// One datum's forward pass, as much of it as rebuilds every plain value, and the keys of
/// heads whose patterns were asked for row by row (refined 5 reads one row of head 0.0's
/// pattern from each of a thousand sequences; the keys are most of that work).
pub(super) struct Replay {
    blocks: Vec<BlockRecord>,
    keys: Mutex<HashMap<HeadKey, Arc<[f32]>>>,
}

/// A head's keys by (layer, key-value head).
type HeadKey = (usize, usize);

impl Replay {
    fn bytes(&self) -> usize {
        self.blocks
            .iter()
            .map(|b| 4 * (b.z.len() + b.mlp_out.as_ref().map_or(0, Vec::len)))
            .sum()
    }
}

#[derive(Default)]
struct Held {
    replays: HashMap<DatumId, Arc<Replay>>,
    bytes: usize,
    full: bool,
}

/// Replays by datum, up to a byte limit; once full it keeps what it holds (paired sampling
/// reads the same data in the same order run after run, as [`super::super::plain_cache`]
/// explains).
pub(super) struct ReplayStore {
    held: Mutex<Held>,
    limit_bytes: usize,
}

impl ReplayStore {
    /// The store for a model: the replays' share of the memory budget when one sequence's
    /// forward pass costs at least [`REPLAY_MIN_MACS`], none below. A small model's pass
    /// is cheaper than rebuilding its values, and its datasets are large (paren 1b at 2,000
    /// samples: 1.2-1.8 s and 0.34 GB by passes, 1.7-2.2 s and 0.97 GB with replays).
    pub(super) fn for_model(cfg: &ModelConfig) -> Self {
        match forward_macs(cfg) >= REPLAY_MIN_MACS {
            true => ReplayStore::with_limit(crate::memory::replay_bytes()),
            false => ReplayStore::with_limit(0),
        }
    }

    /// A store holding at most `limit_bytes` (0: none, every plain value from a pass).
    pub(crate) fn with_limit(limit_bytes: usize) -> Self {
        ReplayStore {
            held: Mutex::new(Held::default()),
            limit_bytes,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Held> {
        // Entries go in whole, so a lock poisoned by a panic elsewhere is still consistent.
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a new replay may still be stored.
    pub(super) fn has_room(&self) -> bool {
        self.limit_bytes > 0 && !self.lock().full
    }

    fn get(&self, datum: DatumId) -> Option<Arc<Replay>> {
        self.lock().replays.get(&datum).cloned()
    }

    fn insert(&self, datum: DatumId, replay: Arc<Replay>) {
        let mut held = self.lock();
        let bytes = replay.bytes();
        if held.full || held.bytes + bytes > self.limit_bytes {
            if !held.full {
                tracing::debug!(
                    sequences = held.replays.len(),
                    mb = held.bytes as f64 / 1e6,
                    "replay store full; keeping what it holds"
                );
            }
            held.full = true;
            return;
        }
        if held.replays.insert(datum, replay).is_none() {
            held.bytes += bytes;
        }
    }

    /// Counts `bytes` more held if they fit; whether they did.
    fn take(&self, bytes: usize) -> bool {
        let mut held = self.lock();
        let fits = held.bytes + bytes <= self.limit_bytes;
        if fits {
            held.bytes += bytes;
        }
        fits
    }

    /// Bytes held.
    #[cfg(test)]
    pub(super) fn bytes(&self) -> usize {
        self.lock().bytes
    }
}

/// Multiply-adds of one sequence's forward pass above which replays are kept: the
/// induction model's is about 2·10^8, the paren model's about 10^6.
const REPLAY_MIN_MACS: usize = 1 << 24;

/// Multiply-adds of one n_ctx-long sequence's forward pass through the blocks (projections,
/// attention, MLP), the unembedding left out.
fn forward_macs(cfg: &ModelConfig) -> usize {
    let (n, d, e) = (cfg.n_ctx, cfg.d_model, cfg.d_head);
    let projections = n * d * e * (2 * cfg.n_heads + 2 * cfg.kv_heads());
    let attention = 2 * cfg.n_heads * n * n * e;
    let mlp = cfg
        .d_mlp
        .map_or(0, |m| n * d * m * if cfg.gated_mlp { 3 } else { 2 });
    cfg.n_layers * (projections + attention + mlp)
}

/// Sequences of one recording pass per thread (big enough for efficient products).
const RECORD_CHUNK: usize = 64;

impl TransformerGraph<'_> {
    fn record_hooks(&self) -> Vec<String> {
        let cfg = &self.model.config;
        let mut keep: Vec<String> = (0..cfg.n_layers)
            .map(|l| format!("blocks.{l}.attn.hook_z"))
            .collect();
        if cfg.d_mlp.is_some() {
            keep.extend((0..cfg.n_layers).map(|l| format!("blocks.{l}.hook_mlp_out")));
        }
        keep
    }

    fn replay_of(&self, cache: &ActivationCache) -> Replay {
        let cfg = &self.model.config;
        let get = |name: String| cache.get(&name).expect("hook recorded").data.clone();
        Replay {
            keys: Mutex::default(),
            blocks: (0..cfg.n_layers)
                .map(|l| BlockRecord {
                    z: get(format!("blocks.{l}.attn.hook_z")),
                    mlp_out: cfg.d_mlp.map(|_| get(format!("blocks.{l}.hook_mlp_out"))),
                })
                .collect(),
        }
    }

    /// The plain values of `nodes` on each of `data` from its replay, recording (and
    /// storing) the replays the store lacks while it has room; `None` for a datum left
    /// without one, for the caller to run only the pass its nodes need.
    pub(super) fn replayed_plain(
        &self,
        data: &[DatumId],
        nodes: &[NodeId],
        rows: Option<&[usize]>,
    ) -> Vec<Option<Vec<Vec<f32>>>> {
        if self.replays.limit_bytes == 0 {
            return vec![None; data.len()];
        }
        let mut have: HashMap<DatumId, Arc<Replay>> = data
            .iter()
            .filter_map(|&d| self.replays.get(d).map(|r| (d, r)))
            .collect();
        let mut missing: Vec<DatumId> = data
            .iter()
            .copied()
            .filter(|d| !have.contains_key(d))
            .collect();
        missing.sort();
        missing.dedup();
        if !missing.is_empty() && self.replays.has_room() {
            let keep = self.record_hooks();
            let last = self.model.config.n_layers.checked_sub(1);
            let chunk = missing
                .len()
                .div_ceil(rayon::current_num_threads())
                .clamp(1, RECORD_CHUNK);
            let recorded: Vec<(DatumId, Arc<Replay>)> = missing
                .par_chunks(chunk)
                .flat_map_iter(|chunk| {
                    let batch = TokenBatch::from_sequences(
                        chunk.iter().map(|d| self.tokens[d.index()].as_slice()),
                    );
                    let mut caches = Vec::new();
                    // Through the last block only: logits are rebuilt on the rows scored.
                    forward_through(self.model, &batch, Some(&mut caches), Some(&keep), last);
                    caches
                        .iter()
                        .zip(chunk)
                        .map(|(c, &d)| (d, Arc::new(self.replay_of(c))))
                        .collect::<Vec<_>>()
                })
                .collect();
            for (d, r) in recorded {
                self.replays.insert(d, r.clone());
                have.insert(d, r);
            }
        }
        data.par_iter()
            .map(|d| {
                have.get(d)
                    .map(|r| self.values_of_replay(*d, r, nodes, rows))
            })
            .collect()
    }

    /// Every value of `nodes` on `datum` from its replay: whole, or with `rows` on those
    /// rows only (`[rows.len(), width]`), heads and few rows of a pattern computed there.
    fn values_of_replay(
        &self,
        datum: DatumId,
        replay: &Replay,
        nodes: &[NodeId],
        rows: Option<&[usize]>,
    ) -> Vec<Vec<f32>> {
        let cfg = &self.model.config;
        let w = &self.model.weights;
        let (d, n) = (cfg.d_model, cfg.n_ctx);
        let tokens = &self.tokens[datum.index()];
        let all: Vec<usize>;
        let at: &[usize] = match rows {
            Some(r) => r,
            None => {
                all = (0..n).collect();
                &all
            }
        };
        let pick = |v: &[f32], width: usize| -> Vec<f32> {
            match rows {
                None => v.to_vec(),
                Some(rs) => rs
                    .iter()
                    .flat_map(|&r| v[r * width..(r + 1) * width].iter().copied())
                    .collect(),
            }
        };
        let embed_at = |rs: &[usize]| -> Vec<f32> {
            rs.iter()
                .flat_map(|&r| {
                    let t = tokens[r].0 as usize;
                    w.w_e[t * d..(t + 1) * d].iter().copied()
                })
                .collect()
        };
        let pos_at = |rs: &[usize]| -> Vec<f32> {
            rs.iter()
                .flat_map(|&r| w.w_pos[r * d..(r + 1) * d].iter().copied())
                .collect()
        };
        // Row by row pays only for a few rows: a product per row instead of one per block.
        let few = rows.filter(|r| r.len() * FEW_ROWS <= n);
        // The residual stream before each block (and after the last), formed as the pass
        // forms it, only as far as some node reads it.
        let deepest = nodes
            .iter()
            .filter_map(|&node| match self.components[node.0] {
                Component::Pattern { layer, .. } => Some(layer),
                Component::Output => Some(cfg.n_layers),
                _ => None,
            })
            .max();
        let mut streams: Vec<Vec<f32>> = Vec::new();
        if let Some(deepest) = deepest {
            let every: Vec<usize> = (0..n).collect();
            let mut resid = embed_at(&every);
            if cfg.positional == PositionalKind::Standard {
                add_in_place(&mut resid, &pos_at(&every));
            }
            streams.push(resid.clone());
            for (l, b) in replay.blocks.iter().enumerate().take(deepest) {
                let a = &w.blocks[l].attn;
                let he = cfg.n_heads * cfg.d_head;
                add_in_place(&mut resid, &affine(&b.z, n, he, &a.w_o, &a.b_o, d));
                if let Some(m) = &b.mlp_out {
                    add_in_place(&mut resid, m);
                }
                streams.push(resid.clone());
            }
        }
        nodes
            .iter()
            .map(|&node| match self.components[node.0] {
                Component::Embed => embed_at(at),
                Component::PosEmbed => pos_at(at),
                Component::AttnBias { layer } => w.blocks[layer].attn.b_o.repeat(at.len()),
                Component::Head { layer, head } => {
                    self.head_from_z(layer, head, &replay.blocks[layer].z, at)
                }
                Component::Mlp { layer } => pick(
                    replay.blocks[layer]
                        .mlp_out
                        .as_ref()
                        .expect("an MLP node implies a recorded MLP output"),
                    d,
                ),
                Component::Pattern { layer, head } => {
                    let s = &streams[layer];
                    match few {
                        Some(rs) => {
                            let keys = self.keys_of(replay, layer, head, s);
                            head_pattern_rows(self.model, layer, head, s, &keys, tokens, rs)
                        }
                        None => pick(&head_pattern(self.model, layer, head, s, s, tokens), n),
                    }
                }
                Component::Output => {
                    let resid = &streams[cfg.n_layers];
                    let logits = if self.logits_from_block().is_some() {
                        self.logits(datum, resid)
                    } else {
                        let mut logits = unembed(self.model, resid);
                        self.zero_unscored_rows(datum, &mut logits);
                        logits
                    };
                    pick(&logits, cfg.d_vocab_out)
                }
            })
            .collect()
    }

    /// The keys of `head` in `layer` on the replay's datum (`stream`: the residual stream
    /// before the block), kept with the replay while the store has room.
    fn keys_of(&self, replay: &Replay, layer: usize, head: usize, stream: &[f32]) -> Arc<[f32]> {
        let at = (layer, self.model.config.kv_head_of(head));
        let held = replay
            .keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&at)
            .cloned();
        if let Some(k) = held {
            return k;
        }
        let k: Arc<[f32]> = head_keys(self.model, layer, head, stream).into();
        if self.replays.take(4 * k.len()) {
            let mut keys = replay.keys.lock().unwrap_or_else(|e| e.into_inner());
            keys.insert(at, k.clone());
        }
        k
    }

    /// `hook_result` of one head on rows `rows` (`[rows.len(), d_model]`), `z_h·W_O[h]` as
    /// the pass computes it: a row's product does not depend on the other rows.
    fn head_from_z(&self, layer: usize, head: usize, z: &[f32], rows: &[usize]) -> Vec<f32> {
        let cfg = &self.model.config;
        let (d, e) = (cfg.d_model, cfg.d_head);
        let he = cfg.n_heads * e;
        let w_o = &self.model.weights.blocks[layer].attn.w_o;
        let z_h: Vec<f32> = rows
            .iter()
            .flat_map(|&r| {
                z[r * he + head * e..r * he + (head + 1) * e]
                    .iter()
                    .copied()
            })
            .collect();
        let m = rows.len();
        let mut out = vec![0.0f32; m * d];
        gemm(
            1.0,
            View::rows(&z_h, m, e),
            View::rows(&w_o[head * e * d..(head + 1) * e * d], e, d),
            0.0,
            ViewMut::rows(&mut out, m, d),
        );
        out
    }
}

/// Rows asked for are "few" (computed one by one) when at most 1/FEW_ROWS of all.
const FEW_ROWS: usize = 8;
