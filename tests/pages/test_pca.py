"""The PCA page, driven by AppTest on the bundled MiniLM and a tiny GPT-2."""
from adapters import open_model
from reporting.pca import section
from tests.pages.apptest import errors, run_page
from tests.pages.vega import charts, titled
from topics import pca as topic

PAGE = "pages/pca.py"


def _reading(at):
    return [m.value for m in at.markdown if "of the variance takes" in m.value]


def test_bundled_model_shows_counts_curves_scatter_and_a_reading(minilm_dir):
    at = run_page(PAGE)
    assert not errors(at), errors(at)
    counts = titled(at, "Components needed for 90%")
    assert [r["layer"] for r in counts.data[0]] == list(range(6))
    assert all(r["of"] == 384 for r in counts.data[0])
    curves = titled(at, "Cumulative explained variance")
    assert sorted({r["layer"] for r in max(curves.data, key=len)}) == list(range(6))  # 6 layers: all shown
    scatter = titled(at, "First two principal components")
    assert "all 2,304 rows" in scatter.subtitle  # 6 layers x 384 rows
    (text,) = _reading(at)
    low = min(r["components"] for r in counts.data[0])
    assert f"**{low}**" in text and "attn.W_QKV" in text
    result = topic.compute(open_model(minilm_dir))
    assert text == topic.reading(result) == section(result).reading  # the page and the report say the same


def test_layer_choice_slot_and_samples_change_what_is_shown():
    at = run_page(PAGE)
    at.multiselect(key="pca_layers").set_value([1, 4]).run()
    scatter = titled(at, "First two principal components")
    assert sorted({r["layer"] for r in scatter.data[0]}) == [1, 4] and "all 768 rows" in scatter.subtitle
    before = _reading(at)
    at.selectbox(key="pca_slot").set_value("mlp.W_out").run()
    assert not errors(at), errors(at)
    assert _reading(at) != before and "1,536 rows as samples" in _reading(at)[0]
    at.radio(key="pca_samples").set_value("columns").run()
    assert "384 columns as samples" in _reading(at)[0]
    at.multiselect(key="pca_layers").set_value([]).run()
    assert not errors(at) and len(charts(at)) == 1  # the cross-layer bars stay


def test_tiny_gpt2(tmp_path):
    from tests.adapters.harness import build
    build("gpt2", tmp_path, n_embd=32, n_layer=3, n_head=2, vocab_size=60, n_positions=16)
    at = run_page(PAGE, source=str(tmp_path))
    assert not errors(at), errors(at)
    counts = titled(at, "Components needed for 90%")
    assert [r["of"] for r in counts.data[0]] == [32, 32, 32]  # 32 rows (d_model) x 96 features
    assert _reading(at)
