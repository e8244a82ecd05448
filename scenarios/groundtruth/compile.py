#!/usr/bin/env python3
"""Compile RASP programs with Tracr and write each as a scrub task directory.

Every program becomes `tasks/<name>/` beside this script:

  config.ron          the model's hyperparameters in the project's RON form
  model.safetensors   the compiled weights in TransformerLens naming
  data.jsonl          every input up to the program's length (or a seeded sample), with
                      the program's output per position (`label`, or `target` for a
                      numerical output), `scored` (every position but BOS), the value of
                      every intermediate RASP variable per position, and `len`
  task.ron            the manifest
  circuit.json        what each block reads and writes, read off the weights
  hypotheses/*.ron    the true hypothesis and planted false ones, generated from circuit
  expect.ron          what `scrub groundtruth` must find for each hypothesis
  check.safetensors   Tracr's own residual stream (after the embeddings and every
                      sublayer) and decoded outputs on a few data, for the Rust check

Tested with (written into every task's `versions.json`):
  python 3.11, tracr-pypi 1.0.0, jax 0.10.2, dm-haiku 0.0.17, numpy 2.4.6, safetensors 0.7

  python -m venv venv-tracr && venv-tracr/bin/pip install tracr-pypi==1.0.0 safetensors
  venv-tracr/bin/python scenarios/groundtruth/compile.py

The script asserts, before writing anything, that Tracr's compiled model decodes to the
RASP program's own output on every datum.
"""

import importlib.metadata as md
import itertools
import json
import os
import re
import shutil
import sys
from collections import defaultdict

import numpy as np
from safetensors.numpy import save_file
from tracr.compiler import compiling, lib, rasp_to_graph
from tracr.rasp import rasp

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "tasks")
BOS, PAD = "BOS", "PAD"
# Sentinel feature value at the BOS position, where no RASP variable has a value.
AT_BOS = "BOS"
# Data the residual check compares (the longest ones and a few shorter, padded).
CHECK_DATA = 12


def exhaustive(vocab, max_len, keep=None):
    """Every input of 1 to `max_len` tokens (those `keep` accepts)."""
    return [list(s) for n in range(1, max_len + 1)
            for s in itertools.product(vocab, repeat=n) if keep is None or keep(list(s))]


