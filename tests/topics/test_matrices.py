"""topics.matrices: a matrix's header, its window reduced and measured, and the words; on GPT-2 small and MiniLM."""
import numpy as np
import pytest

from adapters import open_model
from adapters.views import matrix
from analyses.matrices import downsample, matrix_stats
from charts import matrices as charts
from topics import matrices as topic


def _view(window, offset=(0, 0)):
    """A MatrixView of an arbitrary window, as compute builds it, without a model."""
    head = topic.Header(window.shape, "row", "column", "x")
    return topic.MatrixView(head, downsample(window, window.shape, "mean", offset), matrix_stats(window, offset))


def test_a_loud_row_reads_as_structure():
    window = np.random.default_rng(2).normal(size=(50, 80))
    window[17] *= 10
    text = topic.reading(_view(window, (200, 5)))
    assert "**217" in text and "systematically" in text


def test_iid_noise_reads_as_no_structure():
    assert "little row structure" in topic.reading(_view(np.random.default_rng(3).normal(size=(400, 500))))


def test_gpt2_small_shapes_orientation_and_reduction(gpt2_small):
    qkv = topic.header(gpt2_small, "blocks.0.attn.W_QKV")
    stored = topic.header(gpt2_small, "raw:transformer.h.0.attn.c_attn.weight")
    # Conv1D stores [in, out]; the schema's W_QKV is [input, output]: the same matrix, the same labels
    assert qkv.shape == stored.shape == (768, 2304)
    np.testing.assert_array_equal(matrix(gpt2_small, "blocks.0.attn.W_QKV").values,
                                  matrix(gpt2_small, "raw:transformer.h.0.attn.c_attn.weight").values)
    assert (qkv.rows, qkv.cols) == ("d_model (input)", "head × d_head (output)")
    assert (stored.rows, stored.cols) == ("input", "output")
    wte = gpt2_small.weight("embed.W_E")
    result = topic.compute(gpt2_small, "embed.W_E")
    blocks = result.blocks
    assert blocks.values.size <= topic.CELLS and "50,257 × 768 reduced to" in blocks.describe()
    weights = np.outer(np.diff(blocks.row_edges), np.diff(blocks.col_edges))
    assert (blocks.values * weights).sum() / weights.sum() == pytest.approx(wte.mean(dtype=np.float64), abs=1e-6)
    assert result.stats.shape == (50257, 768)  # the norms are of the whole window, not of the grid
    chart = charts.heatmap(blocks, "embed.W_E", "token", "d_model").to_dict()
    assert len(chart["datasets"][chart["data"]["name"]]) == blocks.values.size
    assert chart["encoding"]["y"]["title"] == "token"
    image = topic.compute(gpt2_small, "embed.W_E", as_image=True).blocks
    assert topic.PIXELS // 2 < image.values.shape[0] <= topic.PIXELS and image.values.shape[1] == 768  # 50-row blocks


def test_minilm_window_stats_and_image(minilm_dir):
    model = open_model(minilm_dir)
    window = matrix(model, "blocks.2.attn.W_QKV").values[10:74, 100:300]
    result = topic.compute(model, "blocks.2.attn.W_QKV", rows=(10, 74), cols=(100, 300), as_image=True)
    s = result.stats
    rn = np.linalg.norm(window.astype(np.float64), axis=1)
    assert s.top_rows[0] == (10 + int(np.argmax(rn)), pytest.approx(rn.max()))
    assert (s.rows_label, s.cols_label) == ("d_model (input)", "head × d_head (output)")
    blocks = result.blocks
    assert not blocks.reduced and blocks.row_edges[0] == 10 and blocks.col_edges[0] == 100
    img = charts.image(blocks, "blue–white–red", min_side=400)
    assert img.size == (200 * 2, 64 * 2)  # nearest-neighbour doubled to reach 400 px
    pixels = np.asarray(img)[::2, ::2].astype(int)
    biggest = np.unravel_index(np.argmax(window), window.shape)
    smallest = np.unravel_index(np.argmin(window), window.shape)
    peak = np.abs(window).max()
    if window[biggest] == peak:  # the most positive cell is the darkest red
        assert tuple(pixels[biggest]) == (0x67, 0x00, 0x1f)
    else:
        assert tuple(pixels[smallest]) == (0x05, 0x30, 0x61)


