"""A results folder (report.py --out) opened in the app: the spectral and health pages show its numbers, and
the spectral reading is the one the live scan of the same weights gives."""
import shutil

import pytest

import report
from adapters import open_model
from tests.adapters.harness import build
from tests.pages.apptest import errors, run_page
from topics import results, spectral
from ui.picker import RESULTS, _choice_for


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    weights = tmp_path_factory.mktemp("gpt2")
    build("gpt2", weights, n_embd=64, n_layer=2, n_head=4, n_positions=32, vocab_size=96)
    out = tmp_path_factory.mktemp("results")
    assert report.main([str(weights), "--out", str(out), "--only", "spectral,stats", "--no-cache", "--quiet"]) == 0
    return str(weights), str(out)


def test_the_tables_spectra_read_as_the_live_scan(written):
    weights, out = written
    live = spectral.compute(open_model(weights))
    from_table = results.spectra(results.read(results.path_in(out)))
    assert spectral.reading(from_table) == spectral.reading(live)
    assert [r["alpha"] for r in from_table.heads] == pytest.approx([r["alpha"] for r in live.heads])


def test_spectral_page_shows_the_folder_without_weights(written, tmp_path):
    weights, out = written
    folder = tmp_path / "only-results"  # no weights next to it: the page must not need them
    folder.mkdir()
    shutil.copy(results.path_in(out), folder / results.FILE)
    at = run_page("pages/spectral.py", source=str(folder))
    assert not errors(at)
    assert len(at.get("vega_lite_chart")) + len(at.get("arrow_vega_lite_chart")) >= 1
    live = spectral.reading(spectral.compute(open_model(weights)))
    assert any(md.value == live for md in at.markdown)


def test_health_page_lists_every_stored_tensor(written):
    weights, out = written
    at = run_page("pages/health.py", source=out)
    assert not errors(at)
    (table,) = at.dataframe
    assert set(table.value["tensor"]) == set(open_model(weights).raw_names())


def test_the_picker_recognises_a_results_folder(written):
    _, out = written
    assert _choice_for(out, ["x", RESULTS]) == RESULTS
