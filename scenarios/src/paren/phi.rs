//! Head 0.0 as a rank-one function of the open proportion p (write-up appendix, "Analysis
//! of Head 0.0"): its per-key values h_{tok,i} barely depend on the position i and point in
//! nearly opposite directions for "(" and ")", so an upper-triangular attention pattern that
//! puts a share p on open parens outputs about phi(p) = (2p − 1)·(h̄_open − h̄_close)/2.
//! Experiment 2b rewrites head 0.0's output at position 1 as phi(p_1) plus a residual.

use scrub_core::{Model, Normalization, PositionalKind, TokenId};

use super::token;
use crate::error::ScenarioError;

/// Checks that `model` has what the head-0.0 analyses read: a layer-0 LayerNorm, a head 0,
/// positions added to the residual stream, the paren vocabulary and room for one paren.
pub(crate) fn check_model(model: &Model) -> Result<(), ScenarioError> {
    let cfg = &model.config;
    let bad = |m: String| Err(ScenarioError::ModelMismatch(m));
    if model.weights.blocks.is_empty() {
        return bad("it has no layers, so there is no head 0.0".into());
    }
    if cfg.normalization != Normalization::PreLayerNorm || model.weights.blocks[0].ln1.is_none() {
        return bad(
            "head 0.0's inputs are taken through blocks.0.ln1, which this model lacks".into(),
        );
    }
    if cfg.positional != PositionalKind::Standard {
        return bad("positions must be added to the residual stream (positional: Standard)".into());
    }
    let needed = [
        token::START,
        token::PAD,
        token::END,
        token::OPEN,
        token::CLOSE,
    ];
    let max_token = needed.iter().map(|t| t.0).max().unwrap_or(0) as usize;
    if cfg.d_vocab <= max_token {
        return bad(format!(
            "d_vocab {} does not hold the paren tokens 0..={max_token}",
            cfg.d_vocab
        ));
    }
    if cfg.n_ctx < 3 {
        return bad(format!(
            "n_ctx {} leaves no room for a paren between [start] and [end]",
            cfg.n_ctx
        ));
    }
    Ok(())
}

/// Most parens one sequence can hold: the context minus [start] and [end].
pub(crate) fn max_parens(model: &Model) -> usize {
    model.config.n_ctx - 2
}

/// blocks.0.ln1(W_E[tok] + W_pos[pos]) in f64: what every layer-0 head reads at a position
/// holding `tok`, since nothing but the embeddings precedes layer 0.
pub(crate) fn ln0_embed(model: &Model, tok: TokenId, pos: usize) -> Vec<f64> {
    let d = model.config.d_model;
    let w = &model.weights;
    let x: Vec<f64> = (0..d)
        .map(|j| w.w_e[tok.0 as usize * d + j] as f64 + w.w_pos[pos * d + j] as f64)
        .collect();
    let ln = w.blocks[0]
        .ln1
        .as_ref()
        .expect("check_model guarantees blocks.0.ln1");
    let mean = x.iter().sum::<f64>() / d as f64;
    let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / d as f64;
    let inv = 1.0 / (var + model.config.ln_eps as f64).sqrt();
    (0..d)
        .map(|j| (x[j] - mean) * inv * ln.w[j] as f64 + ln.b[j] as f64)
        .collect()
}

/// `x [d_model] · W[head] + b[head]` for a stacked `[n_heads, d_model, d_head]` projection.
pub(crate) fn project(model: &Model, x: &[f64], w: &[f32], b: &[f32], head: usize) -> Vec<f64> {
    let (d, e) = (model.config.d_model, model.config.d_head);
    let w = &w[head * d * e..(head + 1) * d * e];
    (0..e)
        .map(|k| b[head * e + k] as f64 + (0..d).map(|j| x[j] * w[j * e + k] as f64).sum::<f64>())
        .collect()
}

/// Cosine similarity of two vectors (0 when either is zero).
pub fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f64>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

