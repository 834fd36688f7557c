"""The experts topic against independent oracles: transformers' own module weights, numpy, scikit-learn."""
import numpy as np
import pytest
from sklearn.metrics.pairwise import cosine_similarity

from analyses.spectral import diagnose
from tests.adapters.harness import build
from topics import architecture, experts

TINY = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
            intermediate_size=48, vocab_size=101, max_position_embeddings=64, num_local_experts=5,
            num_experts_per_tok=2)


@pytest.fixture(scope="module")
def mixtral(tmp_path_factory):
    return build("mixtral", tmp_path_factory.mktemp("mixtral"), **TINY)


def _module_experts(hf, layer):
    """Each expert's (W_gate, W_in, W_out) in [in, out] orientation, read off transformers' fused module."""
    mod = hf.model.layers[layer].mlp.experts
    gate_up = mod.gate_up_proj.detach().double().numpy()  # (n, 2*d_expert, d_model): gate rows, then up rows
    down = mod.down_proj.detach().double().numpy()  # (n, d_model, d_expert)
    half = gate_up.shape[1] // 2
    return gate_up[:, :half].transpose(0, 2, 1), gate_up[:, half:].transpose(0, 2, 1), down.transpose(0, 2, 1)


def test_metrics_and_router_norms_match_the_modules(mixtral):
    hf, model = mixtral
    result = experts.compute(model, slot="mlp.experts.W_gate")
    assert result.layers == [0, 1] and result.n_experts == 5 and result.n_experts_per_token == 2
    for i, layer in enumerate(result.layers):
        gates = _module_experts(hf, layer)[0]
        np.testing.assert_allclose(result.metrics["std"][i], gates.std(axis=(1, 2)), rtol=1e-5)
        np.testing.assert_allclose(result.metrics["frobenius"][i], np.linalg.norm(gates, axis=(1, 2)), rtol=1e-5)
        np.testing.assert_allclose(result.metrics["max_abs"][i], np.abs(gates).max(axis=(1, 2)), rtol=1e-5)
        alphas = [diagnose(g, with_shuffled=False).alpha for g in gates]
        np.testing.assert_allclose(result.metrics["alpha"][i], alphas, rtol=1e-4)
        s = [np.linalg.svd(g, compute_uv=False) for g in gates]
        np.testing.assert_allclose(result.metrics["stable_rank"][i], [(v ** 2).sum() / v[0] ** 2 for v in s], rtol=1e-4)
        router = hf.model.layers[layer].mlp.gate.weight.detach().double().numpy()  # (n_experts, d_model)
        np.testing.assert_allclose(result.router_norms[i], np.linalg.norm(router, axis=1), rtol=1e-5)


def test_similarity_matches_sklearn_and_orders_alike_experts_together(mixtral):
    hf, model = mixtral
    sim = experts.similarity(model, layer=1, slot="mlp.experts.W_out")
    outs = _module_experts(hf, 1)[2]
    np.testing.assert_allclose(sim.cosine, cosine_similarity(outs.reshape(5, -1)), atol=1e-6)
    assert sorted(sim.order) == list(range(5)) and sim.rows_used == sim.rows_total == 48


def test_similarity_on_a_row_sample_says_so(mixtral, monkeypatch):
    _, model = mixtral
    monkeypatch.setattr(experts, "SIMILARITY_BYTES", 5 * 64 * 4 * 10)  # room for 10 of 48 rows per expert
    sim = experts.similarity(model, layer=0, slot="mlp.experts.W_out")
    assert sim.rows_used == 10 and "10 evenly spaced of 48" in experts.similarity_reading(sim, 0, "mlp.experts.W_out")


def test_active_parameters_count_two_of_five_experts(mixtral):
    hf, model = mixtral
    total = sum(p.numel() for p in hf.parameters())
    routed = sum(p.numel() for n, p in hf.named_parameters() if ".experts." in n)
    result = architecture.compute(model)
    assert result.summary.params_unique == total and result.summary.routed == routed
    assert result.params_active == total - routed + routed * 2 // 5
    assert f"**{result.params_active:,}** parameters" in architecture.reading(result)


def test_a_dense_model_has_no_experts(tmp_path):
    _, model = build("llama", tmp_path, **{k: v for k, v in TINY.items() if "expert" not in k})
    result = experts.compute(model)
    assert result.layers == [] and experts.reading(result) == experts.NOT_MOE
    assert architecture.compute(model).params_active == architecture.compute(model).summary.params_unique


def test_readings_name_a_dead_expert_and_upcycled_copies():
    from analyses.experts import similarity
    from topics.experts import Experts, reading, similarity_reading
    norms = np.ones((2, 4))
    norms[1, 3] = 0.2
    result = Experts("mlp.experts.W_in", [0, 1], 4, 2, 0, {"std": np.ones((2, 4))}, norms)
    assert "expert **3** of layer 1" in reading(result) and "dead" in reading(result)
    base = np.random.default_rng(0).normal(size=(1, 200))
    copies = base + 0.1 * np.random.default_rng(1).normal(size=(4, 200))
    sim = similarity(copies @ copies.T, 10, 10)
    assert "close copies" in similarity_reading(sim, 0, "mlp.experts.W_in")
    apart = np.random.default_rng(2).normal(size=(4, 20000))
    assert "nearly orthogonal" in similarity_reading(similarity(apart @ apart.T, 1, 1), 0, "mlp.experts.W_in")


def test_an_all_zero_router_column_is_named_dead():
    from topics.experts import Experts, reading
    norms = np.array([[1.0, 1.0, 0.0, np.nan]])
    text = reading(Experts("mlp.experts.W_in", [0], 4, 2, 0, {"std": np.ones((1, 4))}, norms))
    assert "expert **2** of layer 0" in text and "dead" in text
