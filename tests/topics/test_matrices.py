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