/// Head 0.0's output contribution per key, h_{tok,i} = (LN(W_E[tok] + W_pos[i])·W_V + b_V)·W_O
/// (no b_O), for the two paren tokens at every paren position i = 1..=max_parens.
#[derive(Debug, Clone)]
pub struct HeadValues {
    /// `open[i - 1]` is h_{"(",i}, a `d_model` vector.
    pub open: Vec<Vec<f64>>,
    /// `close[i - 1]` is h_{")",i}.
    pub close: Vec<Vec<f64>>,
}

/// How well head 0.0's values collapse to one direction (write-up: 0.994, 0.995, −0.995).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PhiFacts {
    /// min over i of cos(h_{open,i}, h̄_open).
    pub min_cos_open: f64,
    /// min over i of cos(h_{close,i}, h̄_close).
    pub min_cos_close: f64,
    /// cos(h̄_open, h̄_close).
    pub cos_open_close: f64,
}

impl HeadValues {
    /// Computes h_{tok,i} from layer 0, head 0 of `model`.
    pub fn from_model(model: &Model) -> Result<Self, ScenarioError> {
        check_model(model)?;
        let (d, e) = (model.config.d_model, model.config.d_head);
        let a = &model.weights.blocks[0].attn;
        let w_o = &a.w_o[..e * d];
        let value = |tok: TokenId, i: usize| -> Vec<f64> {
            let v = project(model, &ln0_embed(model, tok, i), &a.w_v, &a.b_v, 0);
            (0..d)
                .map(|m| (0..e).map(|k| v[k] * w_o[k * d + m] as f64).sum())
                .collect()
        };
        let positions = 1..=max_parens(model);
        Ok(HeadValues {
            open: positions.clone().map(|i| value(token::OPEN, i)).collect(),
            close: positions.map(|i| value(token::CLOSE, i)).collect(),
        })
    }

    /// h̄_open, the mean of h_{open,i} over positions.
    pub fn mean_open(&self) -> Vec<f64> {
        mean(&self.open)
    }

    /// h̄_close, the mean of h_{close,i} over positions.
    pub fn mean_close(&self) -> Vec<f64> {
        mean(&self.close)
    }

    /// The cosine facts the rank-one approximation rests on.
    pub fn facts(&self) -> PhiFacts {
        let (mo, mc) = (self.mean_open(), self.mean_close());
        let min_cos = |hs: &[Vec<f64>], m: &[f64]| {
            hs.iter()
                .map(|h| cosine(h, m))
                .fold(f64::INFINITY, f64::min)
        };
        PhiFacts {
            min_cos_open: min_cos(&self.open, &mo),
            min_cos_close: min_cos(&self.close, &mc),
            cos_open_close: cosine(&mo, &mc),
        }
    }

    /// phi with v = (h̄_open − h̄_close)/2.
    pub fn phi(&self) -> Phi {
        let v = self
            .mean_open()
            .iter()
            .zip(self.mean_close())
            .map(|(o, c)| ((o - c) / 2.0) as f32)
            .collect();
        Phi { v }
    }
}

fn mean(rows: &[Vec<f64>]) -> Vec<f64> {
    let d = rows.first().map_or(0, Vec::len);
    let n = rows.len().max(1) as f64;
    (0..d)
        .map(|j| rows.iter().map(|r| r[j]).sum::<f64>() / n)
        .collect()
}

/// The predicted output of head 0.0 at an open-paren query as a function of p: v·(2p − 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Phi {
    /// (h̄_open − h̄_close)/2, a `d_model` vector.
    pub v: Vec<f32>,
}

impl Phi {
    /// phi for head 0.0 of `model`.
    pub fn from_model(model: &Model) -> Result<Self, ScenarioError> {
        Ok(HeadValues::from_model(model)?.phi())
    }

    /// phi(p) = v·(2p − 1), a `d_model` vector.
    pub fn at(&self, p: f64) -> Vec<f32> {
        let s = (2.0 * p - 1.0) as f32;
        self.v.iter().map(|x| x * s).collect()
    }
}

#[cfg(test)]
#[path = "phi_tests.rs"]
mod tests;
