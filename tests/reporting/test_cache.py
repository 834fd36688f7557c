"""report.py's section cache: a second report is read back identical; stale or broken entries are recomputed."""
import json
import os

import numpy as np
import pytest

import report
from adapters import open_model
from analyses import heads
from reporting import heads as report_heads
from reporting.cache import SectionCache


def _run(src, out, *extra):
    assert report.main([src, "--out", str(out), "--quiet", "--only", "architecture,positional,heads", *extra]) == 0
    return json.loads((out / "report.json").read_text()), (out / "report.html").read_text()


def test_second_report_reads_the_cache(minilm_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    first = _run(minilm_dir, tmp_path / "a")
    stored = sorted(os.listdir(tmp_path / "xdg" / "weights-explorer" / "report"))
    assert [f.split("-")[0] for f in stored if not f.startswith("vega")] == ["architecture", "heads", "positional"]
    calls = []
    monkeypatch.setattr(report_heads, "section", lambda model: calls.append(model))  # must not be needed
    assert _run(minilm_dir, tmp_path / "b") == first and not calls


def test_no_cache_stores_nothing_and_matches(minilm_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    cached = _run(minilm_dir, tmp_path / "a")[0]
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg2"))
    assert _run(minilm_dir, tmp_path / "b", "--no-cache")[0] == cached
    assert not (tmp_path / "xdg2").exists()


def test_stale_or_broken_entries_are_misses(minilm_dir, tmp_path):
    cache = SectionCache(str(tmp_path))
    model = open_model(minilm_dir)
    (section,) = report.build(model, ["architecture"], cache=cache)
    assert cache.load(model, "architecture").data == section.data
    assert cache.load(open_model(minilm_dir, n_heads=3), "architecture") is None  # another config, another key
    (path,) = [p for p in tmp_path.iterdir()]
    path.write_text("{not json")
    assert cache.load(model, "architecture") is None
    path.write_text(json.dumps({"key": "something else", "section": {}}))
    assert cache.load(model, "architecture") is None


def test_low_memory_ward_matches_heads_ward():
    rng = np.random.default_rng(0)
    features = (rng.normal(size=(30, 20000)) * rng.uniform(0.1, 3, size=20000)).astype(np.float32)
    features[:, 7] = 2.0  # a constant column
    labels = [f"H{i}" for i in range(30)]
    want = heads.ward(features, labels)
    got = report_heads._ward_in_place(features.copy(), labels)
    np.testing.assert_allclose(got.linkage, want.linkage, rtol=1e-10)
    np.testing.assert_allclose(got.nearest, want.nearest, rtol=1e-10)
    assert list(got.neighbour) == list(want.neighbour)
    np.testing.assert_array_equal(heads.standardise(features), _standardised_in_place(features.copy()))


def _standardised_in_place(features):
    report_heads._ward_in_place(features, [str(i) for i in range(len(features))])
    return features


@pytest.fixture(autouse=True)
def _no_user_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "default-xdg"))  # never the user's cache