def bursty(vocab, max_len, n=800, seed=0):
    """A seeded sample in which each sequence has its own rate of the first token (0.05 or
    0.95): the positions of one sequence are correlated, as in natural data, which is
    what a washout feeds on."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        length = int(rng.integers(1, max_len + 1))
        rate = float(rng.choice([0.05, 0.95]))
        out.append([vocab[0] if rng.random() < rate else vocab[int(rng.integers(1, len(vocab)))]
                    for _ in range(length)])
    return out


def programs():
    """(name, program, vocab, max_seq_len, the inputs)."""
    yield "length", lib.make_length(), [1, 2, 3], 5, exhaustive([1, 2, 3], 5)
    yield ("reverse", lib.make_reverse(rasp.tokens).named("reverse"), [1, 2, 3], 5,
           exhaustive([1, 2, 3], 5))
    yield "hist", lib.make_hist(), [1, 2, 3], 5, exhaustive([1, 2, 3], 5)
    yield ("sort_unique", lib.make_sort_unique(rasp.tokens, rasp.tokens), [1, 2, 3, 4, 5], 4,
           exhaustive([1, 2, 3, 4, 5], 4, lambda s: len(set(s)) == len(s)))
    yield ("frac_prevs", lib.make_frac_prevs(rasp.tokens == 1).named("frac_prevs"),
           [1, 2, 3], 8, bursty([1, 2, 3], 8))
    yield ("shuffle_dyck", lib.make_shuffle_dyck(["()"]), ["(", ")"], 6,
           exhaustive(["(", ")"], 6))


# The hidden dimension a selector width's attention head writes for its MLP to read.
HIDDEN = "_selector_width_attn_output"


# RASP's primitives, renamed so that `tokens` stays the dataset's token column.
PRIMITIVES = {"tokens": "tok", "indices": "idx"}
# Residual variables that are the same on every datum at every position: the constant
# dimension, BOS (always position 0) and the positions (the same rows for every datum).
CONSTANT = {"one", "bos", "indices"}


def clean(name):
    name = PRIMITIVES.get(name, name)
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def var_of(label):
    """The variable a residual dimension belongs to (`length_5:3` -> `length_5`); the BOS
    and PAD token dimensions are variables of their own (`bos`, `pad`)."""
    if label == f"tokens:{BOS}":
        return "bos"
    if label == f"tokens:{PAD}":
        return "pad"
    return label.split(":")[0]


def versions():
    v = {"python": sys.version.split()[0]}
    for p in ["tracr-pypi", "jax", "jaxlib", "dm-haiku", "numpy", "safetensors"]:
        v[p] = md.version(p)
    return v


def nonzero_vars(matrix, axis, labels):
    """Variables of the residual dimensions along `axis` where `matrix` is not zero."""
    used = np.abs(matrix).max(axis=1 - axis) > 0 if matrix.ndim == 2 else np.abs(matrix) > 0
    return sorted({var_of(labels[i]) for i in np.nonzero(used)[0]})


def compile_one(name, prog, vocab, max_len, inputs):
    model = compiling.compile_rasp_to_model(
        prog, vocab=set(vocab), max_seq_len=max_len, compiler_bos=BOS, compiler_pad=PAD)
    graph = rasp_to_graph.extract_rasp_graph(prog).graph
    cfg = model.model_config
    labels = model.residual_labels
    p = {k: {kk: np.asarray(vv, dtype=np.float32) for kk, vv in v.items()}
         for k, v in model.params.items()}
    d_model = len(labels)
    heads, ks, d_mlp, n_layers = cfg.num_heads, cfg.key_size, cfg.mlp_hidden_size, cfg.num_layers
    enc = model.input_encoder.encoding_map
    numerical = not hasattr(model.output_encoder, "encoding_map")
    out_var = prog.label

    # Unembedding: the projection of the residual onto the output variable's dimensions,
    # as Tracr's own unembed does.
    if numerical:
        out_cols = [labels.index(out_var)]
        classes = None
    else:
        em = model.output_encoder.encoding_map
        classes = sorted(em, key=em.get)
        out_cols = [labels.index(f"{out_var}:{c}") for c in classes]
    w_u = np.zeros((d_model, len(out_cols)), np.float32)
    for j, c in enumerate(out_cols):
        w_u[c, j] = 1.0

    tensors = {
        "embed.W_E": p["token_embed"]["embeddings"],
        "pos_embed.W_pos": p["pos_embed"]["embeddings"],
        "unembed.W_U": w_u,
        "unembed.b_U": np.zeros(len(out_cols), np.float32),
    }
    circuit = {"blocks": [], "output": clean(out_var)}
    for l in range(n_layers):
        a = f"transformer/layer_{l}/attn/"
        m = f"transformer/layer_{l}/mlp/"
        split = lambda w: w.reshape(d_model, heads, ks).transpose(1, 0, 2)
        tensors[f"blocks.{l}.attn.W_Q"] = split(p[a + "query"]["w"])
        tensors[f"blocks.{l}.attn.W_K"] = split(p[a + "key"]["w"])
        tensors[f"blocks.{l}.attn.W_V"] = split(p[a + "value"]["w"])
        tensors[f"blocks.{l}.attn.W_O"] = p[a + "linear"]["w"].reshape(heads, ks, d_model)
        for t, n in [("b_Q", "query"), ("b_K", "key"), ("b_V", "value")]:
            tensors[f"blocks.{l}.attn.{t}"] = p[a + n]["b"].reshape(heads, ks)
        tensors[f"blocks.{l}.attn.b_O"] = p[a + "linear"]["b"]
        tensors[f"blocks.{l}.mlp.W_in"] = p[m + "linear_1"]["w"]
        tensors[f"blocks.{l}.mlp.b_in"] = p[m + "linear_1"]["b"]
        tensors[f"blocks.{l}.mlp.W_out"] = p[m + "linear_2"]["w"]
        tensors[f"blocks.{l}.mlp.b_out"] = p[m + "linear_2"]["b"]
        for h in range(heads):
            wo = tensors[f"blocks.{l}.attn.W_O"][h]
            writes = nonzero_vars(wo.T, 0, labels)
            reads = {
                port: nonzero_vars(tensors[f"blocks.{l}.attn.W_{port.upper()}"][h], 0, labels)
                for port in "qkv"
            }
            circuit["blocks"].append(
                {"node": f"{l}.{h}", "kind": "head", "writes": writes, "reads": reads})
        w_in, w_out = tensors[f"blocks.{l}.mlp.W_in"], tensors[f"blocks.{l}.mlp.W_out"]
        groups = defaultdict(list)
        for j in range(d_mlp):
            w = nonzero_vars(w_out[j], 0, labels)
            # A selector width's MLP also clears the hidden dimension its head wrote.
            if len(w) > 1:
                w = [v for v in w if not v.endswith(HIDDEN)]
            assert len(w) <= 1, f"{name}: mlp{l} neuron {j} writes {w}"
            if w:
                groups[w[0]].append(j)
        for var, neurons in sorted(groups.items()):
            reads = nonzero_vars(w_in[:, neurons], 0, labels)
            circuit["blocks"].append({"node": f"mlp{l}", "kind": "mlp", "writes": [var],
                                      "neurons": neurons, "reads": {"in": reads}})
        if not groups:
            circuit["blocks"].append({"node": f"mlp{l}", "kind": "mlp", "writes": [],
                                      "reads": {"in": []}})
        assert not np.any(p[m + "linear_2"]["b"]) and not np.any(p[a + "linear"]["b"])

    config = {
        "n_layers": n_layers, "n_heads": heads, "d_model": d_model, "d_head": ks,
        "d_mlp": d_mlp, "d_vocab": len(enc), "d_vocab_out": len(out_cols),
        "n_ctx": max_len + 1, "pad_token": enc[PAD],
    }

    sops = [d["EXPR"] for _, d in graph.nodes(data=True)
            if isinstance(d["EXPR"], rasp.SOp)]
    names = {s.label: clean(s.label) for s in sops}
    names.update({v: clean(v) for v in PRIMITIVES})
    assert len(set(names.values())) == len(names), names
    rows = []
    check = []
    for x in inputs:
        decoded = model.apply([BOS] + x).decoded[1:]
        want = rasp.evaluate(prog, x)
        assert all(close(a, b) for a, b in zip(decoded, want)), (name, x, decoded, want)
        row = {"tokens": [enc[BOS]] + [enc[t] for t in x], "len": len(x),
               "scored": [False] + [True] * len(x)}
        if numerical:
            row["target"] = [0.0] + [float(v) for v in want]
        else:
            row["label"] = [0] + [model.output_encoder.encoding_map[v] for v in want]
        for s in sops:
            vals = rasp.evaluate(s, x)
            row[names[s.label]] = [AT_BOS] + [str(v) for v in vals]
        row["tok"] = [AT_BOS] + [str(v) for v in x]
        row["idx"] = [AT_BOS] + [str(i) for i in range(len(x))]
        rows.append(row)
    return dict(model=model, tensors=tensors, config=config, circuit=circuit, rows=rows,
                names=names, inputs=inputs, numerical=numerical, labels=labels,
                enc=enc, max_len=max_len, out_var=out_var)


def close(a, b):
    if isinstance(a, float) or isinstance(b, float):
        return abs(float(a) - float(b)) < 1e-3
    return a == b


def residual_check(c):
    """Tracr's residual stream on the longest data and a few shorter ones. Tracr runs each
    unpadded (its padded forward is not pad-invariant: a numerical mean over every position
    moves by 1/3 in shuffle_dyck's layer 4); the tokens are padded as scrub feeds them, and
    positions past a datum's end hold zeros, never compared."""
    model, enc, n_ctx = c["model"], c["enc"], c["max_len"] + 1
    longest = [x for x in c["inputs"] if len(x) == c["max_len"]][: CHECK_DATA // 2]
    shorter = [x for x in c["inputs"] if len(x) < c["max_len"]][:: max(1, len(c["inputs"]) // 40)]
    pick = longest + shorter[: CHECK_DATA - len(longest)]
    toks, resid = [], []
    for x in pick:
        seq = [BOS] + x
        out = model.apply(seq)
        toks.append([enc[t] for t in seq + [PAD] * (n_ctx - len(seq))])
        r = np.stack([np.asarray(r[0], np.float32) for r in
                      [out.input_embeddings] + list(out.residuals)])
        full = np.zeros((r.shape[0], n_ctx, r.shape[2]), np.float32)
        full[:, : len(seq)] = r
        resid.append(full)
    return {"tokens": np.asarray(toks, np.int64), "residuals": np.stack(resid)}


def ron_str(s):
    return json.dumps(s)


def main():
    only = set(sys.argv[1:])
    vers = versions()
    for name, prog, vocab, max_len, inputs in programs():
        if only and name not in only:
            continue
        c = compile_one(name, prog, vocab, max_len, inputs)
        d = os.path.join(OUT, name)
        tmp = d + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(os.path.join(tmp, "hypotheses"))
        # safetensors writes an array's buffer as it lies: transposed views must be copied.
        tensors = {k: np.ascontiguousarray(v) for k, v in c["tensors"].items()}
        save_file(tensors, os.path.join(tmp, "model.safetensors"))
        save_file(residual_check(c), os.path.join(tmp, "check.safetensors"))
        cfg = c["config"]
        with open(os.path.join(tmp, "config.ron"), "w") as f:
            f.write(f"// Tracr's compiled `{name}`: no LayerNorm, ReLU MLPs, attention both ways,\n"
                    "// [PAD] keys masked. Written by ../../compile.py.\n(\n")
            for k in ["n_layers", "n_heads", "d_model", "d_head"]:
                f.write(f"    {k}: {cfg[k]},\n")
            f.write(f"    d_mlp: Some({cfg['d_mlp']}),\n")
            for k in ["d_vocab", "d_vocab_out", "n_ctx"]:
                f.write(f"    {k}: {cfg[k]},\n")
            f.write("    act_fn: Relu,\n    normalization: None,\n    attention: Bidirectional,\n"
                    f"    positional: Standard,\n    pad_token: Some({cfg['pad_token']}),\n)\n")
        with open(os.path.join(tmp, "data.jsonl"), "w") as f:
            for r in c["rows"]:
                f.write(json.dumps(r) + "\n")
        circuit = dict(c["circuit"])
        circuit["variables"] = sorted(set(c["names"].values()))
        circuit["residual_labels"] = c["labels"]
        with open(os.path.join(tmp, "circuit.json"), "w") as f:
            json.dump(circuit, f, indent=1)
        with open(os.path.join(tmp, "versions.json"), "w") as f:
            json.dump(vers, f, indent=1)
        metric = ('SquaredError(target: "target", position: Where("scored"))' if c["numerical"]
                  else 'CrossEntropy(label: "label", position: Where("scored"))')
        feats = ", ".join(ron_str(v) for v in ["len"] + sorted(set(c["names"].values())))
        with open(os.path.join(tmp, "task.ron"), "w") as f:
            f.write(f"// Tracr's `{name}` compiled to a transformer; written by ../../compile.py.\n"
                    "Task(\n"
                    f"    description: {ron_str('Tracr ' + name + ': ' + (prog.label))},\n"
                    '    model: (config: "config.ron", weights: "model.safetensors"),\n'
                    '    dataset: "data.jsonl",\n'
                    f"    metric: {metric},\n"
                    f"    features: Some([{feats}]),\n"
                    '    groups: ["len"],\n'
                    ")\n")
        expect = []
        for h, (text, outcome) in hypotheses(c, name).items():
            with open(os.path.join(tmp, "hypotheses", f"{h}.ron"), "w") as f:
                f.write(text)
            expect.append(f'    "{h}": {outcome},\n')
        with open(os.path.join(tmp, "expect.ron"), "w") as f:
            f.write("// What `scrub groundtruth` must find: Exact (recovers the model's loss and\n"
                    "// survives the attack), Lower (clearly below the model, or exposed), Washout\n"
                    "// (scores higher than the adversary lets it keep, and is exposed).\n{\n"
                    + "".join(expect) + "}\n")
        shutil.rmtree(d, ignore_errors=True)
        os.rename(tmp, d)
        print(f"{name}: {len(c['rows'])} data, {cfg['n_layers']} layers, d_model {cfg['d_model']}, "
              f"{cfg['n_heads']} heads, d_mlp {cfg['d_mlp']}")
        for b in c["circuit"]["blocks"]:
            if b["writes"]:
                print(f"   {b['node']:>6} writes {b['writes']} reads {b['reads']}"
                      + (f" neurons {len(b['neurons'])}" if "neurons" in b else ""))


# ---------------------------------------------------------------------------------------
# Hypotheses, generated from what the weights read and write (circuit.json).


def ranges(ns):
    """`[0, 1, 2, 5]` -> `"0..3,5"` (the hypothesis files' rows syntax)."""
    out, i = [], 0
    while i < len(ns):
        j = i
        while j + 1 < len(ns) and ns[j + 1] == ns[j] + 1:
            j += 1
        out.append(str(ns[i]) if i == j else f"{ns[i]}..{ns[j] + 1}")
        i = j + 1
    return ",".join(out)


def feature_of(var):
    """The RASP variable a residual variable stands for (a selector width's hidden head
    output stands for the width)."""
    return clean(var[: -len(HIDDEN)] if var.endswith(HIDDEN) else var)


class Circuit:
    def __init__(self, circuit):
        self.blocks = [b for b in circuit["blocks"] if b["writes"]]
        self.output = circuit["output"]
        per_mlp = defaultdict(list)
        for b in self.blocks:
            if b["kind"] == "mlp":
                per_mlp[b["node"]].append(b)
        # An MLP computing several variables is split by neuron groups, one per variable.
        self.splits = {n: bs for n, bs in per_mlp.items() if len(bs) > 1}
        self.writer = {}
        for b in self.blocks:
            term = b["node"]
            if term in self.splits:
                term = f"{term}#{feature_of(b['writes'][0])}"
            b["term"] = term
            self.writer[b["writes"][0]] = b

    def rewrites(self, per_neuron=None):
        out = []
        for node, bs in sorted(self.splits.items()):
            groups = {}
            for b in bs:
                f = feature_of(b["writes"][0])
                if per_neuron is not None and b["term"] == per_neuron:
                    for j in b["neurons"]:
                        groups[f"{f}_n{j}"] = str(j)
                else:
                    groups[f] = ranges(b["neurons"])
            out.append(("Neurons", node, groups))
        return out

    def reads(self, b):
        return sorted({v for vs in b["reads"].values() for v in vs} - CONSTANT)

    def node(self, b, feature=None, drop=None, wrong=None):
        """The tree node for block `b`: agreeing with its parent on the variable it writes,
        recomputed from the blocks that write what it reads."""
        children = []
        for u in self.reads(b):
            if u == "tokens":
                children.append({"name": "emb", "feature": "tok[all]", "reads": ["emb"]})
            elif u == "pad":
                children.append({"name": "emb", "feature": "len", "reads": ["emb"]})
            else:
                w = self.writer[u]
                if w["term"] == drop:
                    continue
                children.append(self.node(w, wrong.get(w["term"]) if wrong else None,
                                          drop, wrong))
        seen, uniq = set(), []
        for c in children:
            if c["name"] not in seen:
                seen.add(c["name"])
                uniq.append(c)
        feat = feature or f"{feature_of(b['writes'][0])}[all]"
        n = {"name": b["term"], "feature": feat}
        # A block whose input was dropped is still recomputed, from unimportant inputs.
        dropped = any(self.writer[u]["term"] == drop for u in self.reads(b) if u in self.writer)
        if uniq or dropped:
            n["computes"] = b["term"]
            if uniq:
                n["inputs"] = uniq
        else:
            n["reads"] = [b["term"]]
        return n

    def root(self, **kw):
        top = self.writer[self.output_var]
        feature = (kw.get("wrong") or {}).get(top["term"])
        return {"name": "out", "feature": f"{self.output}[all]", "computes": "out",
                "inputs": [self.node(top, feature, **kw)] if top["term"] != kw.get("drop") else []}


def ron(node, indent=4):
    pad = " " * indent
    parts = [f'name: "{node["name"]}"']
    if "feature" in node:
        parts.append(f'feature: Some("{node["feature"]}")')
    if "rows" in node:
        parts.append(f'rows: Some("{node["rows"]}")')
    if "reads" in node:
        parts.append("reads: [" + ", ".join(f'"{r}"' for r in node["reads"]) + "]")
    if "computes" in node:
        parts.append(f'computes: Some("{node["computes"]}")')
    if not node.get("inputs"):
        return "Node(" + ", ".join(parts) + ")"
    inner = ",\n".join(pad + "        " + ron(c, indent + 8) for c in node["inputs"])
    return ("Node(\n" + "".join(pad + "    " + p + ",\n" for p in parts)
            + pad + "    inputs: [\n" + inner + ",\n" + pad + "    ],\n" + pad + ")")


def hypothesis(description, comment, rewrites, root):
    rw = ""
    if rewrites:
        items = []
        for kind, term, arg in rewrites:
            if kind == "Neurons":
                g = ", ".join(f'"{k}": "{v}"' for k, v in arg.items())
                items.append(f'Neurons(term: "{term}", groups: {{{g}}})')
            else:
                items.append(f'Mask(term: "{term}", mask: "{arg}")')
        rw = "    rewrites: [\n" + "".join(f"        {i},\n" for i in items) + "    ],\n"
    return (f"// {comment}\n// Generated by ../../compile.py from circuit.json.\nHypothesis(\n"
            f'    scenario: "..",\n    description: {json.dumps(description)},\n{rw}'
            f"    root: {ron(root)},\n)\n")


def function_of(rows, a, b):
    """Whether column `b` (whole sequences) is a function of column `a` over the data."""
    seen = {}
    for r in rows:
        ka, kb = feature_key(r, a), feature_key(r, b)
        if seen.setdefault(ka, kb) != kb:
            return False
    return True


def feature_key(r, f):
    if f.endswith("[all]"):
        return tuple(r[f[:-5]])
    if f.endswith("]"):
        c, i = f[:-1].split("[")
        i = int(i)
        return r[c][i] if i < len(r[c]) else None
    return r[f]


def hypotheses(c, name):
    """The true hypothesis and the three planted false ones, with what each must show."""
    circ = Circuit(c["circuit"])
    circ.output_var = c["out_var"]
    top = circ.writer[circ.output_var]
    # The block the false hypotheses are wrong about: the MLP nearest the output (its
    # hidden neurons are the parts the washout samples apart), else the output's writer.
    target, queue = top, [top]
    while queue:
        b = queue.pop(0)
        if b["kind"] == "mlp" and len(b["neurons"]) > 1:
            target = b
            break
        queue += [circ.writer[u] for u in circ.reads(b) if u in circ.writer]
    true_feature = f"{feature_of(target['writes'][0])}[all]"
    rows = c["rows"]
    # The wrong variable: a coarsening of the true one (a function of it that does not
    # determine it), so that parts drawn apart could average towards the truth; else any
    # feature that does not determine it.
    names = sorted(set(c["names"].values()))
    n_pos = c["max_len"] + 1
    candidates = [f"{v}[all]" for v in names if v != "tok"]
    candidates += [f"{v}[{i}]" for v in names for i in range(1, n_pos)] + ["len"]
    wrong = [f for f in candidates
             if f != true_feature and not function_of(rows, f, true_feature)]
    coarse = [f for f in wrong if function_of(rows, true_feature, f)]
    # A coarsening: the coarsest with two values at least, so the claim is clearly wrong;
    # otherwise the most informative feature that does not determine the truth.
    distinct = lambda f: len({feature_key(r, f) for r in rows})
    coarse = [f for f in coarse if distinct(f) >= 2]
    if coarse:
        coarse.sort(key=lambda f: (distinct(f), f))
        wrong_f = coarse[0]
    else:
        wrong.sort(key=lambda f: (-distinct(f), f))
        wrong_f = wrong[0]
    tt = target["term"]
    files = {}
    files["true"] = (hypothesis(
        f"{name}: every block agrees with its parent on the variable it computes",
        "The true circuit: each block recomputed from the blocks that write what it reads.",
        circ.rewrites(), circ.root()), "Exact")
    files["left_out"] = (hypothesis(
        f"{name}: `{tt}` left out (unimportant)",
        f"Planted false: `{tt}`, which computes {true_feature}, is claimed not to matter.",
        circ.rewrites(), circ.root(drop=tt)), "Lower")
    files["wrong_var"] = (hypothesis(
        f"{name}: `{tt}` agrees on {wrong_f} instead of {true_feature}",
        f"Planted false: `{tt}` is claimed to compute {wrong_f}.",
        circ.rewrites(), circ.root(wrong={tt: wrong_f})), "Lower")
    # The washout, where the circuit allows one: a numerical output averaged over positions
    # by a head, whose value input is claimed to depend on `len` alone (wrong) with each
    # position drawn on its own datum. Within one datum the positions are correlated, so
    # drawn apart their errors average out under the squared error, as in paren 3c; tied
    # together (the adversary's move) they are the wrong-variable claim. Exact categorical
    # lookups and hard attention have no such average: split parts there give no output at
    # all, not a better one (see the README).
    if c["numerical"] and top["kind"] == "head":
        values = [circ.writer[u] for u in top["reads"]["v"] if u in circ.writer]
        if values:
            files.update(washout_by_rows(circ, values[0], c["max_len"] + 1, name))
    return files


def washout_by_rows(circ, supplier, n_ctx, name):
    """The wrong-variable claim about `supplier` (agrees on `len` only) as one tied node and
    as one node per position; both hypotheses, and the washout's expectation."""
    st = supplier["term"]

    def with_children(kids):
        root = circ.root()
        top = root["inputs"][0]
        top["inputs"] = [k for k in top.get("inputs", []) if k["name"] != st] + kids
        top["computes"] = top["name"]
        top.pop("reads", None)
        return root

    rows = [{"name": f"{st}[{i}]", "feature": "len", "rows": str(i), "reads": [st]}
            for i in range(n_ctx)]
    top_name = circ.writer[circ.output_var]["term"]
    paths = [f"out/{top_name}/{r['name']}" for r in rows]
    return {
        "wrong_var": (hypothesis(
            f"{name}: `{st}` depends on `len` only, not on its variable",
            f"Planted false: `{st}` (the averaged values) is claimed to depend on the length alone.",
            circ.rewrites(), with_children([{"name": st, "feature": "len", "reads": [st]}])),
            "Lower"),
        "washout": (hypothesis(
            f"{name}: `{st}` depends on `len` only, each position drawn on its own datum",
            f"Planted washout: the wrong claim about `{st}`, its positions sampled apart.",
            circ.rewrites(), with_children(rows)),
            "Washout(parts: [" + ", ".join(json.dumps(p) for p in paths) + "])"),
    }


if __name__ == "__main__":
    main()
