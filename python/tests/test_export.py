"""scrub_cs.export.transformer_lens, without torch: the TransformerLens fixtures stand in
for HookedTransformers (duck-typed), and scrub must run what was exported to
TransformerLens's own logits."""

import json
import pathlib

import numpy as np
import pytest
from safetensors.numpy import load_file

import scrub_cs
from scrub_cs import export

REPO = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = sorted(p for p in (REPO / "core" / "tests" / "fixtures" / "tl").iterdir() if p.is_dir())


class Cfg:
    """Stands in for HookedTransformerConfig: only to_dict() is used."""

    def __init__(self, d):
        self._d = d

    def to_dict(self):
        return dict(self._d)


class FakeModel:
    """Duck-typed HookedTransformer: `cfg.to_dict()` and `state_dict()`."""

    def __init__(self, cfg, state):
        self.cfg = Cfg(cfg)
        self._state = state

    def state_dict(self):
        return dict(self._state)


class FakeTensor:
    """The torch.Tensor methods the exporter calls, over a numpy array (CI has no torch)."""

    def __init__(self, a):
        self.a = np.asarray(a)
        self.dtype = f"torch.{self.a.dtype}"

    def detach(self):
        return self

    def cpu(self):
        return self

    def is_complex(self):
        return self.a.dtype.kind == "c"

    def is_floating_point(self):
        return self.a.dtype.kind == "f"

    def float(self):
        return FakeTensor(self.a.astype(np.float32))

    def numpy(self):
        return self.a


def fixture_model(d):
    """The fixture in `d` as the model it was exported from."""
    cfg = json.loads((d / "config.json").read_text())
    return FakeModel(cfg, load_file(str(d / "model.safetensors")))


def small_model(**state):
    """A model with a minimal config and the given state_dict."""
    return FakeModel({"n_layers": 1, "dtype": "torch.float32"}, state)


def test_fixtures_are_there():
    assert len(FIXTURES) >= 5, FIXTURES


@pytest.mark.parametrize("d", FIXTURES, ids=[d.name for d in FIXTURES])
def test_fixture_round_trips_and_runs_to_transformer_lens_logits(d, tmp_path):
    model = fixture_model(d)
    out = export.transformer_lens(model, tmp_path / "out")
    assert out == tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.safetensors"]

    assert json.loads((out / "config.json").read_text()) == model.cfg.to_dict()
    want = model.state_dict()
    got = load_file(str(out / "model.safetensors"))
    assert sorted(got) == sorted(want)
    for name, w in want.items():
        g = got[name]
        assert (g.dtype, g.shape) == (w.dtype, w.shape), name
        assert np.array_equal(g, w), name

    expected = load_file(str(d / "expected.safetensors"))["logits"]
    m = scrub_cs.Model.from_files(out / "config.json", out / "model.safetensors")
    rows = []
    for seq in json.loads((d / "tokens.json").read_text()):
        logits = m.logits(np.array(seq, dtype=np.int64)[None, :])
        assert isinstance(logits, np.ndarray) and logits.dtype == np.float32
        assert logits.shape == (1, len(seq), expected.shape[1])
        rows.append(logits[0])
    np.testing.assert_allclose(np.concatenate(rows), expected, rtol=0, atol=1e-4)


def test_non_empty_out_dir_is_refused(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        export.transformer_lens(fixture_model(FIXTURES[0]), out)
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_empty_out_dir_is_used(tmp_path):
    (tmp_path / "out").mkdir()
    out = export.transformer_lens(small_model(w=np.ones(2, np.float32)), tmp_path / "out")
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.safetensors"]


def test_overwrite_replaces_the_folder(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    (out / "model.safetensors").write_bytes(b"not safetensors")
    export.transformer_lens(fixture_model(FIXTURES[0]), out, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.safetensors"]
    assert load_file(str(out / "model.safetensors"))
    # Neither the temporary folder nor the replaced one is left beside it.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize(
    "bad, dtype",
    [
        (np.array([1 + 2j, 3j], dtype=np.complex64), "complex64"),
        (np.array([{"a": 1}, None], dtype=object), "object"),
        (FakeTensor(np.array([1j], dtype=np.complex128)), "complex128"),
    ],
    ids=["complex", "object", "torch-complex"],
)
def test_unconvertible_tensor_raises_and_writes_nothing(tmp_path, bad, dtype):
    model = small_model(**{"embed.W_E": np.ones((2, 2), np.float32), "blocks.0.odd": bad})
    with pytest.raises(ValueError, match=rf"'blocks\.0\.odd'.*{dtype}"):
        export.transformer_lens(model, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_failure_while_writing_leaves_nothing(tmp_path, monkeypatch):
    def broken(tensors, path):
        pathlib.Path(path).write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(export, "save_file", broken)
    with pytest.raises(OSError, match="disk full"):
        export.transformer_lens(small_model(w=np.ones(2, np.float32)), tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_dtypes_and_layouts(tmp_path):
    a = np.arange(12, dtype=np.float64).reshape(3, 4) / 7
    model = small_model(
        f64=a,
        f16=a.astype(np.float16),
        big_endian=a.astype(">f4"),
        transposed=a.astype(np.float32).T,  # a view: its buffer is in the other order
        torch_like=FakeTensor(a),
        mask=np.tril(np.ones((3, 3), dtype=bool)),
        ids=np.arange(3, dtype=np.int64),
    )
    out = export.transformer_lens(model, tmp_path / "out")
    got = load_file(str(out / "model.safetensors"))
    for name in ["f64", "torch_like"]:
        assert got[name].dtype == np.float32
        assert np.array_equal(got[name], a.astype(np.float32)), name
    assert got["f16"].dtype == np.float32
    assert np.array_equal(got["f16"], a.astype(np.float16).astype(np.float32))
    assert got["big_endian"].dtype == np.float32
    assert np.array_equal(got["big_endian"], a.astype(np.float32))
    assert np.array_equal(got["transposed"], a.astype(np.float32).T)
    assert got["mask"].dtype == np.bool_ and np.array_equal(got["mask"], np.tril(np.ones((3, 3)) > 0))
    assert got["ids"].dtype == np.int64 and np.array_equal(got["ids"], np.arange(3))


def test_config_values_json_cannot_hold_become_strings(tmp_path):
    class Dtype:
        def __str__(self):
            return "torch.float32"

    model = FakeModel({"dtype": Dtype(), "n_layers": 2, "rotary_base": None}, {})
    out = export.transformer_lens(model, tmp_path / "out")
    assert json.loads((out / "config.json").read_text()) == {
        "dtype": "torch.float32",
        "n_layers": 2,
        "rotary_base": None,
    }


def test_help_says_what_it_writes():
    doc = export.transformer_lens.__doc__
    assert "config.json" in doc and "model.safetensors" in doc and "return" in doc
