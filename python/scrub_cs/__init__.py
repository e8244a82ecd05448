"""scrub_cs: causal scrubbing of interpretability hypotheses, with an adversary.

The Python face of the scrub engine (Rust): open a task, score a hypothesis, attack it.

    import scrub_cs as scrub
    task = scrub.Task.from_dir("my_task/")
    h = scrub.Hypothesis.from_file("my_task/hypotheses/h1.ron")
    res = task.run(h, samples=2000, seed=0)      # res.loss, res.stderr, res.pct_recovered, res.per_sample
    rep = task.attack(h, budget=4)               # rep.verdict, rep.rounds, rep.to_dict()
    found = scrub.discover(task, threshold=90)    # found.hypothesis, found.survives, found.to_ron()

Engine errors raise ScrubError with the command line's messages; Ctrl-C stops a run and
raises KeyboardInterrupt.
"""
from ._native import (
    AttackReport,
    Discovery,
    Hypothesis,
    Model,
    RunResult,
    ScrubError,
    Task,
    discover,
    join,
    merge,
    set_memory_budget,
)
from . import arrays, export


def from_arrays(model, tokens, columns, metric, **kwargs):
    """A Task from numpy arrays (see `scrub_cs.arrays.task_from_arrays` for every argument):
    written as a task directory, then opened with `Task.from_dir`."""
    return Task.from_dir(arrays.task_from_arrays(model, tokens, columns, metric, **kwargs))


__all__ = [
    "AttackReport",
    "Discovery",
    "Hypothesis",
    "Model",
    "RunResult",
    "ScrubError",
    "Task",
    "arrays",
    "discover",
    "export",
    "from_arrays",
    "join",
    "merge",
    "set_memory_budget",
]
