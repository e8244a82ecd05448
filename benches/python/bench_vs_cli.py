"""Python vs the CLI on `scrub paren`-sized work: every paren hypothesis file (0a-4) scored
with its baselines, once through `scrub run FILE` per file and once through
`scrub_cs.Task.run` in one process, on the same samples and seed; prints seconds, the
ratio and whether the numbers agree.

    python benches/python/bench_vs_cli.py --scrub target/release/scrub \
        --data-dir ../shared/models --samples 2000 --repeat 3

Use a release wheel (`pip install ./python`) beside a release binary. The CLI's time
includes loading the paren data in every process, which the Python session does once;
`--load-each` makes Python reload it per file as well (the like-for-like figure).
"""
import argparse
import json
import pathlib
import statistics
import subprocess
import time

import scrub_cs as scrub

ROOT = pathlib.Path(__file__).resolve().parents[2]
FILES = sorted((ROOT / "scenarios" / "paren" / "hypotheses").glob("*.ron"))


def cli(scrub_bin, data_dir, samples, seed):
    out = {}
    for f in FILES:
        p = subprocess.run(
            [scrub_bin, "run", str(f), "--samples", str(samples), "--seed", str(seed),
             "--data-dir", data_dir, "--executor", "cpu", "--json", "--quiet"],
            capture_output=True, text=True, check=True)
        out[f.stem] = json.loads(p.stdout.strip().splitlines()[-1])["loss"]
    return out


def python(data_dir, samples, seed, load_each):
    out = {}
    task = None
    for f in FILES:
        if task is None or load_each:
            task = scrub.Task.builtin("paren", data_dir=data_dir)
        out[f.stem] = task.run(scrub.Hypothesis.from_file(f), samples=samples, seed=seed,
                               progress=False).loss
    return out


def timed(f):
    t0 = time.perf_counter()
    r = f()
    return time.perf_counter() - t0, r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scrub", required=True)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--load-each", action="store_true")
    a = ap.parse_args()
    tc, tp = [], []
    for _ in range(a.repeat):
        t, rc = timed(lambda: cli(a.scrub, a.data_dir, a.samples, a.seed))
        tc.append(t)
        t, rp = timed(lambda: python(a.data_dir, a.samples, a.seed, a.load_each))
        tp.append(t)
        assert rc == rp, f"numbers differ: {rc} vs {rp}"
    c, p = statistics.median(tc), statistics.median(tp)
    print(f"{len(FILES)} files x {a.samples} samples: CLI {c:.2f} s, Python {p:.2f} s "
          f"(median of {a.repeat}; Python/CLI = {p / c:.3f}; load each: {a.load_each}); losses identical")


if __name__ == "__main__":
    main()
