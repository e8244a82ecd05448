#!/usr/bin/env python3
"""The PyTorch peer of `scrub run`: three shipped hypotheses scrubbed the way a researcher
would with PyTorch (issue 17, item 4).

What it is
----------
A hand-written PyTorch transformer (the ~80-line `Transformer` below, TransformerLens hook
names and weight names, loaded from the same safetensors files) with `HookPoint` modules
and `torch` forward hooks, and three hypotheses implemented on it by running the model
batched on the reference inputs and on resampled inputs and replacing activations through
hooks: a head's output is swapped for the one computed on another input, and where the
hypothesis needs a head's inputs to come from different data (treeification) the head is
recomputed from a residual stream assembled out of activations cached on those data, and
the result is patched into the parent's computation. Per-sample losses give a mean and a
standard error (sample standard deviation / sqrt(n)), as `core/src/stats.rs` computes them.

TransformerLens 2.18 (`HookedTransformer`) is installed in the venv, but its bidirectional
attention ignores `attention_mask` (the paren model masks `[pad]` keys) and scrubbing needs
heads recomputed from separate q/k/v residual inputs for a subset of heads, so a small model
with the same hook names is the shorter and faster route.

Hypotheses (names as for `--hypothesis`)
----------------------------------------
* `paren_1b` = `scenarios/paren/hypotheses/1b.ron`: the output reads heads 1.0, 2.0 (datum
  agreeing on `count_open` with the output's datum) and 2.1 (agreeing on `horizon`); the
  output's datum agrees with the reference on `is_balanced`; everything else the output reads
  (the `in~rest` remainder) comes from one random datum. Implemented as one forward pass on
  the random datum with a hook at `blocks.2.hook_resid_post` that swaps the three heads'
  contributions for those cached on their data.
* `paren_4` = `scenarios/paren/hypotheses/4.ron` (with the `phi` rewrite of head 0.0): heads
  1.0 and 2.0 are recomputed from an input whose row 1 is phi(p_1) of a datum agreeing on
  `p1_open` + the embeddings of a datum agreeing on `start_open` + MLP0 (and for 2.0 also
  MLP1) recomputed from those at row 1, the rest of each input from the node's random datum;
  head 2.1 is recomputed from per-row inputs, row i from a datum agreeing with 2.1's datum on
  `horizon_adj_at(i)` (i = 1..41), row 0 from its random datum. Recomputed heads mask the
  `[pad]` keys of their own datum (`pad_mask: Own`, the default; `core/src/scrub/tree.rs`).
  The output then swaps the three heads' outputs in, as in 1b.
* `induction_refined4_all` = `scenarios/induction/hypotheses/refined4_all.ron`: induction
  heads 1.5 and 1.3 recomputed with q, k and v inputs assembled from layer-0 head parts
  (split by source position: current token, the two before it, the rest; identity attention
  for the self-attending heads 0.1, 0.3, 0.5 on q), values on the reference, attention
  patterns and every unlisted part on one random sequence ("emb2", `sharing: Global`); the
  rest of the model on the reference. The model's other outputs are read on the reference
  and the two heads' outputs are swapped in at `blocks.1.attn.hook_result`.

Semantics taken from our code (read these to check)
---------------------------------------------------
* Sampling (`core/src/sampler.rs`): the reference is uniform over the pool; an important
  node's datum is uniform over the pool members agreeing with its parent's datum on its
  feature; unimportant nodes draw uniformly, one datum per parent under `PerParent` (all the
  `~rest` remainders of a node and its unimportant children share it), one per sample under
  `Global`. The tree's root is a node of its own whose parent is the reference: in the paren
  files the root agrees with the reference on `is_balanced` (`Tree::slots`). Same
  distribution, different random numbers: our sampler is SplitMix64 streams per node path,
  this one numpy's PCG64, so the two agree in distribution, not sample by sample.
* Remainders (`core/src/scrub/hypothesis/build/coverage.rs`): whatever a recomputed port
  does not get from the listed children, per row, comes from `{port}~rest` children, which
  are unimportant; so e.g. row 1 of head 1.0's input in paren 4 still holds 0.0~phi, 0.1 and
  b0 of 1.0's random datum, and every other row all of that datum's residual stream.
* Pool and data: paren, all 100,000 sequences of `brackets_data.json` (`scrub run` without
  `--balanced-fraction`), tokens `[start] ( ) .. [end]` padded with `[pad]` to 42
  (`scenarios/src/paren/data.rs`, `scrub.rs`); induction, the 1,200 validation windows of
  256 tokens with at least one "inductiony" position p < 255 (`subset.json` ids;
  `scenarios/src/induction/scrub.rs`).
* Features (`scenarios/src/paren/features.rs`, `padj.rs`): `is_balanced` (the label),
  `count_open` (starts with "(" and equal counts), `horizon` (every suffix at most half
  open), `start_open`, `p1_open` (the reduced fraction of "(" for sequences starting with
  "(", one class for the rest), `horizon_adj` and `horizon_adj_at(i)` (with p_adj from
  b_{q,n}, head 0.0's prefix share estimated in float64 from the weights as `padj.rs` does;
  per-position classes pad / [end] after "(" / [end] after ")" / fails / passes).
* phi (`scenarios/src/paren/phi.rs`): v = (mean_i h_open,i - mean_i h_close,i)/2 with
  h_tok,i = (LN0(W_E[tok] + W_pos[i]) W_V[0] + b_V[0]) W_O[0], i = 1..40, float64 then
  float32; phi(p) = v (2p - 1), p = the fraction of "(" in the whole sequence; the predictor
  is phi at row 1 and zero elsewhere; 0.0~phi is head 0.0's output minus it.
* Source-position masks (`core/src/mask.rs`, `core/src/scrub/masked.rs`): `last3` keeps
  keys t-2..t, `cur` key t, `eye` replaces the pattern by the identity.
* Losses: paren, log loss of the classifier at position 0 against the reference's label;
  induction, the mean next-token log loss over the reference's inductiony positions.

Run
---
    /work/venv-tl/bin/python benches/reference/torch_scrub.py --hypothesis all \\
        --samples 2000 --seed 0 --threads 2 --data-dir /work/shared/models --json out.json \\
        --check target/release/scrub

`--check` takes the scrub binary (it runs `scrub run FILE --samples N --seed S --executor
cpu --json -q` per hypothesis, and times it), or one JSON file that `scrub run --json`
wrote, or a folder holding `1b.json`, `4.json`, `refined4_all.json`; it exits 1 unless
|loss_torch - loss_scrub| <= 2 sqrt(se_torch^2 + se_scrub^2) for every hypothesis run.
`seconds`/`samples_per_s` time the scrubbing only (sampling and evaluation, after the model,
data and feature columns are loaded). For scrub, with the binary, the JSON gives the whole
`scrub run` wall time and `net_seconds`, that less the wall time of the same command at 2
samples (loading and feature columns); the net figure still includes scoring the two
baselines (0a/0b, or model/baseline for induction) on the same samples, so scrub's rate on the
hypothesis alone is somewhat higher than `net_samples_per_s`.

`--selftest` needs no scrub: with every datum of a sample set to the reference's, each
hypothesis must give the plain model's per-sample loss (checks that the hooks, the phi and
source-mask splits and the treeified recomputations sum back to the model; 1e-4).

Measured (2026-12-02, this 2-core machine, shared: load average 4-8 during the runs, so
rates are rough; 2000 samples, seed 0, CPU, 2 threads, `scrub run --executor cpu`):

    hypothesis              torch loss        scrub loss        torch/s  scrub/s (net)
    paren_1b                0.2835 ± 0.0245   0.2753 ± 0.0237   104      109
    paren_4                 1.9174 ± 0.0800   1.7865 ± 0.0768    20       46
    induction_refined4_all  1.6954 ± 0.0313   1.6906 ± 0.0299    6.5      3.9

All agree within 2 sigma. paren_4 at seeds 1, 2 (2000) and 3 (6000): torch 1.827, 1.846,
1.733 ± 0.044; scrub 1.829, 1.691, 1.818 ± 0.045; pooled over 12,000 samples each side
1.798 vs 1.794. `--selftest`: max |diff| 9e-11, 3e-10 (paren), 1.5e-6 (induction).
The induction pool holds 1,083 sequences, so at 2000 samples references repeat on both sides.

Written against torch 2.15 (CPU), numpy 1.26, safetensors 0.8; Python 3.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time
from fractions import Fraction

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.numpy import load_file

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
START, PAD, END, OPEN, CLOSE = 0, 1, 2, 3, 4
FILES = {
    "paren_1b": "scenarios/paren/hypotheses/1b.ron",
    "paren_4": "scenarios/paren/hypotheses/4.ron",
    "induction_refined4_all": "scenarios/induction/hypotheses/refined4_all.ron",
}


# --------------------------------------------------------------------------- the model
class HookPoint(nn.Module):
    """An identity module to hang forward hooks on (as TransformerLens's HookPoint)."""

    def forward(self, x):
        return x


class Transformer(nn.Module):
    """Pre-LayerNorm attention(+MLP) transformer in TransformerLens naming. `shortformer`:
    positions join the normalised q/k inputs only; `causal` or bidirectional with `[pad]`
    keys masked."""

    def __init__(self, w, n_layers, n_heads, causal, shortformer, mlp, pad, eps=1e-5):
        super().__init__()
        self.w = {k: torch.from_numpy(v.astype(np.float32)) for k, v in w.items()
                  if k.split(".")[-1] not in ("IGNORE", "mask")}
        self.L, self.H, self.causal, self.shortformer = n_layers, n_heads, causal, shortformer
        self.has_mlp, self.pad, self.eps = mlp, pad, eps
        self.d = self.w["embed.W_E"].shape[1]
        self.dh = self.w["blocks.0.attn.W_Q"].shape[2]
        names = ["hook_embed", "hook_pos_embed"]
        for l in range(n_layers):
            names += [f"blocks.{l}.{n}" for n in (
                "hook_resid_pre", "attn.hook_pattern", "attn.hook_v", "attn.hook_result",
                "hook_resid_mid", "hook_mlp_out", "hook_resid_post")]
        self.hook_points = {n: HookPoint() for n in names}
        for n, m in self.hook_points.items():
            self.add_module(n.replace(".", "__"), m)

    def to_(self, device):
        self.w = {k: v.to(device) for k, v in self.w.items()}
        return self

    def ln(self, x, name):
        return F.layer_norm(x, (self.d,), self.w[f"{name}.w"], self.w[f"{name}.b"], self.eps)

    def key_mask(self, tokens):
        """Additive [B, 1, n, n] mask: causal, and `[pad]` keys of `tokens`."""
        n = tokens.shape[1]
        m = torch.zeros(tokens.shape[0], 1, n, n, device=tokens.device)
        if self.causal:
            m = m.masked_fill(torch.ones(n, n, dtype=torch.bool, device=tokens.device)
                              .triu(1), float("-inf"))
        if self.pad is not None:
            m = m.masked_fill((tokens == self.pad)[:, None, None, :], float("-inf"))
        return m

    def pattern(self, l, q_resid, k_resid, mask, heads=None):
        """Attention probabilities [B, h, q, k] of `heads` from residual q/k inputs."""
        heads = list(range(self.H)) if heads is None else heads
        a = f"blocks.{l}.attn"
        n = q_resid.shape[1]
        pos = self.w["pos_embed.W_pos"][:n] if self.shortformer else 0.0
        qi, ki = self.ln(q_resid, f"blocks.{l}.ln1") + pos, self.ln(k_resid, f"blocks.{l}.ln1") + pos
        q = torch.einsum("bpd,hde->bhpe", qi, self.w[f"{a}.W_Q"][heads]) + self.w[f"{a}.b_Q"][heads][:, None]
        k = torch.einsum("bpd,hde->bhpe", ki, self.w[f"{a}.W_K"][heads]) + self.w[f"{a}.b_K"][heads][:, None]
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.dh) + mask
        return scores.softmax(-1)

    def values(self, l, v_resid, heads=None):
        heads = list(range(self.H)) if heads is None else heads
        a = f"blocks.{l}.attn"
        x = self.ln(v_resid, f"blocks.{l}.ln1")
        return torch.einsum("bpd,hde->bhpe", x, self.w[f"{a}.W_V"][heads]) + self.w[f"{a}.b_V"][heads][:, None]

    def result(self, l, pattern, v, heads=None):
        """Per-head outputs [B, n, h, d] (no b_O) of a pattern [B,h,q,k] over values [B,h,k,e]."""
        heads = list(range(self.H)) if heads is None else heads
        z = pattern @ v
        return torch.einsum("bhpe,hed->bphd", z, self.w[f"blocks.{l}.attn.W_O"][heads])

    def head(self, l, h, q_resid, k_resid, v_resid, mask):
        """Head l.h recomputed from separate q, k, v residual inputs: [B, n, d]."""
        p = self.pattern(l, q_resid, k_resid, mask, [h])
        return self.result(l, p, self.values(l, v_resid, [h]), [h])[:, :, 0]

    def mlp(self, l, x):
        m = f"blocks.{l}.mlp"
        hid = F.relu(self.ln(x, f"blocks.{l}.ln2") @ self.w[f"{m}.W_in"] + self.w[f"{m}.b_in"])
        return hid @ self.w[f"{m}.W_out"] + self.w[f"{m}.b_out"]

    def unembed(self, x):
        return self.ln(x, "ln_final") @ self.w["unembed.W_U"] + self.w["unembed.b_U"]

    def forward(self, tokens, stop_at_layer=None):
        hp = self.hook_points
        n = tokens.shape[1]
        mask = self.key_mask(tokens)
        resid = hp["hook_embed"](self.w["embed.W_E"][tokens])
        pos = hp["hook_pos_embed"](self.w["pos_embed.W_pos"][:n].expand(tokens.shape[0], n, self.d))
        if not self.shortformer:
            resid = resid + pos
        for l in range(self.L if stop_at_layer is None else stop_at_layer):
            b = f"blocks.{l}"
            resid = hp[f"{b}.hook_resid_pre"](resid)
            pattern = hp[f"{b}.attn.hook_pattern"](self.pattern(l, resid, resid, mask))
            v = hp[f"{b}.attn.hook_v"](self.values(l, resid))  # [B, head, pos, d_head]
            result = hp[f"{b}.attn.hook_result"](self.result(l, pattern, v))
            resid = hp[f"{b}.hook_resid_mid"](resid + result.sum(2) + self.w[f"{b}.attn.b_O"])
            if self.has_mlp:
                resid = resid + hp[f"{b}.hook_mlp_out"](self.mlp(l, resid))
            resid = hp[f"{b}.hook_resid_post"](resid)
        return resid if stop_at_layer is not None else self.unembed(resid)

    def run_with_hooks(self, tokens, fwd_hooks=(), names=(), stop_at_layer=None):
        """Runs `tokens` with `fwd_hooks` [(hook name, fn(act) -> act or None)], caching the
        activations named in `names` (as they leave their hook, after any replacement)."""
        cache, handles = {}, []
        try:
            for name, fn in fwd_hooks:
                handles.append(self.hook_points[name].register_forward_hook(
                    lambda m, i, o, fn=fn: fn(o)))
            for name in names:
                handles.append(self.hook_points[name].register_forward_hook(
                    lambda m, i, o, name=name: cache.__setitem__(name, o)))
            out = self(tokens, stop_at_layer)
        finally:
            for h in handles:
                h.remove()
        return out, cache