def test_a_window_with_nan_and_inf_says_how_many_and_where():
    window = np.random.default_rng(5).normal(size=(30, 40)).astype(np.float32)
    window[7, 9], window[20, 3] = np.nan, np.inf
    text = topic.reading(_view(window, (100, 50)))
    assert text.startswith("⚠️ This window holds 1 NaN and 1 Inf (first at row 107, col 59)")
    finite = window[np.isfinite(window)].astype(np.float64)
    assert f"over its {finite.size:,} finite values" in text and f"std {finite.std():.3g}" in text
    assert "largest L2 norm" in text


def test_all_nan_and_flat_windows_are_worded():
    assert "undefined" in topic.reading(_view(np.full((4, 5), np.nan, np.float32)))
    assert "is all zero" in topic.reading(_view(np.zeros((4, 5), np.float32)))
    assert "is constant (every value 0.5)" in topic.reading(_view(np.full((4, 5), 0.5, np.float32)))


def test_the_header_and_warning_see_the_whole_matrix(tmp_path):
    from safetensors.numpy import save_file
    from tests.adapters.harness import build
    _, model = build("gpt2", tmp_path / "m", n_embd=32, n_layer=1, n_head=2, vocab_size=60, n_positions=16)
    tensors = {n: np.array(model.raw(n)) for n in model.raw_names()}
    raw = "transformer.h.0.mlp.c_fc.weight"
    tensors[raw][2, 5] = np.nan
    tensors["transformer.h.0.mlp.c_proj.weight"][:] = 0
    save_file(tensors, str(tmp_path / "b.safetensors"))
    broken = open_model(str(tmp_path / "b.safetensors"))
    head = topic.header(broken, "raw:" + raw)
    assert head.nonfinite.nan == 1 and head.nonfinite.first == (2, 5)
    assert topic.warning("raw:" + raw, head).startswith(f"⚠️ `raw:{raw}` holds 1 NaN (first at row 2, col 5)")
    assert "all zero" in topic.warning("x", topic.header(broken, "raw:transformer.h.0.mlp.c_proj.weight"))
    assert topic.warning("x", topic.header(model, "raw:" + raw)) == ""
    view = topic.compute(broken, "raw:" + raw, rows=(0, 2))  # the window misses the NaN; the header does not
    assert view.stats.nonfinite is None and view.header.nonfinite.nan == 1
    chart = charts.heatmap(topic.compute(broken, "raw:" + raw).blocks, "t", "r", "c").to_dict()
    cells = chart["datasets"][chart["data"]["name"]]
    assert sum(c["missing"] for c in cells) == 1 and "1 NaN cell in grey" in chart["title"]["subtitle"][0]


def test_head_segments_tile_fused_qkv_with_grouped_kv_heads(tmp_path):
    from tests.adapters.harness import build
    from topics import matrices as topic_
    _, model = build("llama", tmp_path, hidden_size=32, num_hidden_layers=1, num_attention_heads=4,
                     num_key_value_heads=2, intermediate_size=48, vocab_size=50)
    head = topic_.header(model, "blocks.0.attn.W_QKV")  # d_head 8: Q 4 heads, K 2, V 2 -> 64 columns
    assert head.head_axis == "cols" and head.shape == (32, 64)
    assert [(s.start, s.stop, s.label) for s in head.heads] == (
        [(8 * h, 8 * h + 8, f"Q head {h}") for h in range(4)] + [(32 + 8 * h, 40 + 8 * h, f"K head {h}") for h in range(2)]
        + [(48 + 8 * h, 56 + 8 * h, f"V head {h}") for h in range(2)])
    # the column span of K head 1 in the fused matrix is W_K's head 1 (an independent check of the layout)
    import numpy as np
    from adapters.views import matrix
    np.testing.assert_array_equal(matrix(model, "blocks.0.attn.W_QKV").values[:, 40:48], model.weight("blocks.0.attn.W_K")[1])
    out = topic_.header(model, "blocks.0.attn.W_O")
    assert out.head_axis == "rows" and [s.label for s in out.heads] == [f"O head {h}" for h in range(4)]
    assert topic_.header(model, "blocks.0.mlp.W_in").heads == ()
