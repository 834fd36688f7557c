import numpy as np
import torch

from adapters import open_model
from tests.adapters.harness import Spec, assert_all_accounted, build, check_ends, check_forward
from tests.adapters.harness_moe import check_moe

L = "model.layers.{l}."
SPEC = Spec(attn=L + "self_attn", mlp=L + "block_sparse_moe", zero_positions=True, scale=0.2,
            norms={"blocks.{l}.ln1.w": L + "input_layernorm", "blocks.{l}.ln2.w": L + "post_attention_layernorm",
                   "ln_final.w": "model.norm"})
TINY = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
            intermediate_size=40, vocab_size=101, max_position_embeddings=64, num_local_experts=5,
            num_experts_per_tok=2, attention_multiplier=0.2, embedding_multiplier=3.0, logits_scaling=4.0)


def test_tiny_granitemoe_matches_forward_pass(tmp_path):
    hf, model = build("granitemoe", tmp_path, **TINY)
    c = model.cfg
    assert model.arch == "granitemoe" and model.has_heads
    assert (c.n_experts, c.n_experts_per_token, c.d_expert, c.n_shared_experts, c.moe_layers) == (5, 2, 40, 0, None)
    assert (c.attn_scale, c.embed_scale, c.logit_scale) == (0.2, 3.0, 0.25)
    assert model.weight("blocks.1.mlp.experts.W_gate").shape == (5, 64, 40)
    check_forward(hf, model, SPEC)
    assert check_moe(hf, model, L + "block_sparse_moe", router="router") == 2
    check_ends(hf, model, embed_scale=3.0, logit_scale=0.25)
    assert_all_accounted(model)


def test_tiny_granitemoeshared_matches_forward_pass(tmp_path):
    """The shared expert runs beside the MoE block, in the decoder layer: checked on its own module."""
    hf, model = build("granitemoeshared", tmp_path, **TINY, shared_intermediate_size=24)
    assert model.arch == "granitemoe" and model.cfg.n_shared_experts == 1
    assert model.weight("blocks.0.mlp.shared.W_in").shape == (64, 24)
    check_forward(hf, model, SPEC)
    assert check_moe(hf, model, L + "block_sparse_moe", router="router", shared_in_block=False) == 2
    x = torch.randn(5, 64)
    w = lambda s: model.weight(f"blocks.1.mlp.shared.{s}")
    xs = x.double().numpy()
    gate = xs @ w("W_gate")
    expected = (gate / (1 + np.exp(-gate)) * (xs @ w("W_in"))) @ w("W_out")
    with torch.no_grad():
        np.testing.assert_allclose(expected, hf.model.layers[1].shared_mlp(x).double().numpy(), atol=1e-4)
    assert_all_accounted(model)


def test_tiny_granitemoe_swa_matches_forward_pass(tmp_path):
    """The sinks scale each head's output by sigmoid(logsumexp(scores) - sink) and the model returns the pattern
    without them; with the sinks pushed far down that factor is one, so the forward check holds exactly, and
    attn.sinks is compared with the stored parameter."""
    torch.manual_seed(0)
    hf, _ = build("granitemoe_swa", tmp_path, **TINY, sliding_window=3, layer_types=["full_attention",
                                                                                     "sliding_attention"])
    with torch.no_grad():
        for layer in hf.model.layers:
            layer.self_attn.sinks.fill_(-1e4)
    hf.save_pretrained(tmp_path)
    model = open_model(str(tmp_path))
    c = model.cfg
    assert model.arch == "granitemoe_swa" and c.attn_sinks and (c.sliding_window, c.sliding_layers) == (3, (1,))
    np.testing.assert_array_equal(model.weight("blocks.1.attn.sinks"), np.full(4, -1e4, np.float32))
    check_forward(hf, model, Spec(**{**SPEC.__dict__, "window": 3, "window_layers": (1,)}))
    assert check_moe(hf, model, L + "block_sparse_moe", router="router") == 2
    assert_all_accounted(model)


def test_granitemoe_without_config_is_read_by_layout(tmp_path):
    build("granitemoe", tmp_path, **TINY)
    (tmp_path / "config.json").unlink()
    model = open_model(str(tmp_path), n_heads=4)
    assert model.arch == "granitemoe" and model.cfg.n_experts == 5 and model.cfg.d_expert == 40
    assert_all_accounted(model)
