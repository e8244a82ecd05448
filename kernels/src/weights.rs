//! A model's weights uploaded once, repacked for the kernels: every matrix zero-padded to
//! vec4-aligned strides, the per-head Q/K/V projections fused into one `[d_model, 3·hp]`
//! matrix (so one matmul computes all heads' queries, keys and values), W_O flattened to
//! `[n_heads·d_head, d_model]` (so `z @ W_O` is `Σ_h z_h W_O[h]` in one matmul). With
//! grouped-query attention each key/value head is repeated for the query heads that share
//! it (Hugging Face's `repeat_kv`), so the kernels see one key and value per query head;
//! the repeated projections compute the very same values.

use std::borrow::Cow;

use scrub_core::weights::{AttnWeights, LayerNorm};
use scrub_core::{Model, ModelConfig, PositionalKind};

use crate::buffers::{pad2, pad4, storage_init};
use crate::device::GpuContext;
use crate::dims::Dims;
use crate::error::Result;

/// How a layer's q/k/v projection is laid out.
#[derive(Debug)]
pub enum QkvWeights {
    /// One `[dp, 3hp]` matrix and `[3hp]` bias (q, k, v all read the same input).
    Fused {
        /// `[dp, 3hp]`: q, k, v.
        w: wgpu::Buffer,
        /// `[3hp]`.
        b: wgpu::Buffer,
    },
    /// Shortformer: q and k read `x + W_pos`, v reads `x`: `[dp, 2hp]` and `[dp, hp]`.
    Split {
        /// `[dp, 2hp]`: q then k.
        w_qk: wgpu::Buffer,
        /// `[2hp]`.
        b_qk: wgpu::Buffer,
        /// `[dp, hp]`.
        w_v: wgpu::Buffer,
        /// `[hp]`.
        b_v: wgpu::Buffer,
    },
}

/// MLP weights, padded.
#[derive(Debug)]
pub struct GpuMlp {
    /// LayerNorm before the MLP, `[2, dp]`.
    pub ln: Option<wgpu::Buffer>,
    /// `[dp, mp]`, gated MLPs only.
    pub w_gate: Option<wgpu::Buffer>,
    /// `[dp, mp]`.
    pub w_in: wgpu::Buffer,
    /// `[mp]`.
    pub b_in: wgpu::Buffer,
    /// `[mp, dp]`.
    pub w_out: wgpu::Buffer,
    /// `[dp]`.
    pub b_out: wgpu::Buffer,
}

/// One block's weights.
#[derive(Debug)]
pub struct GpuBlock {
    /// LayerNorm before attention, `[2, dp]`.
    pub ln1: Option<wgpu::Buffer>,
    /// Q/K/V projection.
    pub qkv: QkvWeights,
    /// `[hp, dp]`.
    pub w_o: wgpu::Buffer,
    /// `[dp]`.
    pub b_o: wgpu::Buffer,
    /// The MLP, absent in attention-only models.
    pub mlp: Option<GpuMlp>,
}

/// All of a model's weights on the GPU.
#[derive(Debug)]
pub struct GpuWeights {
    /// `[d_vocab, dp]`.
    pub w_e: wgpu::Buffer,
    /// `[n_ctx, dp]` (one zero row for rotary models, which have none).
    pub w_pos: wgpu::Buffer,
    /// Rotary models: cos/sin per position, `[n_ctx, rotary_dims]` (see [`crate::rotary`]).
    pub rope: Option<wgpu::Buffer>,
    /// Blocks in order.
    pub blocks: Vec<GpuBlock>,
    /// Final LayerNorm, `[2, dp]`.
    pub ln_final: Option<wgpu::Buffer>,
    /// `[dp, vp]`.
    pub w_u: wgpu::Buffer,
    /// `[vp]`.
    pub b_u: wgpu::Buffer,
}

/// `a` with every key/value head repeated for the `n_heads / n_kv_heads` query heads that
/// read it (`a` itself without grouped-query attention).
pub fn expand_kv<'a>(cfg: &ModelConfig, a: &'a AttnWeights) -> Cow<'a, AttnWeights> {
    if cfg.kv_heads() == cfg.n_heads {
        return Cow::Borrowed(a);
    }
    let (d, e) = (cfg.d_model, cfg.d_head);
    let rep = |t: &[f32], per: usize| -> Vec<f32> {
        (0..cfg.n_heads)
            .flat_map(|h| {
                let g = cfg.kv_head_of(h);
                t[g * per..(g + 1) * per].iter().copied()
            })
            .collect()
    };
    Cow::Owned(AttnWeights {
        w_k: rep(&a.w_k, d * e),
        w_v: rep(&a.w_v, d * e),
        b_k: rep(&a.b_k, e),
        b_v: rep(&a.b_v, e),
        ..a.clone()
    })
}

