"""Writing models in the files scrub loads (`config.json` + `model.safetensors`).

Pure Python on numpy and safetensors: torch is never imported here, a torch tensor is
recognised by its methods, so this module imports (and its tests run) without PyTorch.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import uuid

import numpy as np
from safetensors.numpy import save_file

__all__ = ["transformer_lens"]

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


def transformer_lens(model, out_dir, *, overwrite=False) -> pathlib.Path:
    """Write a TransformerLens model as `out_dir/config.json` + `out_dir/model.safetensors`; return `out_dir`.

    `model` is a `HookedTransformer` or anything shaped like one: `model.cfg.to_dict()`
    returns the config dict and `model.state_dict()` maps names to torch tensors or numpy
    arrays.

    - `config.json` is `cfg.to_dict()` as JSON, values JSON cannot hold (torch dtypes,
      devices) written as their `str()`, like `json.dump(..., default=str)`.
    - `model.safetensors` holds every state_dict entry, contiguous and little-endian:
      floating-point tensors (float16, bfloat16, float64, ...) as float32; bool and integer
      buffers (TransformerLens's `attn.mask`) kept as they are, which scrub's loader accepts
      and ignores.

    The folder is written atomically (a temporary folder beside it, then renamed), so a
    failure leaves nothing behind. Raises `ValueError` naming the tensor for one that cannot
    be converted (complex, object, ...), and `FileExistsError` when `out_dir` exists and is
    not empty, unless `overwrite=True`, which replaces it.
    """
    out = pathlib.Path(out_dir)
    # Everything that can fail on the model's side happens before the filesystem is touched.
    config = json.dumps(model.cfg.to_dict(), default=str, indent=2) + "\n"
    tensors = {str(name): _to_numpy(str(name), t) for name, t in model.state_dict().items()}

    if out.exists() or out.is_symlink():
        if not out.is_dir():
            raise FileExistsError(f"{out} exists and is not a folder")
        if any(out.iterdir()) and not overwrite:
            raise FileExistsError(
                f"{out} exists and is not empty; pass overwrite=True to replace it"
            )
    out.parent.mkdir(parents=True, exist_ok=True)

    # Not tempfile.mkdtemp: its 0700 mode would become the exported folder's.
    tmp = _sibling(out, "tmp")
    tmp.mkdir()
    try:
        (tmp / CONFIG_NAME).write_text(config, encoding="utf-8")
        save_file(tensors, str(tmp / WEIGHTS_NAME))
        _replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _to_numpy(name: str, t) -> np.ndarray:
    """One state_dict entry as a contiguous little-endian array safetensors writes as is."""
    if hasattr(t, "detach"):  # a torch tensor
        try:
            t = t.detach().cpu()
            if t.is_complex():
                # .float() would silently drop the imaginary part.
                raise TypeError("complex")
            if t.is_floating_point():
                # bfloat16 has no numpy dtype: widen in torch first.
                t = t.float()
            arr = t.numpy()
        except Exception as e:
            raise ValueError(
                f"tensor {name!r} of dtype {getattr(t, 'dtype', type(t).__name__)} "
                f"cannot be exported ({e})"
            ) from None
    else:
        arr = np.asarray(t)
    kind = arr.dtype.kind
    if kind == "f":
        arr = arr.astype("<f4", copy=False)
    elif kind in "biu":
        arr = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
    else:
        raise ValueError(
            f"tensor {name!r} has dtype {arr.dtype}, which cannot be exported "
            "(only floating-point, integer and bool tensors can)"
        )
    # safetensors.numpy writes the raw buffer behind a view: a transposed or sliced array
    # would be saved with its elements in memory order, not index order. Not
    # np.ascontiguousarray: it turns a 0-d array (TransformerLens's `IGNORE`) into shape [1].
    return np.array(arr, order="C", copy=not arr.flags.c_contiguous)


def _sibling(out: pathlib.Path, what: str) -> pathlib.Path:
    """An unused hidden name beside `out`, on the same filesystem so renames are atomic."""
    return out.parent / f".{out.name}.{what}-{uuid.uuid4().hex[:12]}"


def _replace_dir(tmp: pathlib.Path, out: pathlib.Path) -> None:
    """Move the finished folder `tmp` to `out`, replacing an existing `out`."""
    if not out.exists():
        os.rename(tmp, out)
        return
    # A folder cannot be renamed over a non-empty one: move the old one aside first, and
    # put it back if the final rename fails.
    old = _sibling(out, "old")
    os.rename(out, old)
    try:
        os.rename(tmp, out)
    except BaseException:
        os.rename(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)
