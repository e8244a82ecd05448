"""Builds the `first_last` example task for `scrub`: trains a one-layer TransformerLens model
to say whether a sequence's first token equals its last, and writes the task directory.

    python make_task.py            # writes config.json, model.safetensors, data.jsonl here

Everything is seeded: two runs on the same torch version give the same files. It takes
about a minute on one CPU core. The task directory is this script's folder; task.ron and
hypotheses/ are hand-written and not touched.
"""

import json
import os
import random

import torch
from safetensors.torch import save_file
from transformer_lens import HookedTransformer, HookedTransformerConfig

HERE = os.path.dirname(os.path.abspath(__file__))
VOCAB = 10            # tokens 0..9
LENGTH = 8            # every sequence has 8 tokens (see ../README.md on ragged data)
N_HELD_OUT = 3000     # the data scrub samples from
TRAIN_STEPS = 2000
BATCH = 256


def sample(rng, n):
    """n random sequences; the last token copies the first half of the time."""
    data = []
    for _ in range(n):
        toks = [rng.randrange(VOCAB) for _ in range(LENGTH)]
        if rng.random() < 0.5:
            toks[-1] = toks[0]
        data.append(toks)
    return data


def batch_tensors(seqs):
    """Tokens, last positions and labels (right-padded with 0 if lengths ever differ:
    attention is causal, so padding never reaches a real position)."""
    toks = torch.zeros(len(seqs), LENGTH, dtype=torch.long)
    for i, s in enumerate(seqs):
        toks[i, : len(s)] = torch.tensor(s)
    last = torch.tensor([len(s) - 1 for s in seqs])
    label = torch.tensor([int(s[0] == s[-1]) for s in seqs])
    return toks, last, label


def logits_at_last(model, toks, last):
    logits = model(toks)  # [batch, pos, 2]
    return logits[torch.arange(len(last)), last]


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    cfg = HookedTransformerConfig(
        n_layers=1,
        d_model=32,
        n_ctx=LENGTH,
        d_head=16,
        n_heads=2,
        d_mlp=64,
        d_vocab=VOCAB,
        d_vocab_out=2,          # a classifier: logit 0 "different", logit 1 "same"
        act_fn="relu",
        normalization_type="LN",
        attention_dir="causal",
        positional_embedding_type="standard",
        seed=0,
        device="cpu",
    )
    model = HookedTransformer(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    rng = random.Random(0)
    for step in range(TRAIN_STEPS):
        toks, last, label = batch_tensors(sample(rng, BATCH))
        loss = torch.nn.functional.cross_entropy(logits_at_last(model, toks, last), label)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 500 == 0 or step == TRAIN_STEPS - 1:
            print(f"step {step:5d}  train loss {loss.item():.4f}")

    # Held-out data, from a different stream than training.
    held = sample(random.Random(1), N_HELD_OUT)
    model.eval()
    with torch.no_grad():
        toks, last, label = batch_tensors(held)
        logits = logits_at_last(model, toks, last)
        loss = torch.nn.functional.cross_entropy(logits, label).item()
        acc = (logits.argmax(-1) == label).float().mean().item()
        _, cache = model.run_with_cache(toks)
        pattern = cache["blocks.0.attn.hook_pattern"]  # [batch, head, q, k]
        at_last = pattern[torch.arange(len(held)), :, last]  # [batch, head, k]
        for h in range(cfg.n_heads):
            print(f"head 0.{h}: mean attention from the last position to position 0: "
                  f"{at_last[:, h, 0].mean().item():.3f}, to itself: "
                  f"{at_last[torch.arange(len(held)), h, last].mean().item():.3f}")
    print(f"held-out loss {loss:.4f}, accuracy {acc:.4f}")

    save_file({k: v.contiguous() for k, v in model.state_dict().items()},
              os.path.join(HERE, "model.safetensors"))
    with open(os.path.join(HERE, "config.json"), "w") as f:
        json.dump(model.cfg.to_dict(), f, default=str, indent=1)
    with open(os.path.join(HERE, "data.jsonl"), "w") as f:
        for s in held:
            f.write(json.dumps({
                "tokens": s,
                "label": int(s[0] == s[-1]),   # what the metric scores
                "same": s[0] == s[-1],         # the same, as a bool feature
                "first_tok": s[0],
                "last_tok": s[-1],
                "tok": s,                      # per position: feature tok[i]
            }) + "\n")


if __name__ == "__main__":
    main()