fn padded_vec(v: &[f32], len: usize) -> Vec<f32> {
    let mut out = vec![0.0; len];
    out[..v.len()].copy_from_slice(v);
    out
}

fn ln_buffer(
    ctx: &GpuContext,
    label: &str,
    ln: Option<&LayerNorm>,
    dp: usize,
) -> Result<Option<wgpu::Buffer>> {
    ln.map(|ln| {
        let mut data = padded_vec(&ln.w, dp);
        data.extend(padded_vec(&ln.b, dp));
        storage_init(ctx, label, &data)
    })
    .transpose()
}

/// Columns `[col0, col0 + h*e)` of a `[dp, width]` matrix filled from per-head `[h, d, e]`.
fn put_heads(dst: &mut [f32], width: usize, col0: usize, w: &[f32], d: usize, h: usize, e: usize) {
    for hd in 0..h {
        for r in 0..d {
            let src = &w[(hd * d + r) * e..(hd * d + r + 1) * e];
            let at = r * width + col0 + hd * e;
            dst[at..at + e].copy_from_slice(src);
        }
    }
}

fn qkv_weights(
    ctx: &GpuContext,
    l: usize,
    a: &AttnWeights,
    dims: &Dims,
    shortformer: bool,
) -> Result<QkvWeights> {
    let (d, h, e, hp, dp) = (dims.d, dims.h, dims.e, dims.hp, dims.dp);
    let he = h * e;
    if shortformer {
        let mut w_qk = vec![0.0; dp * 2 * hp];
        put_heads(&mut w_qk, 2 * hp, 0, &a.w_q, d, h, e);
        put_heads(&mut w_qk, 2 * hp, hp, &a.w_k, d, h, e);
        let mut b_qk = vec![0.0; 2 * hp];
        b_qk[..he].copy_from_slice(&a.b_q);
        b_qk[hp..hp + he].copy_from_slice(&a.b_k);
        let mut w_v = vec![0.0; dp * hp];
        put_heads(&mut w_v, hp, 0, &a.w_v, d, h, e);
        Ok(QkvWeights::Split {
            w_qk: storage_init(ctx, &format!("blocks.{l}.W_QK"), &w_qk)?,
            b_qk: storage_init(ctx, &format!("blocks.{l}.b_QK"), &b_qk)?,
            w_v: storage_init(ctx, &format!("blocks.{l}.W_V"), &w_v)?,
            b_v: storage_init(ctx, &format!("blocks.{l}.b_V"), &padded_vec(&a.b_v, hp))?,
        })
    } else {
        let width = 3 * hp;
        let mut w = vec![0.0; dp * width];
        put_heads(&mut w, width, 0, &a.w_q, d, h, e);
        put_heads(&mut w, width, hp, &a.w_k, d, h, e);
        put_heads(&mut w, width, 2 * hp, &a.w_v, d, h, e);
        let mut b = vec![0.0; width];
        b[..he].copy_from_slice(&a.b_q);
        b[hp..hp + he].copy_from_slice(&a.b_k);
        b[2 * hp..2 * hp + he].copy_from_slice(&a.b_v);
        Ok(QkvWeights::Fused {
            w: storage_init(ctx, &format!("blocks.{l}.W_QKV"), &w)?,
            b: storage_init(ctx, &format!("blocks.{l}.b_QKV"), &b)?,
        })
    }
}

