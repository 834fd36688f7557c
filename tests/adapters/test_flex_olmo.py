from adapters import open_model
from tests.adapters.harness import assert_all_accounted, build, check_ends, check_forward
from tests.adapters.harness_moe import check_moe
from tests.adapters.test_olmo2 import SPEC

L = "model.layers.{l}."
TINY = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, intermediate_size=40,
            vocab_size=101, max_position_embeddings=64, num_experts=5, num_experts_per_tok=2, norm_topk_prob=True,
            pad_token_id=0, eos_token_id=1)


def test_tiny_flex_olmo_matches_forward_pass(tmp_path):
    hf, model = build("flex_olmo", tmp_path, **TINY)
    c = model.cfg
    assert model.arch == "flex_olmo" and model.has_heads and (c.norm_position, c.qk_norm) == ("output", "projection")
    assert (c.n_experts, c.n_experts_per_token, c.d_expert, c.n_shared_experts, c.moe_layers) == (5, 2, 40, 0, None)
    check_forward(hf, model, SPEC)
    assert check_moe(hf, model, L + "mlp") == 2
    check_ends(hf, model)
    assert_all_accounted(model)


def test_flex_olmo_without_config_is_read_by_layout(tmp_path):
    build("flex_olmo", tmp_path, **TINY)
    (tmp_path / "config.json").unlink()
    model = open_model(str(tmp_path), n_heads=4)
    assert model.arch == "flex_olmo" and model.cfg.n_experts == 5
    assert_all_accounted(model)
