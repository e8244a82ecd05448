#!/usr/bin/env python3
"""Convert a PyTorch state dict (.pt / .pth) to safetensors, the only weights format scrub reads.

    python3 scripts/pt_to_safetensors.py brackets_model_state_dict.pt brackets_model.safetensors

Needs `torch` and `safetensors` (pip install torch safetensors). Tensor names are kept as
they are (TransformerLens naming for a HookedTransformer's state dict); every tensor is
written as a contiguous copy, in its own dtype (scrub widens F16/BF16 to F32 on load).
"""
import sys


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    src, dst = sys.argv[1], sys.argv[2]
    import torch
    from safetensors.torch import save_file

    state = torch.load(src, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        print(f"{src}: not a state dict (got {type(state).__name__}); save model.state_dict()", file=sys.stderr)
        return 1
    tensors = {k: v.detach().contiguous() for k, v in state.items() if isinstance(v, torch.Tensor)}
    skipped = sorted(set(state) - set(tensors))
    if skipped:
        print(f"{src}: skipped non-tensor entries: {', '.join(skipped)}", file=sys.stderr)
    save_file(tensors, dst)
    print(f"wrote {dst}: {len(tensors)} tensors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