def load_model(path, **cfg):
    return Transformer(load_file(path), **cfg)


# --------------------------------------------------------------------------- sampling
class Pool:
    """Uniform draws from a pool, and draws agreeing with a parent on a feature column."""

    def __init__(self, pool, rng):
        self.pool, self.rng = np.asarray(pool), rng
        self.classes = {}

    def uniform(self, n):
        return self.pool[self.rng.integers(0, len(self.pool), n)]

    def agree(self, name, column, parents):
        if name not in self.classes:
            vals = column[self.pool]
            order = np.argsort(vals, kind="stable")
            sv = vals[order]
            uniq, start, count = np.unique(sv, return_index=True, return_counts=True)
            self.classes[name] = (uniq, start, count, self.pool[order])
        uniq, start, count, members = self.classes[name]
        k = np.searchsorted(uniq, column[parents])
        assert np.all(uniq[k] == column[parents]), f"empty class of {name}"
        return members[start[k] + (self.rng.random(len(parents)) * count[k]).astype(np.int64)]


class SameDatum(Pool):
    """For --selftest: every node of a sample gets the reference's datum, so a scrubbed
    hypothesis must give the plain model's loss (every rewrite and treeification is exact)."""

    def uniform(self, n):
        return self.pool[(np.arange(n) * 7919) % len(self.pool)]

    def agree(self, name, column, parents):
        return parents


