"""examples/ray_shards.py: shards run on Ray actors merge to the single-process run exactly."""

import pathlib
import sys

import pytest
import ray

import scrub_cs

REPO = pathlib.Path(__file__).resolve().parents[2]
TASK = REPO / "examples" / "tasks" / "first_last"
sys.path.insert(0, str(REPO / "examples"))
import ray_shards  # noqa: E402


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray for the module (its start-up is most of the test's time)."""
    ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True)
    yield
    ray.shutdown()


def test_shard_ranges_are_contiguous_and_uneven():
    assert ray_shards.shard_ranges(400, 3) == [(0, 134), (134, 267), (267, 400)]
    with pytest.raises(ValueError):
        ray_shards.shard_ranges(2, 3)


@pytest.mark.parametrize("hypothesis", ["copy", "match"])
def test_merged_shards_equal_the_single_process_run(local_ray, hypothesis):
    path = TASK / "hypotheses" / f"{hypothesis}.ron"
    merged = ray_shards.run_shards(TASK, path, samples=400, seed=0, shards=3, workers=2)
    whole = scrub_cs.Task.from_dir(str(TASK)).run(
        scrub_cs.Hypothesis.from_file(str(path)), samples=400, seed=0, progress=False
    )
    assert merged.samples == 400 and tuple(merged.sample_range) == (0, 400)
    assert len(merged.per_sample) == 400
    ray_shards.assert_same(merged, whole)