impl GpuWeights {
    /// Repacks and uploads `model`'s weights.
    pub fn upload(ctx: &GpuContext, model: &Model) -> Result<Self> {
        let cfg = &model.config;
        let w = &model.weights;
        let dims = Dims::new(cfg);
        let (d, dp, hp) = (dims.d, dims.dp, dims.hp);
        let he = dims.h * dims.e;
        let shortformer = cfg.positional == PositionalKind::Shortformer;
        let mut blocks = Vec::with_capacity(w.blocks.len());
        for (l, b) in w.blocks.iter().enumerate() {
            let a = expand_kv(cfg, &b.attn);
            let a = a.as_ref();
            let mlp = match (&b.mlp, dims.mp, cfg.d_mlp) {
                (Some(m), Some(mp), Some(dm)) => Some(GpuMlp {
                    ln: ln_buffer(ctx, &format!("blocks.{l}.ln2"), b.ln2.as_ref(), dp)?,
                    w_gate: m
                        .w_gate
                        .as_ref()
                        .map(|g| {
                            storage_init(
                                ctx,
                                &format!("blocks.{l}.W_gate"),
                                &pad2(g, d, dm, dp, mp),
                            )
                        })
                        .transpose()?,
                    w_in: storage_init(
                        ctx,
                        &format!("blocks.{l}.W_in"),
                        &pad2(&m.w_in, d, dm, dp, mp),
                    )?,
                    b_in: storage_init(ctx, &format!("blocks.{l}.b_in"), &padded_vec(&m.b_in, mp))?,
                    w_out: storage_init(
                        ctx,
                        &format!("blocks.{l}.W_out"),
                        &pad2(&m.w_out, dm, d, mp, dp),
                    )?,
                    b_out: storage_init(
                        ctx,
                        &format!("blocks.{l}.b_out"),
                        &padded_vec(&m.b_out, dp),
                    )?,
                }),
                _ => None,
            };
            blocks.push(GpuBlock {
                ln1: ln_buffer(ctx, &format!("blocks.{l}.ln1"), b.ln1.as_ref(), dp)?,
                qkv: qkv_weights(ctx, l, a, &dims, shortformer)?,
                w_o: storage_init(
                    ctx,
                    &format!("blocks.{l}.W_O"),
                    &pad2(&a.w_o, he, d, hp, dp),
                )?,
                b_o: storage_init(ctx, &format!("blocks.{l}.b_O"), &padded_vec(&a.b_o, dp))?,
                mlp,
            });
        }
        Ok(GpuWeights {
            w_e: storage_init(ctx, "W_E", &pad2(&w.w_e, cfg.d_vocab, d, cfg.d_vocab, dp))?,
            w_pos: match cfg.has_pos_embed() {
                true => storage_init(ctx, "W_pos", &pad2(&w.w_pos, cfg.n_ctx, d, cfg.n_ctx, dp))?,
                false => storage_init(ctx, "W_pos (none)", &vec![0.0; dp])?,
            },
            rope: match cfg.positional {
                PositionalKind::Rotary => Some(crate::rotary::rope_table(ctx, cfg)?),
                _ => None,
            },
            blocks,
            ln_final: ln_buffer(ctx, "ln_final", w.ln_final.as_ref(), dp)?,
            w_u: storage_init(ctx, "W_U", &pad2(&w.w_u, d, dims.v, dp, dims.vp))?,
            b_u: storage_init(ctx, "b_U", &padded_vec(&w.b_u, dims.vp))?,
        })
    }
}

/// Checks that `model`'s weights have exactly the tensors and lengths its config implies,
/// so repacking can index them freely. (`Model` fields are public; a hand-built model may
/// disagree with its config.)
pub fn validate_model(model: &Model) -> Result<()> {
    use scrub_core::ModelError;
    let cfg = &model.config;
    let w = &model.weights;
    cfg.validate(std::path::Path::new("<model config>"))?;
    let bad = |message: String| {
        Err(ModelError::Executor(format!("model weights do not fit the config: {message}")).into())
    };
    // LNPre normalises too (its loaded weights carry unit LayerNorms).
    let ln = cfg.has_layer_norm();
    if w.blocks.len() != cfg.n_layers {
        return bad(format!(
            "{} blocks for n_layers = {}",
            w.blocks.len(),
            cfg.n_layers
        ));
    }
    for (l, b) in w.blocks.iter().enumerate() {
        let ok = b.ln1.is_some() == ln
            && b.mlp.is_some() == cfg.d_mlp.is_some()
            && b.ln2.is_some() == (ln && cfg.d_mlp.is_some())
            && b.mlp
                .as_ref()
                .is_none_or(|m| m.w_gate.is_some() == cfg.gated_mlp);
        if !ok {
            return bad(format!(
                "block {l} has LayerNorms, an MLP or a gate the config does not describe"
            ));
        }
    }
    if w.ln_final.is_some() != ln {
        return bad("ln_final presence disagrees with the normalization".into());
    }
    // named_tensors leaves out an LNPre model's unit LayerNorms, so their lengths are
    // checked here.
    let norms = w.blocks.iter().flat_map(|b| [&b.ln1, &b.ln2]);
    for n in norms.chain([&w.ln_final]).flatten() {
        if n.w.len() != cfg.d_model || n.b.len() != cfg.d_model {
            return bad(format!(
                "a LayerNorm is not of length d_model = {}",
                cfg.d_model
            ));
        }
    }
    for (name, shape, data) in w.named_tensors(cfg) {
        let want: usize = shape.iter().product();
        if data.len() != want {
            return bad(format!(
                "`{name}` has {} values, expected {want} for shape {shape:?}",
                data.len()
            ));
        }
    }
    Ok(())
}

