"""A task from numpy arrays: written as a task directory (task.ron + a safetensors dataset)
and opened, so an in-memory task scrubs exactly like one on disk.

Pure Python on numpy and safetensors; the arrays are checked here so a wrong dtype or shape
is reported by column name before anything is written.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import tempfile
import uuid

import numpy as np
from safetensors.numpy import save_file

__all__ = ["task_from_arrays"]

DATASET = "data.safetensors"


def _ron_str(s: str) -> str:
    return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _column(name, value, n, length):
    """`value` as a [n] or [n, length] bool/int/float array, or a ValueError naming it."""
    a = np.asarray(value)
    if a.dtype.kind not in "biuf":
        raise TypeError(
            f"column {name!r}: dtype {a.dtype} is not bool, integer or float "
            "(strings: write a task directory with a folder of .npy columns)"
        )
    if a.shape not in ((n,), (n, length)):
        raise ValueError(
            f"column {name!r}: shape {a.shape}; expected ({n},) per datum or ({n}, {length}) "
            "per position, like tokens"
        )
    if a.dtype.kind == "u" and a.dtype.itemsize == 8:
        a = a.astype(np.int64)
    return np.array(a, order="C", copy=True)


def task_from_arrays(
    model,
    tokens,
    columns,
    metric,
    *,
    lengths=None,
    features=None,
    groups=(),
    description="a task from numpy arrays",
    pad_token=None,
    path=None,
):
    """Write a task directory from arrays and return its path (open it with `Task.from_dir`).

    - `model`: a model folder (`config.json` or `config.ron` with `model.safetensors`, e.g.
      what `scrub_cs.export.transformer_lens` writes), referred to by absolute path.
    - `tokens`: integer array [n, L]; `lengths` ([n] integers, each 1..L) when data are
      shorter than L (the rest of each row is ignored).
    - `columns`: name -> array [n] (one value per datum) or [n, L] (per position), bool,
      integer or float; labels, targets and features all come from here.
    - `metric`: the task.ron metric, e.g. `'CrossEntropy(label: "label", position: Last)'`.
    - `features`: the columns hypotheses may name (default: every column); `groups`: columns
      the results are broken down by.
    - `path`: the folder to write (must not exist); default a new temporary folder.

    Raises TypeError/ValueError naming the array at fault before anything is written.
    """
    t = np.asarray(tokens)
    if t.dtype.kind not in "iu":
        raise TypeError(f"tokens: dtype {t.dtype}; token ids must be integers")
    if t.ndim != 2 or t.shape[0] == 0 or t.shape[1] == 0:
        raise ValueError(f"tokens: shape {t.shape}; expected [n, L] with n, L >= 1")
    if (t < 0).any():
        raise ValueError("tokens: negative token ids")
    n, length = t.shape
    tensors = {"tokens": np.array(t, dtype=np.int64, order="C")}
    if lengths is not None:
        ls = np.asarray(lengths)
        if ls.dtype.kind not in "iu" or ls.shape != (n,):
            raise ValueError(f"lengths: dtype {ls.dtype}, shape {ls.shape}; expected ({n},) integers")
        if ls.min() < 1 or ls.max() > length:
            raise ValueError(f"lengths: values must lie in 1..{length}")
        tensors["lengths"] = np.array(ls, dtype=np.int64, order="C")
    if not columns:
        raise ValueError("columns: at least one column (a label or target) is needed")
    for name, value in columns.items():
        if name in ("tokens", "lengths"):
            raise ValueError(f"column {name!r}: the name is reserved")
        tensors[name] = _column(name, value, n, length)
    features = list(columns) if features is None else list(features)
    for f in list(features) + list(groups):
        if f not in columns:
            raise ValueError(f"{f!r} is named as a feature or group but is not a column")
    model = pathlib.Path(model).resolve()
    config = model / "config.ron"
    if not config.is_file():
        config = model / "config.json"
    if not config.is_file():
        raise FileNotFoundError(f"{model}: no config.ron or config.json (a model folder is needed)")
    pad = "None" if pad_token is None else f"Some({int(pad_token)})"
    manifest = (
        "Task(\n"
        f"    description: {_ron_str(description)},\n"
        f"    model: (config: {_ron_str(config)}, weights: {_ron_str(model / 'model.safetensors')}, pad_token: {pad}),\n"
        f"    dataset: {_ron_str(DATASET)},\n"
        f"    metric: {metric},\n"
        f"    features: Some([{', '.join(_ron_str(f) for f in features)}]),\n"
        f"    groups: [{', '.join(_ron_str(g) for g in groups)}],\n"
        "    baselines: None,\n"
        ")\n"
    )
    if path is None:
        out = pathlib.Path(tempfile.mkdtemp(prefix="scrub-task-"))
        out.rmdir()
    else:
        out = pathlib.Path(path)
        if out.exists():
            raise FileExistsError(f"{out} exists; choose a new folder")
    # Written beside the destination and renamed, so a failure leaves no half task.
    tmp = out.parent / f".{out.name}.{uuid.uuid4().hex}.tmp"
    tmp.mkdir(parents=True)
    try:
        save_file(tensors, str(tmp / DATASET))
        (tmp / "task.ron").write_text(manifest)
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