def mean_se(x):
    x = np.asarray(x, dtype=np.float64)
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(len(x)))


# --------------------------------------------------------------------------- paren
class Paren:
    sampler = Pool

    def __init__(self, data_dir, device):
        d = os.path.join(data_dir, "paren")
        self.model = load_model(os.path.join(d, "brackets_model.safetensors"), n_layers=3,
                                n_heads=2, causal=False, shortformer=False, mlp=True, pad=PAD)
        with open(os.path.join(d, "brackets_data.json")) as f:
            raw = json.load(f)
        self.texts = [t for t, _ in raw]
        self.labels = np.array([int(b) for _, b in raw])
        n_ctx = 42
        tok = np.full((len(raw), n_ctx), PAD, dtype=np.int64)
        for i, t in enumerate(self.texts):
            row = [START] + [OPEN if c == "(" else CLOSE for c in t] + [END]
            tok[i, :len(row)] = row
        self.tokens_np = tok
        self.max_len = n_ctx - 2
        self._weights_f64()
        self._features()
        self.model.to_(device)
        self.tokens = torch.from_numpy(tok).to(device)
        p1 = np.array([t.count("(") / max(len(t), 1) for t in self.texts])
        phi = (self.phi_v[None, :] * (2.0 * p1[:, None] - 1.0).astype(np.float32)).astype(np.float32)
        self.phi = torch.from_numpy(phi).to(device)  # phi(p_1) per datum, the value at row 1
        self.pool = np.arange(len(raw))

    def _weights_f64(self):
        """b_{q,n} and phi's direction v, in float64 from the weights (padj.rs, phi.rs)."""
        w = {k: v.numpy().astype(np.float64) for k, v in self.model.w.items()}
        e = self.model.dh

        def ln0(tok, pos):
            x = w["embed.W_E"][tok] + w["pos_embed.W_pos"][pos]
            m = x.mean()
            var = ((x - m) ** 2).mean()
            return (x - m) / math.sqrt(var + 1e-5) * w["blocks.0.ln1.w"] + w["blocks.0.ln1.b"]

        proj = lambda x, W, b: x @ w[f"blocks.0.attn.{W}"][0] + w[f"blocks.0.attn.{b}"][0]
        key = lambda x: proj(x, "W_K", "b_K")
        M = self.max_len
        k_open = [key(ln0(OPEN, i)) for i in range(M + 1)]
        k_avg = [(k_open[i] + key(ln0(CLOSE, i))) / 2 for i in range(M + 1)]
        k_start = key(ln0(START, 0))
        k_end = [key(ln0(END, i)) for i in range(M + 2)]
        scale = 1 / math.sqrt(e)
        b = np.zeros((M + 1, M + 1))
        for n in range(1, M + 1):
            for q in range(1, n + 1):
                query = proj(ln0(OPEN, q), "W_Q", "b_Q")
                s = [query @ k_start * scale]
                s += [query @ (k_open[j] if j == q else k_avg[j]) * scale for j in range(1, n + 1)]
                s.append(query @ k_end[n + 1] * scale)
                s = np.array(s)
                ex = np.exp(s - s.max())
                pre, suf = ex[1:q].sum(), ex[q:n + 1].sum()
                b[q, n] = pre / (pre + suf)
        self.b = b
        W_V, b_V, W_O = w["blocks.0.attn.W_V"][0], w["blocks.0.attn.b_V"][0], w["blocks.0.attn.W_O"][0]
        h = lambda tok, i: (ln0(tok, i) @ W_V + b_V) @ W_O
        ho = np.mean([h(OPEN, i) for i in range(1, M + 1)], axis=0)
        hc = np.mean([h(CLOSE, i) for i in range(1, M + 1)], axis=0)
        self.phi_v = ((ho - hc) / 2).astype(np.float32)

    def _features(self):
        N, C = len(self.texts), 42
        f = {k: np.zeros(N, dtype=np.int64) for k in
             ("is_balanced", "count_open", "horizon", "horizon_adj", "start_open", "p1_open")}
        at = np.zeros((C, N), dtype=np.int64)  # horizon_adj_at(i) classes (features.rs codes)
        PADC, END_OPEN, END_CLOSE, END_START, FAILS, PASSES = range(6)
        centred = lambda o, n: 0.0 if n == 0 else (2.0 * o - n) / (2.0 * n)
        p1_codes = {}
        for k, t in enumerate(self.texts):
            s = [c == "(" for c in t]
            n = len(s)
            opens = sum(s)
            start = n > 0 and s[0]
            equal = 2 * opens == n
            f["is_balanced"][k] = self.labels[k]
            f["start_open"][k] = start
            f["count_open"][k] = start and equal
            suffix = np.concatenate([np.cumsum(s[::-1])[::-1], [0]]) if n else np.array([0])
            f["horizon"][k] = all(not (2 * suffix[i - 1] > n - i + 1) for i in range(1, n + 1))
            adj_ok = True
            for i in range(1, C):
                if i > n + 1:
                    c = PADC
                elif i == n + 1:
                    c = END_START if n == 0 else (END_OPEN if s[-1] else END_CLOSE)
                else:
                    so = int(suffix[i - 1])
                    po = opens - so
                    b = self.b[i, n]
                    fails = b * centred(po, i - 1) + (1 - b) * centred(so, n - i + 1) > 0.0
                    adj_ok &= not fails
                    c = FAILS if fails else PASSES
                at[i, k] = c
            f["horizon_adj"][k] = adj_ok
            if start:
                fr = Fraction(opens, n)
                f["p1_open"][k] = p1_codes.setdefault((fr.numerator, fr.denominator), len(p1_codes))
            else:
                f["p1_open"][k] = -1
        self.f, self.at = f, at

    # ---- hypotheses -------------------------------------------------------------------
    def swap_heads_at_output(self, r_tokens, new, y):
        """Forward on the random data `r_tokens` with a hook at the final residual stream that
        swaps the outputs of heads {(layer, head): output on other data} in; log loss at 0."""
        cache = {}
        keep = lambda name: (name, lambda a: cache.__setitem__(name, a))
        hooks = [keep(f"blocks.{l}.attn.hook_result") for l in sorted({l for l, _ in new})]

        def swap(resid):
            for (l, h), v in new.items():
                resid = resid - cache[f"blocks.{l}.attn.hook_result"][:, :, h] + v
            return resid

        logits, _ = self.model.run_with_hooks(r_tokens, hooks + [("blocks.2.hook_resid_post", swap)])
        return F.cross_entropy(logits[:, 0].double(), y, reduction="none")

    def run_1b(self, n, rng, batch):
        s = self.sampler(self.pool, rng)
        f, T = self.f, self.tokens
        losses = []
        for lo in range(0, n, batch):
            m = min(batch, n - lo)
            ref = s.uniform(m)
            out = s.agree("is_balanced", f["is_balanced"], ref)
            rest = s.uniform(m)
            d10 = s.agree("count_open", f["count_open"], out)
            d20 = s.agree("count_open", f["count_open"], out)
            d21 = s.agree("horizon", f["horizon"], out)
            _, c = self.model.run_with_hooks(T[np.concatenate([d10, d20, d21])],
                                            names=["blocks.1.attn.hook_result", "blocks.2.attn.hook_result"])
            r1, r2 = c["blocks.1.attn.hook_result"], c["blocks.2.attn.hook_result"]
            new = {(1, 0): r1[:m, :, 0], (2, 0): r2[m:2 * m, :, 0], (2, 1): r2[2 * m:, :, 1]}
            y = torch.from_numpy(self.labels[ref]).to(T.device)
            losses.append(self.swap_heads_at_output(T[rest], new, y))
        return torch.cat(losses).cpu().numpy()

    def run_4(self, n, rng, batch):
        s = self.sampler(self.pool, rng)
        f, T, M, phi = self.f, self.tokens, self.model, self.phi
        losses = []
        names = ["hook_embed", "blocks.0.hook_resid_mid", "blocks.0.hook_mlp_out",
                 "blocks.1.hook_resid_pre", "blocks.1.hook_resid_mid", "blocks.1.hook_mlp_out",
                 "blocks.1.hook_resid_post"]
        for lo in range(0, n, batch):
            m = min(batch, n - lo)
            ref = s.uniform(m)
            out = s.agree("is_balanced", f["is_balanced"], ref)
            r_out = s.uniform(m)
            # head 1.0: its datum, the a0.0 (p1_open) and emb (start_open) data, its random
            # datum (remainders of q, k, v) and mlp0's random datum.
            d10 = s.agree("count_open", f["count_open"], out)
            a10 = s.agree("p1_open", f["p1_open"], d10)
            e10 = s.agree("start_open", f["start_open"], d10)
            r10, r10_mlp0 = s.uniform(m), s.uniform(m)
            # head 2.0, likewise, with mlp0, mlp1 and mlp1's own mlp0 each on a random datum
            d20 = s.agree("count_open", f["count_open"], out)
            a20 = s.agree("p1_open", f["p1_open"], d20)
            e20 = s.agree("start_open", f["start_open"], d20)
            r20, r20_mlp0, r20_mlp1, r20_mlp1_mlp0 = (s.uniform(m) for _ in range(4))
            # head 2.1: row i from a datum agreeing on horizon_adj_at(i), row 0 random
            d21 = s.agree("horizon_adj", f["horizon_adj"], out)
            xs = np.stack([s.agree(f"horizon_adj_at({i})", self.at[i], d21) for i in range(1, 42)])
            r21 = s.uniform(m)

            # Clean runs through layers 0 and 1 on every datum whose activations are read.
            plain = np.concatenate([r10, r10_mlp0, r20, r20_mlp0, r20_mlp1, r20_mlp1_mlp0, r21])
            _, c = M.run_with_hooks(T[plain], names=names, stop_at_layer=2)
            part = lambda name, k: c[name][k * m:(k + 1) * m]
            emb = lambda k: part("hook_embed", k)[:, 1]
            phi_ = lambda d: phi[torch.from_numpy(d).to(T.device)]
            phi_a10, phi_a20 = phi_(a10), phi_(a20)
            emb_e10 = M.w["embed.W_E"][T[e10][:, 1]]
            emb_e20 = M.w["embed.W_E"][T[e20][:, 1]]

            def mlp0_at_1(k, d, phi_a, emb_e):
                # mlp0's input at row 1: phi(a) + emb(e) + pos, and from its random datum the
                # rest of resid_mid0 (0.0 - phi, 0.1, b0): recompute, patching emb and phi.
                x = part("blocks.0.hook_resid_mid", k)[:, 1] - emb(k) - phi_(d) + phi_a + emb_e
                return M.mlp(0, x)

            # head 1.0
            m10 = mlp0_at_1(1, r10_mlp0, phi_a10, emb_e10)
            X = part("blocks.1.hook_resid_pre", 0).clone()
            X[:, 1] += (phi_a10 - phi_(r10)) + (emb_e10 - emb(0)) + (m10 - part("blocks.0.hook_mlp_out", 0)[:, 1])
            h10 = M.head(1, 0, X, X, X, M.key_mask(T[d10]))
            # head 2.0
            m0 = mlp0_at_1(3, r20_mlp0, phi_a20, emb_e20)
            m0_for_mlp1 = mlp0_at_1(5, r20_mlp1_mlp0, phi_a20, emb_e20)
            x1 = (part("blocks.1.hook_resid_mid", 4)[:, 1] - emb(4) - phi_(r20_mlp1)
                  - part("blocks.0.hook_mlp_out", 4)[:, 1] + phi_a20 + emb_e20 + m0_for_mlp1)
            m1 = M.mlp(1, x1)
            X = part("blocks.1.hook_resid_post", 2).clone()
            X[:, 1] += ((phi_a20 - phi_(r20)) + (emb_e20 - emb(2))
                        + (m0 - part("blocks.0.hook_mlp_out", 2)[:, 1])
                        + (m1 - part("blocks.1.hook_mlp_out", 2)[:, 1]))
            h20 = M.head(2, 0, X, X, X, M.key_mask(T[d20]))
            # head 2.1
            resid2 = M(T[xs.reshape(-1)], stop_at_layer=2).view(41, m, 42, -1)
            X = part("blocks.1.hook_resid_post", 6).clone()
            X[:, 1:] = resid2[torch.arange(41), :, torch.arange(1, 42)].transpose(0, 1)
            h21 = M.head(2, 1, X, X, X, M.key_mask(T[d21]))

            y = torch.from_numpy(self.labels[ref]).to(T.device)
            losses.append(self.swap_heads_at_output(T[r_out], {(1, 0): h10, (2, 0): h20, (2, 1): h21}, y))
        return torch.cat(losses).cpu().numpy()


