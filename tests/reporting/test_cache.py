"""reporting.cache, as report.py uses it: a second report is read back identical; stale or broken entries are
recomputed; the Vega script is kept among the assets."""
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
    monkeypatch.setattr(report_heads, "section", lambda result: calls.append(result))  # must not be needed
    assert _run(minilm_dir, tmp_path / "b") == first and not calls


def test_no_cache_stores_no_results_and_matches(minilm_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    cached = _run(minilm_dir, tmp_path / "a")[0]
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg2"))
    assert _run(minilm_dir, tmp_path / "b", "--no-cache")[0] == cached
    assert os.listdir(tmp_path / "xdg2" / "weights-explorer") == ["assets"]  # the Vega script only, no results


def test_vega_bundle_is_built_once_into_the_assets(minilm_dir, tmp_path, monkeypatch):
    """The script the HTML inlines is built in a child process and kept; the next report reads it."""
    import vl_convert

    from reporting import html
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    html_text = _run(minilm_dir, tmp_path / "a", "--no-cache")[1]
    (name,) = os.listdir(tmp_path / "xdg" / "weights-explorer" / "assets")
    stored = (tmp_path / "xdg" / "weights-explorer" / "assets" / name).read_text()
    assert name == html.bundle_name() and stored == vl_convert.javascript_bundle() and stored in html_text
    monkeypatch.setattr(html, "vega_bundle", lambda: pytest.fail("the installed bundle must be reused"))
    assert _run(minilm_dir, tmp_path / "b", "--no-cache")[1] == html_text


def test_shuffled_baselines_are_an_option_with_their_own_cache_entry(minilm_dir, tmp_path):
    model = open_model(minilm_dir)
    cache = SectionCache(str(tmp_path))
    (plain,) = report.build(model, ["spectral"], cache=cache)
    (shuffled,) = report.build(model, ["spectral"], cache=cache, options={"spectral": {"shuffled": True}})
    assert all(r["rand_alpha"] is None for r in plain.data)
    assert all(r["rand_alpha"] is not None for r in shuffled.data if r["alpha"] is not None)
    assert [r["alpha"] for r in plain.data] == [r["alpha"] for r in shuffled.data]  # the same real spectra
    assert cache.load(model, "spectral").data == plain.data
    assert cache.load(model, "spectral", {"shuffled": True}).data == shuffled.data


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


def test_the_cache_is_pruned_least_recently_used_first(minilm_dir, tmp_path):
    model = open_model(minilm_dir)
    cache = SectionCache(str(tmp_path))
    sections = dict(zip(["architecture", "positional", "layers"],
                        report.build(model, ["architecture", "positional", "layers"], cache=cache)))
    sizes = {f.name.split("-")[0]: f.stat().st_size for f in tmp_path.iterdir()}
    for age, topic in enumerate(["layers", "architecture", "positional"]):  # oldest first
        os.utime(tmp_path / next(f.name for f in tmp_path.iterdir() if f.name.startswith(topic)), (age, age))
    assert cache.load(model, "layers").data == sections["layers"].data  # read now: the most recent
    cache.max_bytes = sizes["layers"] + sizes["positional"]
    cache.prune()
    assert sorted(f.name.split("-")[0] for f in tmp_path.iterdir()) == ["layers", "positional"]
    assert cache.load(model, "architecture") is None and cache.load(model, "positional") is not None
