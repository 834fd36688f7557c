"""report.py's section cache: a second report is read back identical; stale or broken entries are recomputed."""
import json
import os

import pytest

import report
from adapters import open_model
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


@pytest.fixture(autouse=True)
def _no_user_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "default-xdg"))  # never the user's cache
