"""The Python package against the command line: the same numbers for run, attack and join,
errors as exceptions with the CLI's messages, numpy in and out, Ctrl-C, progress, the GIL."""
import json
import os
import pathlib
import signal
import subprocess
import threading
import time

import numpy as np
import pytest

import scrub_cs as scrub

ROOT = pathlib.Path(__file__).resolve().parents[2]
TASK = ROOT / "examples" / "tasks" / "first_last"
COPY = TASK / "hypotheses" / "copy.ron"
MATCH = TASK / "hypotheses" / "match.ron"
PAREN = ROOT / "scenarios" / "paren" / "hypotheses"


def scrub_bin():
    """The scrub binary `cargo test` built beside the wheel (SCRUB_BIN overrides)."""
    path = pathlib.Path(os.environ.get("SCRUB_BIN", ROOT / "target" / "debug" / "scrub"))
    assert path.is_file(), f"{path}: build the binary first (cargo build -p scrub-scenarios)"
    return str(path)


def cli_json(*args):
    out = subprocess.run([scrub_bin(), *args, "--json", "--quiet"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def data_dir():
    d = os.environ.get("SCRUB_DATA")
    assert d, "SCRUB_DATA must name the shared models folder (the paren data)"
    return d


@pytest.fixture(scope="module")
def task():
    return scrub.Task.from_dir(TASK)


def same_as_cli(res, cli):
    for key in ["loss", "stderr", "pct_recovered", "accuracy", "samples", "seed"]:
        assert getattr(res, key) == cli[key], key
    d = res.to_dict()
    assert d["groups"] == cli["groups"]
    assert d["low"] == cli["low"] and d["high"] == cli["high"]


def test_run_on_a_task_gives_the_clis_numbers(task):
    h = scrub.Hypothesis.from_file(COPY)
    res = task.run(h, samples=300, seed=3, progress=False)
    same_as_cli(res, cli_json("run", str(COPY), "--samples", "300", "--seed", "3", "--executor", "cpu"))
    assert res.per_sample.shape == (300,) and res.per_sample.dtype == np.float64
    assert res.per_sample.mean() == pytest.approx(res.loss, rel=1e-12)
    assert not res.per_sample.flags.writeable
    assert res.references.dtype == np.uint32 and res.sample_range == (0, 300)
    # The hypothesis is wrong (see copy.ron): it loses much of the loss.
    assert res.pct_recovered < 90


def test_run_on_paren_gives_the_clis_numbers():
    paren = scrub.Task.builtin("paren", data_dir=data_dir())
    h = scrub.Hypothesis.from_file(PAREN / "1b.ron")
    res = paren.run(h, samples=200, seed=0, progress=False)
    cli = cli_json("run", str(PAREN / "1b.ron"), "--samples", "200", "--seed", "0",
                   "--data-dir", data_dir(), "--executor", "cpu")
    same_as_cli(res, cli)


def test_attack_gives_the_clis_report(task):
    h = scrub.Hypothesis.from_file(MATCH)
    rep = task.attack(h, budget=2, samples=200, seed=0, progress=False)
    out = pathlib.Path(os.environ.get("PYTEST_TMP", "/tmp")) / f"scrub-attack-{os.getpid()}"
    cli = cli_json("attack", str(MATCH), "--budget", "2", "--samples", "200", "--seed", "0",
                   "--executor", "cpu", "--out", str(out))
    assert rep.to_dict() == cli
    assert rep.survives == cli["survives"]
    assert rep.verdict in ("survives", "does not survive")
    assert isinstance(rep.rounds, list)
    assert "surviv" in rep.markdown().lower()


def test_attack_on_paren_gives_the_clis_report(tmp_path):
    paren = scrub.Task.builtin("paren", data_dir=data_dir())
    f = PAREN / "1b.ron"
    rep = paren.attack(scrub.Hypothesis.from_file(f), budget=1, samples=100, seed=0,
                       ties_only=True, progress=False)
    cli = cli_json("attack", str(f), "--budget", "1", "--samples", "100", "--seed", "0",
                   "--ties-only", "--data-dir", data_dir(), "--executor", "cpu",
                   "--out", str(tmp_path))
    assert rep.to_dict() == cli


def test_discover_finds_what_the_cli_finds_and_its_hypothesis_scores_again(tmp_path):
    hist = ROOT / "scenarios" / "groundtruth" / "tasks" / "hist"
    task = scrub.Task.from_dir(hist)
    found = scrub.discover(task, samples=200, seed=1, progress=False)
    cli = cli_json("discover", str(hist), "--samples", "200", "--seed", "1",
                   "--executor", "cpu", "--out", str(tmp_path))
    assert found.to_dict()["discovery"]["trials"] == cli["discovery"]["trials"]
    assert found.survives is True and found.f1 == 1.0
    text = found.to_ron()
    assert "// agrees with its parent on" in text
    # The hypothesis scores as the search measured it, from the object and from its text.
    again = task.run(found.hypothesis, samples=200, seed=1, progress=False)
    assert abs(again.pct_recovered - found.pct_recovered) < 1e-9
    reread = scrub.Hypothesis.from_str(text, name="found")
    assert task.run(reread, samples=200, seed=1, progress=False).loss == again.loss
    with pytest.raises(ValueError):
        scrub.discover(task, threshold=float("nan"))
    with pytest.raises(ValueError):
        scrub.discover(task, depth=0)
    # One level deep: the output's inputs read plainly, as the CLI's --depth 1 does.
    shallow = scrub.discover(task, samples=200, seed=1, depth=1, attack_budget=0,
                             progress=False)
    cli = cli_json("discover", str(hist), "--samples", "200", "--seed", "1", "--depth", "1",
                   "--no-attack", "--executor", "cpu", "--out", str(tmp_path))
    assert shallow.to_dict()["discovery"]["trials"] == cli["discovery"]["trials"]
    assert "stops at this depth" in shallow.to_ron()


def test_join_writes_what_the_cli_writes(tmp_path, task):
    a, b = scrub.Hypothesis.from_file(COPY), scrub.Hypothesis.from_file(MATCH)
    out = tmp_path / "joined.ron"
    subprocess.run([scrub_bin(), "join", str(COPY), str(MATCH), "-o", str(out), "--quiet"],
                   check=True, capture_output=True)
    joined = scrub.join(a, b)
    cli_text = out.read_text()
    # The CLI names the task relative to where it writes; the rest is the same.
    strip = lambda t: [l for l in t.splitlines() if "scenario:" not in l]
    assert strip(joined.to_ron()) == strip(cli_text)
    assert strip(task.join(a, b).to_ron()) == strip(cli_text)
    # A joined hypothesis scores like the file the CLI wrote.
    from_file = scrub.Hypothesis.from_str(cli_text, name="j")
    r1 = task.run(task.join(a, b), samples=100, seed=1, progress=False)
    r2 = task.run(from_file, samples=100, seed=1, progress=False)
    assert r1.loss == r2.loss


def test_shards_merge_exactly_and_pickle(task):
    import pickle

    h = scrub.Hypothesis.from_file(COPY)
    whole = task.run(h, samples=120, seed=5, progress=False)
    parts = [task.run(h, samples=120, seed=5, sample_range=r, progress=False)
             for r in [(70, 120), (0, 2), (2, 70)]]
    parts = [pickle.loads(pickle.dumps(p)) for p in parts]
    merged = scrub.merge(parts)
    assert (merged.loss, merged.stderr, merged.pct_recovered) == (whole.loss, whole.stderr, whole.pct_recovered)
    assert np.array_equal(merged.per_sample, whole.per_sample)
    assert merged.to_dict()["groups"] == whole.to_dict()["groups"]
    with pytest.raises(scrub.ScrubError, match="consecutive"):
        scrub.merge([parts[0], parts[1]])
    with pytest.raises(ValueError, match="sample_range"):
        task.run(h, samples=10, sample_range=(5, 11))


def test_a_hypothesis_built_from_a_dict_scores_like_its_file(task):
    h = scrub.Hypothesis.from_file(COPY)
    d = h.to_dict()
    assert d["root"]["name"] == "out" and d["scenario"] == ".."
    built = scrub.Hypothesis.from_dict(d, name="copy")
    assert built.to_ron() == h.to_ron()
    a = task.run(h, samples=50, seed=4, progress=False)
    b = task.run(built, samples=50, seed=4, progress=False)
    assert a.loss == b.loss
    # Written by hand: only the model's output is important, everything else resampled.
    tiny = scrub.Hypothesis.from_dict({"scenario": "..", "root": {"name": "out", "feature": "same", "computes": "out"}})
    assert task.run(tiny, samples=50, progress=False).samples == 50
    with pytest.raises(scrub.ScrubError, match="<dict>.*unknown field"):
        scrub.Hypothesis.from_dict({"scenario": "..", "root": {"name": "out"}, "colour": 1})


def test_errors_say_what_and_where(task, tmp_path):
    with pytest.raises(scrub.ScrubError, match=r"<mine>:\d+:\d+"):
        scrub.Hypothesis.from_str("Hypothesis(scenario: \"..\", root: Node(name: \"out\",", name="<mine>")
    bad = tmp_path / "bad.ron"
    bad.write_text('Hypothesis(\n  scenario: "..",\n  root: Node(name: "out", feature: Some("nope")),\n)\n')
    h = scrub.Hypothesis.from_file(bad)
    with pytest.raises(scrub.ScrubError, match="nope"):
        task.run(h, samples=10, progress=False)
    with pytest.raises(scrub.ScrubError, match="missing_dir"):
        scrub.Task.from_dir(tmp_path / "missing_dir")
    with pytest.raises(scrub.ScrubError, match="at least 2"):
        task.run(scrub.Hypothesis.from_file(COPY), samples=1)
    with pytest.raises(ValueError, match="executor"):
        task.run(scrub.Hypothesis.from_file(COPY), samples=10, executor="tpu")
    with pytest.raises(TypeError, match="progress"):
        task.run(scrub.Hypothesis.from_file(COPY), samples=10, progress="yes")


def test_model_logits_take_numpy_and_refuse_wrong_dtypes_and_shapes():
    m = scrub.Model.from_files(TASK / "config.json", TASK / "model.safetensors")
    toks = np.array([[1, 2, 3, 1], [2, 2, 0, 1]], dtype=np.int32)
    out = m.logits(toks)
    assert out.dtype == np.float32 and out.shape[:2] == (2, 4)
    assert np.array_equal(out[1], m.logits(toks[1:])[0]), "a sequence's logits do not depend on its batch"
    assert np.array_equal(out, m.logits(toks.tolist()))
    with pytest.raises(TypeError, match="integers"):
        m.logits(toks.astype(np.float32))
    with pytest.raises(ValueError, match=r"\[batch, pos\]"):
        m.logits(toks[0])
    with pytest.raises(scrub.ScrubError):
        m.logits(np.full((1, 3), 10_000))
    assert m.config["n_layers"] >= 1


def test_progress_callback_sees_the_work(task):
    seen = []
    task.run(scrub.Hypothesis.from_file(COPY), samples=64, progress=lambda d, n, label: seen.append((d, n, label)))
    assert seen and all(d <= n for d, n, _ in seen)
    assert any(d == n for d, n, _ in seen)
    assert {label for *_, label in seen} >= {"samples (copy)"}


def test_the_gil_is_released_while_the_engine_runs():
    paren = scrub.Task.builtin("paren", data_dir=data_dir())
    h = scrub.Hypothesis.from_file(PAREN / "4.ron")
    done = threading.Event()
    t = threading.Thread(target=lambda: (paren.run(h, samples=150, progress=False), done.set()))
    t.start()
    ticks = 0
    while not done.is_set():
        ticks += 1
        time.sleep(0.001)
    t.join()
    assert ticks > 50, f"the main thread ran {ticks} times while the engine ran"


def test_ctrl_c_interrupts_a_run_and_leaves_the_task_usable():
    paren = scrub.Task.builtin("paren", data_dir=data_dir())
    h = scrub.Hypothesis.from_file(PAREN / "4.ron")
    before = paren.run(h, samples=50, seed=2, progress=False)
    timer = threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    t0 = time.time()
    with pytest.raises(KeyboardInterrupt):
        paren.run(h, samples=200_000, progress=False)
    assert time.time() - t0 < 30, "the run did not stop promptly"
    after = paren.run(h, samples=50, seed=2, progress=False)
    assert (after.loss, after.stderr) == (before.loss, before.stderr)


def test_help_says_what_run_returns():
    assert "RunResult" in scrub.Task.run.__doc__
    assert "pct_recovered" in scrub.Task.run.__doc__
    assert "survives" in scrub.Task.attack.__doc__


def _first_last_arrays():
    rows = [json.loads(l) for l in (TASK / "data.jsonl").read_text().splitlines() if l.strip()]
    length = max(len(r["tokens"]) for r in rows)
    tokens = np.zeros((len(rows), length), dtype=np.int64)
    lengths = np.array([len(r["tokens"]) for r in rows])
    columns = {}
    for k in rows[0]:
        if k == "tokens":
            continue
        if isinstance(rows[0][k], list):
            col = np.zeros((len(rows), length), dtype=np.int64)
            for i, r in enumerate(rows):
                col[i, : len(r[k])] = r[k]
        else:
            col = np.array([r[k] for r in rows])
        columns[k] = col
    for i, r in enumerate(rows):
        tokens[i, : len(r["tokens"])] = r["tokens"]
    return tokens, lengths, columns


def test_a_task_from_numpy_arrays_scrubs_like_the_task_on_disk(task, tmp_path):
    tokens, lengths, columns = _first_last_arrays()
    metric = 'CrossEntropy(label: "label", position: Last)'
    mem = scrub.from_arrays(TASK, tokens, columns, metric, lengths=lengths,
                            features=["same", "first_tok", "last_tok", "tok"], groups=["label"],
                            path=tmp_path / "t")
    h = scrub.Hypothesis.from_file(COPY)
    a = mem.run(h, samples=200, seed=0, progress=False)
    b = task.run(h, samples=200, seed=0, progress=False)
    assert (a.loss, a.stderr, a.pct_recovered) == (b.loss, b.stderr, b.pct_recovered)
    with pytest.raises(TypeError, match="tokens"):
        scrub.from_arrays(TASK, tokens.astype(float), columns, metric)
    with pytest.raises(ValueError, match="column 'label'.*shape"):
        scrub.from_arrays(TASK, tokens, {**columns, "label": columns["label"][:-1]}, metric)
    with pytest.raises(TypeError, match="column 'name'.*dtype"):
        scrub.from_arrays(TASK, tokens, {**columns, "name": np.array(["x"] * len(tokens))}, metric)
    with pytest.raises(ValueError, match="lengths"):
        scrub.from_arrays(TASK, tokens, columns, metric, lengths=lengths + 100)
    with pytest.raises(scrub.ScrubError, match="nolabel"):
        scrub.from_arrays(TASK, tokens, columns, 'CrossEntropy(label: "nolabel", position: Last)',
                          lengths=lengths)
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())
