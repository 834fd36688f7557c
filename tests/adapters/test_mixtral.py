import numpy as np

from adapters import open_model
from tests.adapters.harness import Spec, assert_all_accounted, build, check_ends, check_forward
from tests.adapters.harness_moe import check_moe

L = "model.layers.{l}."
SPEC = Spec(attn=L + "self_attn", mlp=L + "mlp", zero_positions=True,
            norms={"blocks.{l}.ln1.w": L + "input_layernorm", "blocks.{l}.ln2.w": L + "post_attention_layernorm",
                   "ln_final.w": "model.norm"})
TINY = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
            intermediate_size=48, vocab_size=101, max_position_embeddings=64, num_local_experts=5,
            num_experts_per_tok=2)


def test_tiny_mixtral_matches_forward_pass(tmp_path):
    hf, model = build("mixtral", tmp_path, **TINY)
    c = model.cfg
    assert model.arch == "mixtral" and model.has_heads
    assert (c.n_experts, c.n_experts_per_token, c.d_expert, c.n_shared_experts) == (5, 2, 48, 0)
    assert model.weight("blocks.0.mlp.W_router").shape == (64, 5)
    assert model.weight("blocks.1.mlp.experts.W_gate").shape == (5, 64, 48)
    assert model.weight("blocks.1.mlp.experts.W_out", expert=3).shape == (48, 64)
    np.testing.assert_array_equal(model.weight("blocks.1.mlp.experts.W_in", expert=2),
                                  model.weight("blocks.1.mlp.experts.W_in")[2])
    assert not model.has("blocks.0.mlp.W_in")
    check_forward(hf, model, SPEC)
    assert check_moe(hf, model, L + "mlp") == 2
    check_ends(hf, model)
    assert_all_accounted(model)


def test_mixtral_without_config_is_read_by_layout(tmp_path):
    build("mixtral", tmp_path, **TINY)
    (tmp_path / "config.json").unlink()
    model = open_model(str(tmp_path), n_heads=4)
    assert model.arch == "mixtral" and model.cfg.n_experts == 5 and model.cfg.d_expert == 48
    assert_all_accounted(model)