# --------------------------------------------------------------------------- induction
class Induction:
    INDUCTION, SELF = (5, 3), (1, 3, 5)
    sampler = Pool

    def __init__(self, model_dir, device):
        self.model = load_model(os.path.join(model_dir, "model.safetensors"), n_layers=2, n_heads=8,
                                causal=True, shortformer=True, mlp=False, pad=None)
        with open(os.path.join(model_dir, "validation.json")) as f:
            meta = json.load(f)
        toks = np.fromfile(os.path.join(model_dir, "validation.u16"), dtype="<u2").astype(np.int64)
        seqs = toks[: len(toks) // meta["seq_len"] * meta["seq_len"]].reshape(-1, meta["seq_len"])
        with open(os.path.join(model_dir, "subset.json")) as f:
            ids = np.array([t["id"] for t in json.load(f)["tokens"]])
        scored = np.isin(seqs, ids)
        scored[:, -1] = False  # the last token has no next token
        self.scored = torch.from_numpy(scored).to(device)
        self.pool = np.nonzero(scored.any(1))[0]
        self.model.to_(device)
        self.tokens = torch.from_numpy(seqs).to(device)
        n = seqs.shape[1]
        t = torch.arange(n, device=device)
        d = t[:, None] - t[None, :]
        self.cur = (d == 0).float()
        self.near = ((d == 1) | (d == 2)).float()   # last3 without cur
        self.far = (d >= 3).float()                 # ~last3 (causal: only s <= t - 3 are nonzero)

    def run_refined4_all(self, n, rng, batch):
        s = self.sampler(self.pool, rng)
        M, T = self.model, self.tokens
        losses = []
        for lo in range(0, n, batch):
            m = min(batch, n - lo)
            ref, emb2 = s.uniform(m), s.uniform(m)   # sharing: Global, one emb2 per sample
            x, r = T[ref], T[emb2]
            # layer 0 on the reference (values) and on emb2 (patterns, values)
            _, c = M.run_with_hooks(torch.cat([x, r]), names=[
                "hook_embed", "blocks.0.attn.hook_pattern", "blocks.0.attn.hook_v"], stop_at_layer=1)
            emb_x = c["hook_embed"][:m]
            A_r = c["blocks.0.attn.hook_pattern"][m:]          # [B, 8, q, k] on emb2
            v_x, v_r = c["blocks.0.attn.hook_v"][:m], c["blocks.0.attn.hook_v"][m:]
            part = lambda mask, v: M.result(0, A_r * mask, v).sum(2)   # Σ over heads
            sel = lambda hs: [h for h in range(M.H) if (h in Induction.SELF) == hs]
            b0 = M.w["blocks.0.attn.b_O"]
            far_r = part(self.far, v_r)
            # k: every head's last-3 part with values on emb, attention from emb2; far part on emb2
            K = emb_x + b0 + part(self.cur + self.near, v_x) + far_r
            # v: the current-token part with values on emb; the rest on emb2
            V = emb_x + b0 + part(self.cur, v_x) + part(self.near, v_r) + far_r
            # q: non-self heads as k; self-attending heads: identity attention on emb, their
            # error term (cur part minus identity) and the rest on emb2
            ns, sf = sel(False), sel(True)
            eye = torch.eye(A_r.shape[-1], device=A_r.device)
            res = lambda pat, v, hs: M.result(0, pat, v[:, hs], hs).sum(2)
            Q = (emb_x + b0 + far_r
                 + res(A_r[:, ns] * (self.cur + self.near), v_x, ns)
                 + res(eye.expand(m, len(sf), -1, -1), v_x, sf)
                 + res(A_r[:, sf] * self.cur - eye, v_r, sf)
                 + res(A_r[:, sf] * self.near, v_r, sf))
            heads = list(Induction.INDUCTION)
            mask = M.key_mask(x)
            pat = M.pattern(1, Q, K, mask, heads)
            new = M.result(1, pat, M.values(1, V, heads), heads)   # [B, n, 2, d]

            def swap(result):
                result = result.clone()
                result[:, :, heads] = new
                return result

            logits, _ = M.run_with_hooks(x, [("blocks.1.attn.hook_result", swap)])
            lp = logits.double().log_softmax(-1)
            nll = -lp[:, :-1].gather(-1, x[:, 1:, None])[..., 0]
            sc = self.scored[ref][:, :-1].double()
            losses.append((nll * sc).sum(1) / sc.sum(1))
        return torch.cat(losses).cpu().numpy()


# --------------------------------------------------------------------------- driver
def scrub_reference(check, name, samples, seed, data_dir, executor):
    """Scrub's JSON result for hypothesis `name`, with timings when the binary is run here:
    `wall_seconds` of the whole `scrub run`, and `net_seconds`, that less the wall time of
    the same command at 2 samples (loading, feature columns), which still includes scoring
    0a and 0b (or `model` and `baseline`) on the same samples."""
    stem = os.path.splitext(os.path.basename(FILES[name]))[0]
    if os.path.isdir(check):
        with open(os.path.join(check, f"{stem}.json")) as f:
            return json.load(f), None, None
    if check.endswith(".json"):
        with open(check) as f:
            return json.load(f), None, None

    def run(n):
        cmd = [check, "run", os.path.join(REPO, FILES[name]), "--samples", str(n),
               "--seed", str(seed), "--executor", executor, "--json", "-q"]
        if name.startswith("paren"):
            cmd += ["--data-dir", data_dir]
        t = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
        wall = time.perf_counter() - t
        if p.returncode != 0:
            sys.exit(f"{' '.join(cmd)} failed:\n{p.stderr}")
        return json.loads(p.stdout), wall

    out, wall = run(samples)
    _, load = run(2)
    return out, wall, max(wall - load, 1e-9)


def plain_losses(sc, n):
    """Per-sample plain-model losses on the references SameDatum draws."""
    ref = SameDatum(sc.pool, None).uniform(n)
    x = sc.tokens[ref]
    logits = sc.model(x).double()
    if isinstance(sc, Paren):
        y = torch.from_numpy(sc.labels[ref]).to(x.device)
        return F.cross_entropy(logits[:, 0], y, reduction="none").cpu().numpy()
    nll = -logits.log_softmax(-1)[:, :-1].gather(-1, x[:, 1:, None])[..., 0]
    m = sc.scored[ref][:, :-1].double()
    return ((nll * m).sum(1) / m.sum(1)).cpu().numpy()


def selftest(a, names, n=64):
    bad, loaded = 0, {}
    for name in names:
        if name.startswith("paren"):
            sc = loaded.setdefault("paren", loaded.get("paren") or Paren(a.data_dir, a.device))
            fn = {"paren_1b": sc.run_1b, "paren_4": sc.run_4}[name]
        else:
            sc = Induction(a.model_dir, a.device)
            fn = sc.run_refined4_all
        sc.sampler = SameDatum
        err = float(np.abs(fn(n, None, n) - plain_losses(sc, n)).max())
        print(f"{name}: every datum the reference's: max |loss - plain model loss| = {err:.2e}")
        bad += err > 1e-4
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser(description="The PyTorch peer of `scrub run` (see the module docstring).")
    ap.add_argument("--hypothesis", default="all", choices=list(FILES) + ["all"])
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--data-dir", default=os.environ.get("SCRUB_DATA", "/work/shared/models"))
    ap.add_argument("--model-dir", default=os.path.join(REPO, "scenarios/induction/model"))
    ap.add_argument("--batch", type=int, default=None,
                    help="samples per batch (default: 250 paren, 64 induction)")
    ap.add_argument("--scrub-executor", default="cpu", choices=["cpu", "gpu", "auto"],
                    help="--executor of `scrub run` under --check with the binary")
    ap.add_argument("--selftest", action="store_true",
                    help="check that with every datum of a sample equal to the reference each "
                         "hypothesis gives the plain model's per-sample loss (1e-4), and exit")
    ap.add_argument("--json", dest="json_path")
    ap.add_argument("--check", metavar="SCRUB_JSON_OR_BIN")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_grad_enabled(False)
    names = list(FILES) if a.hypothesis == "all" else [a.hypothesis]
    if a.selftest:
        sys.exit(selftest(a, names))
    results, ok = {}, True
    paren = induction = None
    for name in names:
        if name.startswith("paren"):
            paren = paren or Paren(a.data_dir, a.device)
            fn, batch = {"paren_1b": paren.run_1b, "paren_4": paren.run_4}[name], a.batch or 250
        else:
            induction = induction or Induction(a.model_dir, a.device)
            fn, batch = induction.run_refined4_all, a.batch or 64
        rng = np.random.default_rng(a.seed)
        if a.device == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        losses = fn(a.samples, rng, batch)
        if a.device == "cuda":
            torch.cuda.synchronize()
        sec = time.perf_counter() - t
        loss, se = mean_se(losses)
        results[name] = dict(loss=loss, stderr=se, samples=a.samples, seconds=sec,
                             samples_per_s=a.samples / sec, device=a.device, threads=a.threads,
                             torch_version=torch.__version__)
        print(f"{name}: torch loss {loss:.4f} ± {se:.4f} ({a.samples} samples, {sec:.1f} s, "
              f"{a.samples / sec:.1f} samples/s, {a.device}, {a.threads} threads)", flush=True)
        if a.check:
            ref, wall, net = scrub_reference(a.check, name, a.samples, a.seed, a.data_dir,
                                             a.scrub_executor)
            if ref.get("samples") != a.samples:
                print(f"{name}: note: scrub's result is over {ref.get('samples')} samples, "
                      f"this run over {a.samples}", flush=True)
            diff = abs(loss - ref["loss"])
            tol = 2 * math.sqrt(se ** 2 + ref["stderr"] ** 2)
            agree = diff <= tol
            ok &= agree
            results[name]["scrub"] = dict(loss=ref["loss"], stderr=ref["stderr"],
                                          samples=ref.get("samples"), wall_seconds=wall,
                                          net_seconds=net,
                                          net_samples_per_s=net and ref["samples"] / net,
                                          agree=agree, diff=diff, tolerance=tol)
            rate = (f", scrub run wall {wall:.1f} s = {ref['samples'] / wall:.1f} samples/s, less "
                    f"load {net:.1f} s = {ref['samples'] / net:.1f} samples/s" if wall else "")
            print(f"{name}: scrub loss {ref['loss']:.4f} ± {ref['stderr']:.4f} ({ref.get('samples')} "
                  f"samples{rate}); |diff| {diff:.4f} {'<=' if agree else '>'} 2σ {tol:.4f}: "
                  f"{'agree' if agree else 'DISAGREE'}", flush=True)
    if a.json_path:
        with open(a.json_path, "w") as f:
            json.dump(results, f, indent=2)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
