#!/usr/bin/env python3
"""Write the Hugging Face GPT-2, Llama, Qwen2 and GPT-NeoX reference fixtures under core/tests/fixtures/hf/<variant>/.

    /work/venv-tl/bin/python scripts/export_hf_fixtures.py [VARIANT ...]

With variant names, only those are (re)written (the others' files are left alone); without,
all of them.

Made with torch 2.15.0 and transformers 4.57.6 on CPU (Python 3.11; the script prints the
versions it ran with). The outputs only need to agree with scrub to 1e-4, so nearby
versions should do.

Each variant is a small randomly initialised model (fixed seed; every
parameter, biases and LayerNorm scales included, drawn at random so that none is
trivially 0 or 1), saved with `save_pretrained(..., safe_serialization=True)` exactly as a
user's checkpoint is, and beside it
- tokens.json: a few sequences of ragged lengths,
- expected.safetensors: the model's outputs, each sequence run on its own (batch 1, so no
  padding) and rows concatenated in sequence order: `logits` [rows, vocab] and
  `hidden/<i>` [rows, n_embd] for every entry of `output_hidden_states=True` (entry i < n_layer
  is the residual stream before block i; the last is after `ln_f`).

Variants:
- gpt2_tiny: tied embeddings, gelu_new, n_inner null (4·n_embd); names `transformer.*`.
- gpt2_tiny_sharded: the same model saved in shards (`model.safetensors.index.json`).
- gpt2_tiny_base: the same model's `GPT2Model` (`model.transformer.save_pretrained`): names
  without the `transformer.` prefix and no `lm_head`, as the hub's `gpt2` stores them.
- gpt2_tiny_f16: the same model in float16. Its `logits`/`hidden/*` are those of the
  float16-rounded weights computed in float32 (what scrub computes after widening, exactly);
  `logits_f32_model` are the float32 model's, which differ by the rounding of the weights.
- gpt2_untied: `tie_word_embeddings=False` (its own `lm_head.weight`), exact gelu,
  n_inner = 48.
- llama_tiny: a `LlamaForCausalLM` (2 layers, 4 heads sharing 2 key/value heads, hidden 32,
  intermediate 48, vocab 50, max_position_embeddings 16, untied, no biases, RMSNorm scales
  at random, rope_theta 10000). `hidden/<i>` as for GPT-2 (the last is after `model.norm`).
- qwen2_tiny: a `Qwen2ForCausalLM` of the same sizes with 1 key/value head, its q/k/v
  biases, tied embeddings and rope_theta 1e6.
- pythia_tiny: a `GPTNeoXForCausalLM` (2 layers, 4 heads, hidden 32, intermediate 64,
  vocab 50, max_position_embeddings 16) as Pythia is built: parallel attention and MLP
  (`use_parallel_residual`), partial rotary over the first quarter of each head
  (`rotary_pct` 0.25: 2 of 8 dimensions), exact gelu, biases everywhere, LayerNorm scales
  and shifts at random, an untied `embed_out`. `hidden/<i>` as for GPT-2 (the last is after
  `gpt_neox.final_layer_norm`).
- neox_sequential: the same sizes with sequential blocks (`use_parallel_residual` false),
  `rotary_pct` 0.5, gelu_new and rotary_emb_base 500.

The Rust tests (core/tests/hf_fixtures.rs, kernels/tests/hf_fixtures.rs) only read these
files; CI has no PyTorch.
"""
import json
import pathlib
import shutil
import sys

import torch
import transformers
from safetensors.torch import save_file
from transformers import (
    GPT2Config,
    GPT2LMHeadModel,
    GPTNeoXConfig,
    GPTNeoXForCausalLM,
    LlamaConfig,
    LlamaForCausalLM,
    Qwen2Config,
    Qwen2ForCausalLM,
)

OUT = pathlib.Path(__file__).resolve().parent.parent / "core" / "tests" / "fixtures" / "hf"

BASE = dict(n_layer=2, n_head=4, n_embd=32, vocab_size=50, n_positions=16)
LENGTHS = [1, 5, 11, 16]


