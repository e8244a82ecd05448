"""PyTorch f32 matmul throughput (TF32 off): the yardstick for the WGSL matmul on a real GPU.

Usage: python3 benches/reference/torch_matmul.py [N ...]   (default 4096)
Prints one JSON line per size: {"n": N, "tflops": ..., "ms": ...}.
"""
import json
import sys

import torch

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
torch.set_float32_matmul_precision("highest")

for n in [int(a) for a in sys.argv[1:]] or [4096]:
    a = torch.randn(n, n, device="cuda", dtype=torch.float32)
    b = torch.randn(n, n, device="cuda", dtype=torch.float32)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    reps = 20
    start.record()
    for _ in range(reps):
        a @ b
    end.record()
    torch.cuda.synchronize()
    ms = start.elapsed_time(end) / reps
    print(json.dumps({"n": n, "ms": ms, "tflops": 2 * n**3 / (ms * 1e-3) / 1e12, "device": torch.cuda.get_device_name()}))