/// Extra layouts of W_O for reading out each head's output (`hook_result`) during the
/// forward: per layer a `[hp, n_heads·dp]` matrix whose column block `h` holds `W_O[h]` in
/// rows `h·d_head..(h+1)·d_head` and zeros elsewhere, so one product `z @ W` gives every
/// head's `z_h W_O[h]` side by side. Costs n_heads times W_O's memory and flops, which is
/// small for the models scrubbed here and needs no kernel beyond the plain matmul (a head's
/// z columns start at `h·d_head`, not a vec4 boundary, so they cannot be read directly).
#[derive(Debug)]
pub struct HookWeights {
    /// Per layer, `[hp, n_heads·dp]`.
    pub w_o_heads: Vec<wgpu::Buffer>,
}

impl HookWeights {
    /// Builds and uploads the per-head W_O blocks of `model` (already validated).
    pub fn upload(ctx: &GpuContext, model: &Model) -> Result<Self> {
        let dims = Dims::new(&model.config);
        let (d, dp, h, e, hp) = (dims.d, dims.dp, dims.h, dims.e, dims.hp);
        let width = h * dp;
        let w_o_heads = model
            .weights
            .blocks
            .iter()
            .enumerate()
            .map(|(l, b)| {
                let mut w = vec![0.0f32; hp * width];
                for hd in 0..h {
                    for i in 0..e {
                        let src = &b.attn.w_o[(hd * e + i) * d..(hd * e + i + 1) * d];
                        let at = (hd * e + i) * width + hd * dp;
                        w[at..at + d].copy_from_slice(src);
                    }
                }
                storage_init(ctx, &format!("blocks.{l}.W_O per head"), &w)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(HookWeights { w_o_heads })
    }
}

/// One head's projections on their own, padded to `ep = pad4(d_head)` columns: what a head
/// recomputed from separate q/k/v inputs needs (the fused layouts above compute every head
/// from one input).
#[derive(Debug)]
pub struct HeadWeights {
    /// `[dp, ep]`.
    pub w_q: wgpu::Buffer,
    /// `[ep]`.
    pub b_q: wgpu::Buffer,
    /// `[dp, ep]`.
    pub w_k: wgpu::Buffer,
    /// `[ep]`.
    pub b_k: wgpu::Buffer,
    /// `[dp, ep]`.
    pub w_v: wgpu::Buffer,
    /// `[ep]`.
    pub b_v: wgpu::Buffer,
    /// `[ep, dp]`.
    pub w_o: wgpu::Buffer,
}

impl HeadWeights {
    /// Every head of `model` (already validated), indexed `[layer][head]`.
    pub fn upload_all(ctx: &GpuContext, model: &Model) -> Result<Vec<Vec<HeadWeights>>> {
        let dims = Dims::new(&model.config);
        let (d, dp, e) = (dims.d, dims.dp, dims.e);
        let ep = pad4(e);
        let mut out = Vec::with_capacity(model.weights.blocks.len());
        for (l, b) in model.weights.blocks.iter().enumerate() {
            let a = expand_kv(&model.config, &b.attn);
            let a = a.as_ref();
            let mut heads = Vec::with_capacity(dims.h);
            for hd in 0..dims.h {
                let name = |t: &str| format!("blocks.{l}.attn.{t}[{hd}]");
                let proj = |w: &[f32], t: &str| {
                    storage_init(
                        ctx,
                        &name(t),
                        &pad2(&w[hd * d * e..(hd + 1) * d * e], d, e, dp, ep),
                    )
                };
                let bias = |bv: &[f32], t: &str| {
                    storage_init(ctx, &name(t), &padded_vec(&bv[hd * e..(hd + 1) * e], ep))
                };
                heads.push(HeadWeights {
                    w_q: proj(&a.w_q, "W_Q")?,
                    b_q: bias(&a.b_q, "b_Q")?,
                    w_k: proj(&a.w_k, "W_K")?,
                    b_k: bias(&a.b_k, "b_K")?,
                    w_v: proj(&a.w_v, "W_V")?,
                    b_v: bias(&a.b_v, "b_V")?,
                    w_o: storage_init(
                        ctx,
                        &name("W_O"),
                        &pad2(&a.w_o[hd * e * d..(hd + 1) * e * d], e, d, ep, dp),
                    )?,
                });
            }
            out.push(heads);
        }
        Ok(out)
    }
}
