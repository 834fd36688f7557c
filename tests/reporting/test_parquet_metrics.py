"""metrics.parquet: every report writes it, one row per model x tensor x slot x layer x head x metric, and its
numbers are the checkpoint's own (checked against numpy on the stored tensors, not against our code)."""
import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from safetensors.numpy import load_file

import report
from adapters import LoadError
from tests.adapters.harness import build
from topics import results


@pytest.fixture(scope="module")
def tiny_gpt2(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gpt2")
    build("gpt2", folder, n_embd=64, n_layer=2, n_head=4, n_positions=32, vocab_size=96)
    return folder


@pytest.fixture(scope="module")
def written(tiny_gpt2, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    assert report.main([str(tiny_gpt2), "--out", str(out), "--only", "spectral,stats", "--no-cache", "--quiet"]) == 0
    return out


def _value(rows, **where) -> float:
    found = [r["value"] for r in rows if all(r[k] == v for k, v in where.items())]
    assert len(found) == 1, where
    return found[0]


def test_the_file_has_the_tidy_columns_and_types(written):
    table = pq.read_table(written / results.FILE)
    assert table.column_names == list(results.COLUMNS)
    assert [str(t) for t in table.schema.types] == ["string", "string", "string", "string", "int32", "int32",
                                                   "string", "double"]


def test_statistics_are_the_stored_tensors_own(written, tiny_gpt2):
    rows = results.read(str(written / results.FILE))
    stored = load_file(str(tiny_gpt2 / "model.safetensors"))
    assert {r["tensor"] for r in rows if r["topic"] == "stats"} == set(stored)
    w = stored["transformer.h.1.mlp.c_fc.weight"].astype(np.float64)
    name = "transformer.h.1.mlp.c_fc.weight"
    assert _value(rows, topic="stats", tensor=name, metric="mean") == pytest.approx(w.mean(), abs=1e-6 * w.std())
    assert _value(rows, topic="stats", tensor=name, metric="std") == pytest.approx(w.std(), rel=1e-6)
    assert _value(rows, topic="stats", tensor=name, metric="max") == pytest.approx(w.max(), rel=1e-7)
    assert _value(rows, topic="stats", tensor=name, metric="count") == w.size


def test_spectral_numbers_are_the_singular_values_of_the_stored_matrix(written, tiny_gpt2):
    rows = results.read(str(written / results.FILE))
    w = load_file(str(tiny_gpt2 / "model.safetensors"))["transformer.h.1.mlp.c_fc.weight"].astype(np.float64)
    s2 = np.linalg.svd(w, compute_uv=False) ** 2  # GPT-2's Conv1D stores W_in as [d_model, d_mlp] already
    where = dict(topic="spectral", tensor="blocks.1.mlp.W_in", head=None)
    assert _value(rows, metric="stable_rank", **where) == pytest.approx(s2.sum() / s2.max(), rel=1e-5)
    assert _value(rows, metric="log_spectral_norm", **where) == pytest.approx(np.log10(s2.max()), rel=1e-5)
    wq = load_file(str(tiny_gpt2 / "model.safetensors"))["transformer.h.0.attn.c_attn.weight"][:, :64]
    head2 = wq[:, 32:48].astype(np.float64)  # head 2 of layer 0's W_Q: d_head 16
    s2 = np.linalg.svd(head2, compute_uv=False) ** 2
    value = _value(rows, topic="spectral", slot="attn.W_Q", layer=0, head=2, metric="stable_rank")
    assert value == pytest.approx(s2.sum() / s2.max(), rel=1e-6)


def test_one_row_per_record_and_metric_matching_report_json(written):
    rows = results.read(str(written / results.FILE))
    doc = json.loads((written / "report.json").read_text())
    n_spectral = sum("skipped" not in r for r in doc["spectral"])
    assert sum(r["topic"] == "spectral" for r in rows) == n_spectral * len(results.SPECTRAL_METRICS)
    assert sum(r["topic"] == "stats" for r in rows) == len(doc["stats"]) * len(results.STATS_METRICS)
    keys = [(r["topic"], r["tensor"], r["slot"], r["layer"], r["head"], r["metric"]) for r in rows]
    assert len(set(keys)) == len(keys)  # no row twice
    for record in doc["spectral"][:5]:
        got = _value(rows, topic="spectral", slot=record["slot"], layer=record["layer"], head=record["head"],
                     metric="alpha")
        assert got == record["alpha"]  # JSON's null and Parquet's null agree too


def test_a_cached_report_writes_the_same_table(tiny_gpt2, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    args = [str(tiny_gpt2), "--only", "spectral,stats", "--quiet"]
    assert report.main(args + ["--out", str(tmp_path / "a")]) == 0
    assert report.main(args + ["--out", str(tmp_path / "b")]) == 0  # served from the cache
    assert results.read(str(tmp_path / "a" / results.FILE)) == results.read(str(tmp_path / "b" / results.FILE))


def test_a_file_that_is_not_parquet_is_one_clear_error(tmp_path):
    bad = tmp_path / results.FILE
    bad.write_bytes(b"not parquet at all")
    with pytest.raises(LoadError, match="not a readable metrics.parquet"):
        results.read(str(bad))


def test_a_training_runs_report_writes_its_rows(tmp_path):
    steps = []
    for seed in (0, 1):
        folder = tmp_path / f"checkpoint-{seed + 1}"
        build("gpt2", folder, seed=seed, n_embd=32, n_layer=1, n_head=2, n_positions=16, vocab_size=64)
        steps.append(str(folder))
    out = tmp_path / "out"
    assert report.main(["--run", *steps, "--out", str(out), "--no-spectral-run", "--no-cache", "--quiet"]) == 0
    rows = results.read(str(out / results.FILE))
    doc = json.loads((out / "report.json").read_text())
    expected = doc["run"]["rows"]
    assert len(rows) == len(expected) and all(r["topic"] == "run" for r in rows)
    assert results.models(rows) == [c["label"] for c in doc["run"]["checkpoints"]]
    for got, want in zip(rows, expected):
        assert (got["model"], got["layer"], got["slot"], got["metric"]) == (
            want["checkpoint"], want["layer"], want["slot"], want["metric"])
        assert got["value"] == want["value"]
