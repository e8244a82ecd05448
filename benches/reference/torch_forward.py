#!/usr/bin/env python3
"""The PyTorch peer of `cargo bench -p scrub-benches --bench hf_forward`: the same two
randomly initialised Hugging Face models (a GPT-2-small-sized `GPT2LMHeadModel` and a
~400M-parameter `LlamaForCausalLM`: 24 layers, hidden 1024, 16 heads on 4 key/value heads,
intermediate 3584, vocab 32000), forward on a batch of 8 x 128 tokens in float32 with TF32
off, tokens/s. Run on the same machine and thread count as the Rust bench:

    /work/venv-tl/bin/python benches/reference/torch_forward.py --threads 2 [--device cuda]

Measured with torch 2.15.0 and transformers 4.57.6 (the script prints its versions).
"""
import argparse
import json
import time

import torch
import transformers
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

BATCH, TOKENS = 8, 128


def models():
    yield "gpt2_small", GPT2LMHeadModel(GPT2Config(n_layer=12, n_head=12, n_embd=768, n_positions=1024, vocab_size=50257))
    yield "llama_400m", LlamaForCausalLM(
        LlamaConfig(
            num_hidden_layers=24,
            hidden_size=1024,
            num_attention_heads=16,
            num_key_value_heads=4,
            intermediate_size=3584,
            vocab_size=32000,
            max_position_embeddings=2048,
            tie_word_embeddings=False,
        )
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(0)
    out = {"torch": torch.__version__, "transformers": transformers.__version__, "threads": a.threads, "device": a.device}
    for name, model in models():
        model = model.to(a.device).float().eval()
        params = sum(p.numel() for p in model.parameters())
        tokens = torch.randint(0, model.config.vocab_size, (BATCH, TOKENS), device=a.device)
        with torch.no_grad():
            model(tokens)  # warm-up
            if a.device == "cuda":
                torch.cuda.synchronize()
            times = []
            for _ in range(a.iters):
                t = time.perf_counter()
                model(tokens).logits.sum().item()
                times.append(time.perf_counter() - t)
        best, median = min(times), sorted(times)[len(times) // 2]
        out[name] = {"params_m": params / 1e6, "median_s": median, "tokens_per_s": BATCH * TOKENS / median, "best_s": best}
        print(f"{name}: {params / 1e6:.1f}M parameters, median {median * 1e3:.1f} ms, {BATCH * TOKENS / median:,.0f} tokens/s", flush=True)
        del model
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
