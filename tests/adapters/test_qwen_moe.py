import numpy as np

from adapters import open_model
from tests.adapters.harness import Spec, assert_all_accounted, build, check_ends, check_forward
from tests.adapters.harness_moe import check_moe

L = "model.layers.{l}."
SPEC = Spec(attn=L + "self_attn", mlp=L + "mlp", zero_positions=True,
            norms={"blocks.{l}.ln1.w": L + "input_layernorm", "blocks.{l}.ln2.w": L + "post_attention_layernorm",
                   "ln_final.w": "model.norm"})
# three layers, the middle one dense: mlp_only_layers keeps Llama's MLP there
TINY = dict(hidden_size=64, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2,
            intermediate_size=56, moe_intermediate_size=40, vocab_size=101, max_position_embeddings=64,
            num_experts=5, num_experts_per_tok=2, mlp_only_layers=[1], norm_topk_prob=True)


def test_tiny_qwen2_moe_matches_forward_pass(tmp_path):
    hf, model = build("qwen2_moe", tmp_path, **TINY, shared_expert_intermediate_size=24)
    c = model.cfg
    assert model.arch == "qwen2_moe" and model.has_heads
    assert (c.n_experts, c.n_experts_per_token, c.d_expert, c.n_shared_experts, c.moe_layers) == (5, 2, 40, 1, (0, 2))
    assert model.weight("blocks.2.mlp.experts.W_gate").shape == (5, 64, 40)
    assert model.weight("blocks.0.mlp.shared.W_in").shape == (64, 24)
    assert model.weight("blocks.0.mlp.shared.W_router").shape == (64, 1)
    assert model.weight("blocks.1.mlp.W_in").shape == (64, 56) and not model.has("blocks.1.mlp.W_router")
    assert model.has("blocks.0.attn.b_Q") and not model.has("blocks.0.mlp.W_in")
    check_forward(hf, model, SPEC)  # attention everywhere; the dense layer's MLP
    assert check_moe(hf, model, L + "mlp") == 2  # router, each expert, the gated shared expert, the block
    check_ends(hf, model)
    assert_all_accounted(model)


def test_tiny_qwen3_moe_matches_forward_pass(tmp_path):
    hf, model = build("qwen3_moe", tmp_path, **TINY, head_dim=24)
    c = model.cfg
    assert model.arch == "qwen3_moe" and c.qk_norm == "head" and c.d_head == 24
    assert (c.n_experts, c.d_expert, c.n_shared_experts, c.moe_layers) == (5, 40, 0, (0, 2))
    assert model.weight("blocks.0.attn.q_norm.w").shape == (24,)
    check_forward(hf, model, SPEC)
    assert check_moe(hf, model, L + "mlp") == 2
    assert_all_accounted(model)


def test_decoder_sparse_step_leaves_dense_layers(tmp_path):
    _, model = build("qwen3_moe", tmp_path, **{**TINY, "mlp_only_layers": []}, decoder_sparse_step=2)
    assert model.cfg.moe_layers == (1,) and model.layers("mlp.W_in") == [0, 2]


def test_tiny_olmoe_matches_forward_pass(tmp_path):
    hf, model = build("olmoe", tmp_path, **{k: v for k, v in TINY.items() if k not in ("mlp_only_layers",
                                                                                      "moe_intermediate_size")},
                      clip_qkv=None)
    c = model.cfg
    assert model.arch == "olmoe" and c.qk_norm == "projection" and c.moe_layers is None
    assert (c.n_experts, c.n_experts_per_token, c.d_expert) == (5, 2, 56)
    assert model.weight("blocks.0.attn.q_norm.w").shape == (4, 16)
    assert model.weight("blocks.0.attn.k_norm.w").shape == (2, 16)
    check_forward(hf, model, SPEC)
    assert check_moe(hf, model, L + "mlp") == 3
    assert_all_accounted(model)


def test_without_config_the_layout_picks_the_family(tmp_path):
    for model_type, extra in (("qwen2_moe", {"shared_expert_intermediate_size": 24}), ("qwen3_moe", {})):
        folder = tmp_path / model_type
        build(model_type, folder, **TINY, **extra)
        (folder / "config.json").unlink()
        model = open_model(str(folder), n_heads=4)
        assert model.arch == model_type and model.has_heads
        assert (model.cfg.n_experts, model.cfg.d_expert, model.cfg.moe_layers) == (5, 40, (0, 2))
        assert_all_accounted(model)


def test_olmoe_without_config_is_read_with_its_projection_norm(tmp_path):
    """OLMoE's names are Qwen3-MoE's: without config.json it is read as qwen3_moe, with OLMoE's q/k norm."""
    tiny = {k: v for k, v in TINY.items() if k not in ("mlp_only_layers", "moe_intermediate_size")}
    hf, _ = build("olmoe", tmp_path, **tiny)
    (tmp_path / "config.json").unlink()
    model = open_model(str(tmp_path), n_heads=4)
    assert model.arch == "qwen3_moe" and model.cfg.qk_norm == "projection" and model.cfg.d_head == 16
    assert model.weight("blocks.0.attn.q_norm.w").shape == (4, 16)
    check_forward(hf, model, SPEC)
    assert_all_accounted(model)


def test_fused_experts_read_like_per_expert_ones(tmp_path):
    """transformers 5 holds experts fused in memory; a checkpoint saved that way reads the same experts."""
    from safetensors.torch import save_file
    hf, model = build("qwen3_moe", tmp_path / "split", **TINY)
    state = {k: v.contiguous() for k, v in hf.state_dict().items()}  # in-memory names: experts fused
    assert "model.layers.0.mlp.experts.gate_up_proj" in state
    fused = tmp_path / "fused"
    fused.mkdir()
    save_file(state, str(fused / "model.safetensors"))
    (fused / "config.json").write_text((tmp_path / "split" / "config.json").read_text())
    other = open_model(str(fused))
    for slot in ("W_gate", "W_in", "W_out"):
        name = f"blocks.2.mlp.experts.{slot}"
        np.testing.assert_array_equal(other.weight(name), model.weight(name))
        np.testing.assert_array_equal(other.weight(name, expert=3), model.weight(name, expert=3))
    check_moe(hf, other, L + "mlp")
    assert_all_accounted(other)
