#!/usr/bin/env python3
"""Write the TransformerLens reference fixtures under core/tests/fixtures/tl/<variant>/.

    python3 -m venv /work/venv-tl
    /work/venv-tl/bin/pip install transformer_lens==2.18.0 "datasets<3" "pyarrow<18"
    /work/venv-tl/bin/python scripts/export_tl_fixtures.py

Made with transformer_lens 2.18.0, torch 2.15.0, transformers 4.57.6, numpy 1.26.4 on
CPU (Python 3.11). transformer_lens 2.18 pins numpy < 2, and datasets/pyarrow releases newer
than the two pins above no longer import with it. Any torch >= 2.6 should do; the
outputs only need to agree with scrub to 1e-4.

For each variant a randomly initialised HookedTransformer (fixed seed; every parameter,
biases and LayerNorm scales included, drawn at random so that none is trivially 0 or 1)
is saved as
- config.json: `json.dump(model.cfg.to_dict(), f, default=str)`, exactly what users save,
- model.safetensors: `model.state_dict()` (float32, contiguous; the attention `mask` and
  `IGNORE` buffers included, as a user's export would have them),
- tokens.json: a few sequences of different lengths,
- expected.safetensors: TransformerLens's outputs, each sequence run on its own (batch 1,
  so no padding) and rows concatenated in sequence order: `logits` [rows, d_vocab_out], a
  few per-row hooks `hook/<name>` [rows, ...], and attention patterns
  `seq<i>/<name>` [n_heads, n, n].

The Rust tests (core/tests/tl_fixtures.rs, kernels/tests/tl_fixtures.rs) only read these
files; CI has no PyTorch.
"""
import json
import pathlib

import torch
from safetensors.torch import save_file
from transformer_lens import HookedTransformer, HookedTransformerConfig

OUT = pathlib.Path(__file__).resolve().parent.parent / "core" / "tests" / "fixtures" / "tl"

BASE = dict(n_layers=2, d_model=16, n_heads=2, d_head=8, n_ctx=10, d_vocab=20, device="cpu")

# name -> (config overrides, fold LayerNorms after init)
VARIANTS = {
    "ln_relu_causal": (dict(act_fn="relu", normalization_type="LN", d_mlp=32), False),
    # Built with LN, then folded the way users do (`fold_ln=True`): cfg becomes LNPre.
    "lnpre_gelu_causal": (dict(act_fn="gelu", normalization_type="LN", d_mlp=32), True),
    "none_gelunew_bidirectional": (
        dict(act_fn="gelu_new", normalization_type=None, attention_dir="bidirectional", d_mlp=24),
        False,
    ),
    "attnonly_shortformer": (
        dict(attn_only=True, normalization_type="LN", positional_embedding_type="shortformer"),
        False,
    ),
    "vocab_out_gelu_bidirectional": (
        dict(
            act_fn="gelu",
            normalization_type="LN",
            attention_dir="bidirectional",
            d_model=24,
            d_head=8,
            n_heads=3,
            d_mlp=40,
            n_ctx=12,
            d_vocab_out=7,
        ),
        False,
    ),
}

LENGTHS = [1, 4, 7, 10]

# Hooks compared where scrub's CPU reference records them (core/src/forward.rs).
ROW_HOOKS = [
    "blocks.0.hook_resid_post",
    "blocks.0.ln1.hook_normalized",
    "blocks.0.mlp.hook_post",
    "blocks.1.hook_attn_out",
    "ln_final.hook_normalized",
]
PATTERN_HOOKS = ["blocks.1.attn.hook_pattern"]


def randomise(model: HookedTransformer, gen: torch.Generator) -> None:
    """Every parameter at random: N(0, 0.3²), LayerNorm scales 1 + N(0, 0.2²)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen)
            parts = name.split(".")
            if parts[-1] == "w" and parts[-2].startswith("ln"):
                p.copy_(1.0 + 0.2 * noise)
            else:
                p.copy_(0.3 * noise)


def export(name: str, overrides: dict, fold: bool, seed: int) -> None:
    cfg = HookedTransformerConfig(**{**BASE, **overrides, "seed": seed})
    model = HookedTransformer(cfg)
    gen = torch.Generator().manual_seed(seed)
    randomise(model, gen)
    if fold:
        probe = torch.arange(model.cfg.n_ctx)[None] % model.cfg.d_vocab
        before = model(probe)
        # What users run before exporting an interpretable model: LayerNorm scales and
        # shifts folded into the next weights, leaving LNPre (no LayerNorm parameters).
        model.process_weights_(fold_ln=True, center_writing_weights=True, center_unembed=True)
        assert model.cfg.normalization_type == "LNPre", model.cfg.normalization_type
        # process_weights_ swaps in new LayerNormPre modules; re-register their hooks.
        model.setup()
        # Folding must not change the function (center_unembed shifts logits per row).
        after = model(probe)
        shift = lambda t: t - t.mean(-1, keepdim=True)
        assert torch.allclose(shift(before), shift(after), atol=1e-4), "fold_ln changed the model"
    model.eval()

    d_vocab = model.cfg.d_vocab
    n_ctx = model.cfg.n_ctx
    seqs = [
        torch.randint(0, d_vocab, (min(n, n_ctx),), generator=gen).tolist() for n in LENGTHS
    ]
    if n_ctx not in [len(s) for s in seqs]:
        seqs.append(torch.randint(0, d_vocab, (n_ctx,), generator=gen).tolist())

    expected: dict = {}
    rows: dict = {"logits": []}
    with torch.no_grad():
        for i, s in enumerate(seqs):
            logits, cache = model.run_with_cache(torch.tensor([s]))
            rows["logits"].append(logits[0])
            for h in ROW_HOOKS:
                if h in cache:
                    rows.setdefault("hook/" + h, []).append(cache[h][0])
            for h in PATTERN_HOOKS:
                expected[f"seq{i}/{h}"] = cache[h][0]
    for k, v in rows.items():
        expected[k] = torch.cat(v, dim=0)

    d = OUT / name
    d.mkdir(parents=True, exist_ok=True)
    with open(d / "config.json", "w") as f:
        json.dump(model.cfg.to_dict(), f, default=str, indent=1)
        f.write("\n")
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    state = {k: (v.float() if v.is_floating_point() else v) for k, v in state.items()}
    save_file(state, str(d / "model.safetensors"))
    with open(d / "tokens.json", "w") as f:
        json.dump(seqs, f)
        f.write("\n")
    save_file({k: v.float().contiguous() for k, v in expected.items()}, str(d / "expected.safetensors"))
    print(f"{name}: {len(seqs)} sequences, hooks {sorted(k for k in rows if k != 'logits')}")


def main() -> None:
    torch.set_grad_enabled(False)
    for i, (name, (overrides, fold)) in enumerate(VARIANTS.items()):
        export(name, overrides, fold, seed=1000 + i)


if __name__ == "__main__":
    main()