def randomise(model: torch.nn.Module, gen: torch.Generator) -> None:
    """Every parameter at random: N(0, 0.2²), LayerNorm scales 1 + N(0, 0.2²)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen)
            norm = ".ln_" in name or name.endswith("norm.weight")
            if norm and name.endswith("weight"):
                p.copy_(1.0 + 0.2 * noise)
            else:
                p.copy_(0.2 * noise)


def outputs(model: transformers.PreTrainedModel, seqs: list) -> dict:
    rows: dict = {}
    with torch.no_grad():
        for s in seqs:
            out = model(torch.tensor([s]), output_hidden_states=True)
            rows.setdefault("logits", []).append(out.logits[0].float())
            for i, h in enumerate(out.hidden_states):
                rows.setdefault(f"hidden/{i}", []).append(h[0].float())
    return {k: torch.cat(v, dim=0).contiguous() for k, v in rows.items()}


def write(d: pathlib.Path, seqs: list, expected: dict) -> None:
    with open(d / "tokens.json", "w") as f:
        json.dump(seqs, f)
        f.write("\n")
    save_file(expected, str(d / "expected.safetensors"))
    size = sum(p.stat().st_size for p in d.iterdir())
    print(f"{d.name}: {sorted(p.name for p in d.iterdir())}, {size} bytes")


def fresh(name: str) -> pathlib.Path:
    d = OUT / name
    shutil.rmtree(d, ignore_errors=True)
    return d


def build(seed: int, **overrides) -> tuple:
    cfg = GPT2Config(**{**BASE, **overrides})
    torch.manual_seed(seed)
    model = GPT2LMHeadModel(cfg)
    gen = torch.Generator().manual_seed(seed)
    randomise(model, gen)
    model.eval()
    seqs = [torch.randint(0, cfg.vocab_size, (n,), generator=gen).tolist() for n in LENGTHS]
    return model, seqs


LLAMA = dict(
    num_hidden_layers=2,
    num_attention_heads=4,
    hidden_size=32,
    intermediate_size=48,
    vocab_size=50,
    max_position_embeddings=16,
)


def build_llama(cls, cfg_cls, seed: int, **overrides) -> tuple:
    cfg = cfg_cls(**{**LLAMA, **overrides})
    torch.manual_seed(seed)
    model = cls(cfg)
    gen = torch.Generator().manual_seed(seed)
    randomise(model, gen)
    model.eval()
    seqs = [torch.randint(0, cfg.vocab_size, (n,), generator=gen).tolist() for n in LENGTHS]
    return model, seqs


NEOX = dict(
    num_hidden_layers=2,
    num_attention_heads=4,
    hidden_size=32,
    intermediate_size=64,
    vocab_size=50,
    max_position_embeddings=16,
)


def neox(name: str, seed: int, **overrides) -> None:
    model, seqs = build_llama(GPTNeoXForCausalLM, GPTNeoXConfig, seed, **{**NEOX, **overrides})
    # A parallel block that is really sequential (or the reverse) would pass unnoticed.
    assert model.gpt_neox.layers[0].use_parallel_residual == overrides["use_parallel_residual"]
    d = fresh(name)
    model.save_pretrained(d, safe_serialization=True)
    expected = outputs(model, seqs)
    print(f"{name}: logits up to {expected['logits'].abs().max().item():.3f}")
    write(d, seqs, expected)


def gpt2_variants() -> None:
    model, seqs = build(2000)
    expected = outputs(model, seqs)
    scale = expected["logits"].abs().max().item()
    print(f"gpt2_tiny: logits up to {scale:.3f}")

    d = fresh("gpt2_tiny")
    model.save_pretrained(d, safe_serialization=True)
    write(d, seqs, expected)

    d = fresh("gpt2_tiny_sharded")
    model.save_pretrained(d, safe_serialization=True, max_shard_size=40_000)
    assert (d / "model.safetensors.index.json").is_file(), "not sharded"
    write(d, seqs, expected)

    d = fresh("gpt2_tiny_base")
    model.transformer.save_pretrained(d, safe_serialization=True)
    write(d, seqs, expected)

    d = fresh("gpt2_tiny_f16")
    half = GPT2LMHeadModel(model.config)
    half.load_state_dict(model.state_dict())
    half = half.half()
    half.save_pretrained(d, safe_serialization=True)
    rounded = half.float().eval()
    f16 = outputs(rounded, seqs)
    f16["logits_f32_model"] = expected["logits"]
    write(d, seqs, f16)



def gpt2_untied() -> None:
    model, seqs = build(2001, tie_word_embeddings=False, activation_function="gelu", n_inner=48)
    d = fresh("gpt2_untied")
    model.save_pretrained(d, safe_serialization=True)
    write(d, seqs, outputs(model, seqs))


def llama_tiny() -> None:
    model, seqs = build_llama(
        LlamaForCausalLM,
        LlamaConfig,
        2002,
        num_key_value_heads=2,
        tie_word_embeddings=False,
        rms_norm_eps=1e-6,
        rope_theta=10000.0,
    )
    d = fresh("llama_tiny")
    model.save_pretrained(d, safe_serialization=True)
    expected = outputs(model, seqs)
    print(f"llama_tiny: logits up to {expected['logits'].abs().max().item():.3f}")
    write(d, seqs, expected)


def qwen2_tiny() -> None:
    model, seqs = build_llama(
        Qwen2ForCausalLM,
        Qwen2Config,
        2003,
        num_key_value_heads=1,
        tie_word_embeddings=True,
        rms_norm_eps=1e-6,
        rope_theta=1e6,
    )
    assert model.model.layers[0].self_attn.q_proj.bias is not None
    d = fresh("qwen2_tiny")
    model.save_pretrained(d, safe_serialization=True)
    expected = outputs(model, seqs)
    print(f"qwen2_tiny: logits up to {expected['logits'].abs().max().item():.3f}")
    write(d, seqs, expected)


# Variant (or group of variants sharing one model) -> the function writing it.
VARIANTS = {
    "gpt2_tiny": gpt2_variants,
    "gpt2_tiny_sharded": gpt2_variants,
    "gpt2_tiny_base": gpt2_variants,
    "gpt2_tiny_f16": gpt2_variants,
    "gpt2_untied": gpt2_untied,
    "llama_tiny": llama_tiny,
    "qwen2_tiny": qwen2_tiny,
    "pythia_tiny": lambda: neox(
        "pythia_tiny", 2004, use_parallel_residual=True, rotary_pct=0.25, hidden_act="gelu"
    ),
    "neox_sequential": lambda: neox(
        "neox_sequential",
        2005,
        use_parallel_residual=False,
        rotary_pct=0.5,
        hidden_act="gelu_new",
        rotary_emb_base=500,
    ),
}


def main() -> None:
    print(f"torch {torch.__version__}, transformers {transformers.__version__}")
    torch.set_grad_enabled(False)
    names = sys.argv[1:] or list(VARIANTS)
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        sys.exit(f"unknown variants {unknown}; known: {', '.join(VARIANTS)}")
    done = set()
    for n in names:
        run = VARIANTS[n]
        if run not in done:
            run()
            done.add(run)


if __name__ == "__main__":
    main()
