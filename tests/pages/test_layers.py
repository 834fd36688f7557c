"""The across-layers page, driven by AppTest on the bundled MiniLM and a tiny GPT-2."""
import numpy as np
import pytest

from adapters import open_model
from adapters.views import matrix
from reporting.layers import section
from tests.pages.apptest import errors, run_page
from tests.pages.vega import charts, titled
from topics import layers as topic

PAGE = "pages/layers.py"


def _reading(at):
    return [m.value for m in at.markdown if "departs most" in m.value]


def test_bundled_model_shows_band_box_and_reading(minilm_dir):
    at = run_page(PAGE)
    assert not errors(at), errors(at)
    band = titled(at, "attn.W_QKV across layers")
    model = open_model(minilm_dir)
    w = matrix(model, "blocks.2.attn.W_QKV").values.astype(np.float64)
    (row2,) = [r for r in band.data[0] if r["layer"] == 2]
    assert (row2["mean"], row2["std"], row2["max"]) == pytest.approx((w.mean(), w.std(), w.max()))
    box = titled(at, "Per-row variance per layer (box)")
    (box2,) = [r for r in box.data[0] if r["layer"] == 2]
    assert box2["median"] == pytest.approx(np.median(w.var(axis=1)))
    assert not [c for c in charts(at) if "violin" in c.title]
    result = topic.compute(model)
    assert _reading(at) == [topic.reading(result)] == [section(result).reading]  # the page and the report agree


def test_shape_and_slot_change_what_is_shown():
    at = run_page(PAGE)
    at.radio(key="layers_shape").set_value("violin").run()
    violin = titled(at, "Per-row variance per layer (violin)")
    assert sum(violin.rows) == 6 * 64 and not [c for c in charts(at) if "(box)" in c.title]
    before = _reading(at)
    at.selectbox(key="layers_slot").set_value("mlp.W_in").run()
    assert not errors(at), errors(at)
    assert titled(at, "mlp.W_in across layers") and _reading(at) != before and "`mlp.W_in`" in _reading(at)[0]


def test_tiny_gpt2(tmp_path):
    from tests.adapters.harness import build
    _, model = build("gpt2", tmp_path, n_embd=32, n_layer=3, n_head=2, vocab_size=60, n_positions=16)
    at = run_page(PAGE, source=str(tmp_path), layers_shape="both")
    assert not errors(at), errors(at)
    band = titled(at, "attn.W_QKV across layers")
    stored = model.raw("transformer.h.1.attn.c_attn.weight").astype(np.float64)  # Conv1D [in, out] = W_QKV
    assert band.data[0][1]["std"] == pytest.approx(stored.std())
    assert len(charts(at)) == 3 and _reading(at)
