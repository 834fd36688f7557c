"""The experts page, and picking one expert on the per-layer pages, driven by AppTest on a tiny Mixtral."""
import numpy as np
import pytest

from reporting.experts import section
from tests.adapters.harness import build
from tests.pages.apptest import errors, run_page
from tests.pages.vega import titled
from topics import experts as topic

PAGE = "pages/experts.py"
TINY = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
            intermediate_size=48, vocab_size=101, max_position_embeddings=64, num_local_experts=5)


@pytest.fixture(scope="module")
def mixtral(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mixtral")
    _, model = build("mixtral", folder, **TINY)
    return str(folder), model


def test_page_shows_the_reports_reading_and_every_expert(mixtral):
    source, model = mixtral
    at = run_page(PAGE, source=source)
    assert not errors(at), errors(at)
    result = topic.compute(model, slot="mlp.experts.W_in", spectral=False)
    assert topic.reading(result) in [m.value for m in at.markdown]
    heat = titled(at, "std of mlp.experts.W_in, per layer and expert")
    cells = {(r["layer"], r["expert"]): r["value"] for r in heat.data[0]}
    assert len(cells) == 2 * 5
    expert3 = model.weight("blocks.1.mlp.experts.W_in", expert=3)
    assert cells[(1, 3)] == pytest.approx(float(expert3.astype(np.float64).std()), rel=1e-6)
    assert titled(at, "Router column norm ‖W_router[:, e]‖ per layer and expert")
    sim = topic.similarity(model, 0, "mlp.experts.W_in")
    assert topic.similarity_reading(sim, 0, "mlp.experts.W_in") in [m.value for m in at.markdown]


def test_alpha_metric_and_another_layer(mixtral):
    source, model = mixtral
    at = run_page(PAGE, source=source)
    at.selectbox(key="experts_metric").set_value("alpha").run()
    at.selectbox(key="experts_layer").set_value(1).run()
    assert not errors(at), errors(at)
    result = topic.compute(model, slot="mlp.experts.W_in", spectral=True)
    assert topic.reading(result) == section(result).reading and "median alpha" in topic.reading(result)
    assert titled(at, "alpha of mlp.experts.W_in, per layer and expert")
    assert titled(at, "Cosine between layer 1's experts").subtitle == "mlp.experts.W_in"


def test_one_expert_on_the_distributions_and_layers_pages(mixtral):
    source, model = mixtral
    at = run_page("pages/distributions.py", source=source)
    at.selectbox(key="distributions_matrix").set_value("mlp.experts.W_out").run()
    at.selectbox(key="distributions_expert").set_value(2).run()
    assert not errors(at), errors(at)
    w = model.weight("blocks.0.mlp.experts.W_out", expert=2).astype(np.float64)
    assert any(f"{w.std():.3g}" == m.value for m in at.metric)
    at = run_page("pages/layers.py", source=source)
    at.selectbox(key="layers_slot").set_value("mlp.experts.W_gate").run()
    at.selectbox(key="layers_slot_expert").set_value(4).run()
    assert not errors(at), errors(at)
    assert titled(at, "mlp.experts.4.W_gate across layers")


def test_a_dense_model_says_it_has_no_experts():
    at = run_page(PAGE)
    assert not errors(at) and topic.NOT_MOE in [i.value for i in at.info]


def test_one_expert_on_the_matrix_heatmaps_page(mixtral):
    source, model = mixtral
    at = run_page("pages/matrices.py", source=source)
    at.selectbox(key="matrices_name").set_value("blocks.1.mlp.experts.W_in").run()
    assert not errors(at), errors(at)
    assert at.slider(key="matrices_cols:blocks.1.mlp.experts.W_in").max == 5 * 48  # all experts side by side
    at.selectbox(key="matrices_expert").set_value(3).run()
    assert not errors(at), errors(at)
    assert at.slider(key="matrices_cols:blocks.1.mlp.experts.3.W_in").max == 48
