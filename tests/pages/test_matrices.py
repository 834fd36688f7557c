"""The matrix heatmap page, driven by AppTest on the bundled MiniLM and a tiny GPT-2."""
from tests.pages.apptest import errors, run_page
from tests.pages.vega import charts

PAGE = "pages/matrices.py"
QKV0 = "blocks.0.attn.W_QKV"


def _heatmap(at):
    (chart,) = charts(at)
    return chart


def _cells(chart) -> dict:
    """The heatmap's cell layer (a per-head matrix adds a layer of head boundaries)."""
    return chart.spec["layer"][0] if "layer" in chart.spec else chart.spec


def test_bundled_model_shows_a_reduced_heatmap_and_a_reading():
    at = run_page(PAGE)
    assert not errors(at), errors(at)
    chart = _heatmap(at)
    assert chart.title == QKV0 and "384 × 1,152 reduced to" in chart.subtitle
    assert "largest magnitude" in chart.subtitle  # extremes kept by default
    assert sum(chart.rows) <= 4000
    enc = _cells(chart)["encoding"]
    assert enc["y"]["title"] == "d_model (input)" and enc["x"]["title"] == "head × d_head (output)"
    assert enc["color"]["scale"]["domain"][5] == 0  # the diverging scale is centred on 0
    assert any("largest L2 norm" in m.value for m in at.markdown)
    # W_QKV's cells name their head; lines mark the 36 heads' boundaries, thick between Q, K and V
    cells = chart.data[0]
    assert {c["head"] for c in cells if c["col_start"] == 0} == {"Q head 0"}
    assert {c["head"] for c in cells if c["col_start"] >= 1120} == {"V head 11"}
    rules = chart.data[1]
    assert sorted(r["at"] for r in rules) == [32 * h for h in range(1, 36)]
    assert {r["at"] for r in rules if r["width"] == 2.0} == {384, 768}
    assert "head boundaries (thick between Q, K and V)" in chart.subtitle


def test_zooming_in_shows_every_cell_and_changes_the_reading():
    at = run_page(PAGE)
    before = [m.value for m in at.markdown if "largest L2 norm" in m.value]
    at.slider(key=f"matrices_rows:{QKV0}").set_value((10, 40)).run()
    at.slider(key=f"matrices_cols:{QKV0}").set_value((100, 200)).run()
    assert not errors(at), errors(at)
    chart = _heatmap(at)
    assert "all 30 × 100 cells shown" in chart.subtitle and chart.rows[0] == 3000
    assert [r["at"] for r in chart.data[1]] == [128, 160, 192] and "thick" not in chart.subtitle  # Q heads 4-6
    cells = chart.data[0]
    assert min(c["row_start"] for c in cells) == 10 and max(c["col_end"] for c in cells) == 200
    after = [m.value for m in at.markdown if "largest L2 norm" in m.value]
    assert after and after != before and "30 × 100 window" in after[0]


def test_reduction_method_and_colours_change_the_chart():
    at = run_page(PAGE)
    maxabs = _heatmap(at)
    at.radio(key="matrices_method").set_value("mean").run()
    mean = _heatmap(at)
    assert "block mean" in mean.subtitle
    at.selectbox(key="matrices_colormap").set_value("purple–white–orange").run()
    at.radio(key="matrices_method").set_value("maxabs").run()
    maxabs = _heatmap(at)
    assert "largest magnitude" in maxabs.subtitle
    peak = lambda c: max(abs(r["value"]) for r in c.data[0])
    assert peak(maxabs) > 2 * peak(mean)  # extremes survive; means shrink towards 0
    assert _cells(maxabs)["encoding"]["color"]["scale"]["range"][0] == "#2d004b"


def test_image_view_sends_a_png_not_a_chart():
    at = run_page(PAGE)
    at.radio(key="matrices_view").set_value("Image (PNG)").run()
    assert not errors(at), errors(at)
    assert not charts(at)
    (img,) = at.get("image")
    assert "384 × 1,152 reduced to 384 × 576" in str(img.proto) and "white = 0" in str(img.proto)


def test_tiny_gpt2_raw_conv1d_is_labelled_input_output(tmp_path):
    from tests.adapters.harness import build
    build("gpt2", tmp_path, n_embd=32, n_layer=2, n_head=2, vocab_size=60, n_positions=16)
    at = run_page(PAGE, source=str(tmp_path))
    assert not errors(at), errors(at)
    assert "raw:transformer.h.1.attn.c_attn.weight" in at.selectbox(key="matrices_name").options
    at.selectbox(key="matrices_name").set_value("raw:transformer.h.1.attn.c_attn.weight").run()
    assert not errors(at), errors(at)
    chart = _heatmap(at)
    assert chart.spec["encoding"]["y"]["title"] == "input" and chart.spec["encoding"]["x"]["title"] == "output"
    assert "all 32 × 96 cells shown" in chart.subtitle
