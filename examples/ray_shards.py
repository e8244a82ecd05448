"""Scrub one hypothesis in shards on Ray workers, and merge the shards into one result.

    python examples/ray_shards.py TASK_DIR HYPOTHESIS.ron --samples 2000 --shards 4 --seed 0
    python examples/ray_shards.py examples/tasks/first_last \\
        examples/tasks/first_last/hypotheses/copy.ron --samples 2000 --shards 4 --check

Needs `pip install ray` and scrub_cs. Starts a local Ray (unless one is already up in this
process; `--num-cpus` caps it), puts one actor per worker (`--workers`, default 2), each
loading the task and hypothesis itself, splits the sample indices 0..samples into
`--shards` contiguous ranges, runs them round-robin on the actors and merges them with
`scrub_cs.merge`. Sample i is drawn from (seed, i) alone, so the merged result is the
single-process result to the last digit; `--check` runs that too and asserts it.
"""

import argparse
import math

import numpy as np
import ray

import scrub_cs


@ray.remote(num_cpus=1)
class ScrubWorker:
    """One Ray actor holding a loaded task and hypothesis."""

    def __init__(self, task_dir, hypothesis_path):
        # Built here from paths: the native Task and Hypothesis are not picklable.
        self.task = scrub_cs.Task.from_dir(str(task_dir))
        self.hypothesis = scrub_cs.Hypothesis.from_file(str(hypothesis_path))

    def run(self, samples, seed, sample_range, executor):
        """One shard's RunResult (it pickles through RunResult.from_dict)."""
        return self.task.run(
            self.hypothesis,
            samples=samples,
            seed=seed,
            sample_range=tuple(sample_range),
            executor=executor,
            progress=False,
        )


def shard_ranges(samples, shards):
    """`shards` contiguous (start, end) ranges covering 0..samples, sizes differing by at most 1."""
    if not 1 <= shards <= samples:
        raise ValueError(f"need 1 <= shards <= samples, got shards={shards}, samples={samples}")
    size, extra = divmod(samples, shards)
    bounds = [0]
    for i in range(shards):
        bounds.append(bounds[-1] + size + (i < extra))
    return list(zip(bounds, bounds[1:]))


def run_shards(task_dir, hypothesis_path, samples, seed, shards, workers, *, executor="cpu", num_cpus=None):
    """Run `samples` samples of the hypothesis in `shards` shards on `workers` Ray actors; return the merged RunResult."""
    if not ray.is_initialized():
        ray.init(num_cpus=num_cpus, include_dashboard=False)
    # Each actor takes one CPU: more workers than the cluster has CPUs would wait forever.
    cpus = ray.cluster_resources().get("CPU", 0)
    if workers > cpus:
        raise ValueError(f"{workers} workers need {workers} CPUs, but Ray has {cpus:g}")
    actors = [ScrubWorker.remote(str(task_dir), str(hypothesis_path)) for _ in range(workers)]
    try:
        futures = [
            actors[i % workers].run.remote(samples, seed, r, executor)
            for i, r in enumerate(shard_ranges(samples, shards))
        ]
        return scrub_cs.merge(ray.get(futures))
    finally:
        for a in actors:
            ray.kill(a)


def assert_same(merged, whole):
    """Assert two RunResults agree exactly (loss, stderr, % recovered, per-sample losses)."""
    for field in ["loss", "stderr", "pct_recovered", "samples", "seed"]:
        a, b = getattr(merged, field), getattr(whole, field)
        assert a == b, f"{field}: merged {a!r} != single-process {b!r}"
    assert tuple(merged.sample_range) == tuple(whole.sample_range), (merged.sample_range, whole.sample_range)
    a, b = np.asarray(merged.per_sample), np.asarray(whole.per_sample)
    assert a.dtype == b.dtype and np.array_equal(a, b), "per_sample differs"


def main():
    """Command line: run, merge, print, and with --check compare with a single-process run."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("task_dir")
    p.add_argument("hypothesis")
    p.add_argument("--samples", type=int, help="default: the hypothesis's own")
    p.add_argument("--seed", type=int, help="default: the hypothesis's own")
    p.add_argument("--shards", type=int, default=4)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--num-cpus", type=int, help="CPUs for the local Ray (default: all)")
    p.add_argument("--executor", default="cpu")
    p.add_argument("--check", action="store_true", help="also run in-process and assert equality")
    args = p.parse_args()

    h = scrub_cs.Hypothesis.from_file(args.hypothesis)
    samples = h.samples if args.samples is None else args.samples
    seed = h.seed if args.seed is None else args.seed
    merged = run_shards(
        args.task_dir, args.hypothesis, samples, seed, args.shards, args.workers,
        executor=args.executor, num_cpus=args.num_cpus,
    )
    pct = merged.pct_recovered
    pct = "n/a" if pct is None or math.isnan(pct) else f"{pct:.2f}%"
    print(f"{h.name}: {samples} samples, seed {seed}, {args.shards} shards on {args.workers} workers")
    print(f"loss {merged.loss:.6f} ± {merged.stderr:.6f}, recovered {pct}")
    if args.check:
        task = scrub_cs.Task.from_dir(args.task_dir)
        assert_same(merged, task.run(h, samples=samples, seed=seed, executor=args.executor, progress=False))
        print("check: identical to the single-process run")


if __name__ == "__main__":
    main()
