"""Type stubs of the native module (the scrub engine, in Rust)."""
from os import PathLike
from typing import Any, Callable, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

_Path = Union[str, PathLike]
#: `progress=`: True (bars on stderr in a terminal; the default), False, or f(done, total, label).
_Progress = Union[bool, Callable[[int, int, str], Any], None]

class ScrubError(Exception):
    """An engine error; the message is the command line's (file, line, column, node, feature)."""

class Model:
    """A transformer in scrub's loaders, with its CPU reference logits."""
    @staticmethod
    def from_files(config: _Path, weights: _Path) -> "Model":
        """Loads a TransformerLens JSON (or scrub RON) config and safetensors weights."""
    @staticmethod
    def from_dir(path: _Path) -> "Model":
        """Loads config.ron/config.json + model.safetensors, or a Hugging Face folder."""
    def logits(self, tokens: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """Logits [batch, pos, d_vocab_out] of integer tokens [batch, pos]."""
    @property
    def config(self) -> dict:
        """The configuration as a dict (scrub's field names)."""

class Hypothesis:
    """A hypothesis file: which nodes matter and what each may be resampled on."""
    name: str
    @staticmethod
    def from_file(path: _Path) -> "Hypothesis":
        """Reads a hypothesis file (RON); errors name the file, line and column."""
    @staticmethod
    def from_str(text: str, name: str = "<string>") -> "Hypothesis":
        """Parses RON text; `name` appears in reports and errors."""
    @staticmethod
    def from_dict(d: dict, name: str = "<dict>") -> "Hypothesis":
        """Builds a hypothesis from a dict of the RON file's fields (see to_dict())."""
    def to_dict(self) -> dict:
        """The hypothesis as a dict (the form from_dict reads)."""
    def to_ron(self) -> str:
        """The hypothesis as RON text."""
    @property
    def scenario(self) -> str: ...
    @property
    def samples(self) -> int:
        """The file's default sample count."""
    @property
    def seed(self) -> int:
        """The file's default seed."""

class RunResult:
    """A scored hypothesis: `scrub run --json` with the per-sample losses."""
    @property
    def loss(self) -> float: ...
    @property
    def stderr(self) -> float: ...
    @property
    def pct_recovered(self) -> Optional[float]:
        """% loss recovered; None when the baselines are not clearly apart."""
    @property
    def accuracy(self) -> Optional[float]: ...
    @property
    def samples(self) -> int: ...
    @property
    def seed(self) -> int: ...
    @property
    def sample_range(self) -> Tuple[int, int]: ...
    @property
    def per_sample(self) -> npt.NDArray[np.float64]:
        """Scrubbed loss of each sample, in sample-index order (read-only)."""
    @property
    def low_per_sample(self) -> npt.NDArray[np.float64]: ...
    @property
    def high_per_sample(self) -> npt.NDArray[np.float64]: ...
    @property
    def references(self) -> npt.NDArray[np.uint32]:
        """Each sample's reference datum (index in the task's dataset)."""
    def to_dict(self) -> dict:
        """`scrub run --json`'s keys, plus sample_range and the per-sample `shard` record."""
    @staticmethod
    def from_dict(d: dict) -> "RunResult": ...

class AttackReport:
    """What the adversary did to a hypothesis, and the verdict."""
    survives: bool
    @property
    def verdict(self) -> str:
        """"survives" or "does not survive"."""
    @property
    def rounds(self) -> list: ...
    def to_dict(self) -> dict:
        """The report as `scrub attack --json` writes it."""
    def markdown(self) -> str: ...

class Task:
    """A scenario to scrub on: a task directory, or a built-in (paren, induction)."""
    @staticmethod
    def from_dir(path: _Path) -> "Task":
        """Opens a task directory (task.ron beside a model and a dataset)."""
    @staticmethod
    def builtin(
        name: str,
        data_dir: Optional[_Path] = None,
        balanced_fraction: Optional[float] = None,
        model_dir: Optional[_Path] = None,
    ) -> "Task":
        """Opens built-in `paren` (data_dir, balanced_fraction) or `induction` (model_dir)."""
    @property
    def name(self) -> str: ...
    def run(
        self,
        h: Hypothesis,
        samples: Optional[int] = None,
        seed: Optional[int] = None,
        sample_range: Optional[Tuple[int, int]] = None,
        executor: str = "cpu",
        progress: _Progress = None,
    ) -> RunResult:
        """Scores `h` by causal scrubbing; returns a RunResult (loss, stderr, pct_recovered, per_sample)."""
    def attack(
        self,
        h: Hypothesis,
        budget: int = 8,
        samples: Optional[int] = None,
        seed: Optional[int] = None,
        tolerance: float = 3.0,
        tolerance_stderrs: float = 3.0,
        prune_keep: int = 3,
        prune_divisor: int = 8,
        ties_only: bool = False,
        executor: str = "cpu",
        progress: _Progress = None,
    ) -> AttackReport:
        """Plays the adversary against `h`; returns an AttackReport (survives, rounds)."""
    def join(self, a: Hypothesis, b: Hypothesis) -> Hypothesis:
        """The hypothesis permitting exactly the swaps both permit."""

class Discovery:
    """A hypothesis found by `discover`, with its search's and its attack's report."""
    hypothesis: Hypothesis
    pct_recovered: float
    survives: Optional[bool]
    f1: Optional[float]
    def to_ron(self) -> str:
        """The hypothesis as RON, a comment before each node saying why it is there."""
    def to_dict(self) -> dict:
        """The report as `scrub discover` writes discover-<name>.json."""
    def markdown(self) -> str: ...

def discover(
    task: Task,
    threshold: float = 90.0,
    samples: int = 500,
    seed: int = 0,
    budget: int = 2000,
    attribution_pairs: int = 200,
    depth: Optional[int] = None,
    attack_budget: int = 4,
    executor: str = "cpu",
    progress: _Progress = None,
) -> Discovery:
    """Finds a hypothesis greedily (attribution orders, real scrubs decide), then attacks it."""

def merge(shards: Sequence[RunResult]) -> RunResult:
    """Results of one run split by sample_range, merged: the whole run's numbers exactly."""

def join(a: Hypothesis, b: Hypothesis, task: Optional[Task] = None) -> Hypothesis:
    """Joins two hypotheses about one scenario (opened from the first file, or `task`)."""

def set_memory_budget(size: str) -> None:
    """Sets the memory budget caches and sample batches are sized from, e.g. "3G" (as scrub --memory-budget)."""
