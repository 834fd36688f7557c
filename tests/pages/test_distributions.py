"""The distributions page, driven by AppTest on the bundled MiniLM and a tiny GPT-2."""
import json

import pytest

from adapters import open_model
from adapters.views import matrix
from analyses import distribution as dist
from reporting import distributions as report_section
from topics import distributions as topic
from tests.pages.apptest import errors, run_page
from tests.pages.vega import charts, titled

PAGE = "pages/distributions.py"


@pytest.fixture(scope="module")
def minilm(minilm_dir):
    return open_model(minilm_dir)


def _stats(model, name):
    return dist.describe(matrix(model, name).values)


def test_default_is_layer_0_qkv_with_numbers_from_the_analysis(minilm):
    at = run_page(PAGE)
    assert not errors(at), errors(at)
    assert at.selectbox(key="distributions_matrix").value == "attn.W_QKV"
    s = _stats(minilm, "blocks.0.attn.W_QKV")
    first = topic.matrix_reading(topic.describe(minilm, "blocks.0.attn.W_QKV"))
    assert any(m.value == first for m in at.markdown)
    result = topic.compute(minilm)
    across = topic.layers_reading(result)
    assert any(m.value == across for m in at.markdown)
    assert report_section.section(result).reading == f"{first} {across}"  # the page and the report say the same
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["excess kurtosis"] == f"{s.kurtosis:.3g}" and metrics["KS D"] == f"{s.ks_statistic:.3g}"
    hist = titled(at, "blocks.0.attn.W_QKV")
    assert all(sum(c.rows) <= 5000 for c in charts(at))
    assert sum(r["count"] for r in hist.data[0]) == 384 * 1152  # every value binned, none sent one by one
    titled(at, "Per layer")
    table = at.dataframe[0].value
    assert list(table["layer"]) == list(range(6)) and set(table["slot"]) == {"attn.W_QKV"}
    assert table["kurtosis"][3] == pytest.approx(_stats(minilm, "blocks.3.attn.W_QKV").kurtosis)
    config = json.loads(at.dataframe[0].proto.columns)  # tiny p-values as 1.29e-5, never 0.000000
    assert config["ks_pvalue"]["type_config"]["format"] == "scientific"
    # MiniLM's layer 0 W_QKV: its tails are real, not one value's, so no outlier is blamed
    text = " ".join(m.value for m in at.markdown)
    assert "excess kurtosis" in text and ("apart from one outlier" in text) == _stats(
        minilm, "blocks.0.attn.W_QKV").one_value_dominates


def test_layer_matrix_and_log_widgets_change_what_is_shown(minilm):
    at = run_page(PAGE)
    at.select_slider(key="distributions_layer").set_value(3).run()
    assert not errors(at), errors(at)
    titled(at, "blocks.3.attn.W_QKV")
    assert any(m.value == topic.matrix_reading(topic.describe(minilm, "blocks.3.attn.W_QKV")) for m in at.markdown)
    assert any(m.value.startswith("`blocks.3.attn.W_QKV`: 442,368 values") for m in at.markdown)

    at.toggle(key="distributions_log").set_value(True).run()
    spec = titled(at, "blocks.3.attn.W_QKV").spec
    assert '"type": "log"' in str(spec).replace("'", '"')

    at.selectbox(key="distributions_matrix").set_value("embed.W_E").run()
    assert not errors(at), errors(at)
    titled(at, "embed.W_E")
    assert not at.get("select_slider") and not [c for c in charts(at) if c.title == "Per layer"]

    raw = "raw:embeddings.position_embeddings.weight"
    at.selectbox(key="distributions_matrix").set_value(raw).run()
    assert not errors(at), errors(at)
    assert any(m.value.startswith(f"`{raw}`") for m in at.markdown)


def test_tiny_gpt2(tmp_path):
    from tests.adapters.harness import build
    _, model = build("gpt2", tmp_path, n_embd=32, n_layer=2, n_head=2, vocab_size=50, n_positions=16)
    at = run_page(PAGE, source=str(tmp_path))
    assert not errors(at), errors(at)
    table = at.dataframe[0].value
    assert len(table) == 2
    assert table["ks_statistic"][1] == pytest.approx(_stats(model, "blocks.1.attn.W_QKV").ks_statistic)
