from adapters import open_model
from tests.adapters.harness import Spec, assert_all_accounted, build, check_forward
from tests.adapters.harness_moe import check_moe

L = "model.layers.{l}."
SPEC = Spec(attn=L + "self_attn", mlp=L + "mlp", zero_positions=True)  # no ln1 / ln2 / final norm to check
# attention in layer 1 of 3; the indexer's budget (64 tokens) keeps every earlier token of the 7 tested
TINY = dict(hidden_size=64, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
            vocab_size=101, layer_types=["linear_attention", "full_attention", "linear_attention"],
            linear_num_key_heads=2, linear_num_value_heads=4, linear_key_head_dim=8, linear_value_head_dim=8,
            num_experts=5, num_experts_per_tok=2, moe_intermediate_size=40, shared_expert_intermediate_size=24,
            indexer_n_heads=2, indexer_kv_heads=1, indexer_head_dim=16, indexer_budget=64, indexer_compress_ratio=4,
            hc_lowrank=16)


def test_tiny_qwen4_exp_text_matches_forward_pass(tmp_path):
    hf, model = build("qwen4_exp_text", tmp_path, **TINY)
    c = model.cfg
    assert model.arch == "qwen4_exp_text" and model.layers("attn.W_Q") == [1]
    assert (c.n_heads, c.n_kv_heads, c.d_head, c.rotary_dim, c.qk_norm) == (4, 2, 16, 16, "head")
    assert model.weight("blocks.1.attn.W_gate").shape == (4, 64, 16)
    assert model.layers("ln1.w") == model.layers("ln2.w") == [] and not model.has("ln_final.w")
    assert any(n.kind == "maths" and "4 residual streams" in n.text for n in c.notes)
    why = {n: w for n, (_, w) in model.ignored.items()}
    assert why["model.layers.1.attn_hyper_connection.hc_norm.weight"].startswith("hyper-connections")
    assert why["model.layers.1.self_attn.indexer.index_qk_proj.weight"].startswith("the attention's token selector")
    check_forward(hf, model, SPEC)
    assert check_moe(hf, model, L + "mlp") == 3
    assert_all_accounted(model)


def test_qwen4_exp_text_without_config_is_read_by_layout(tmp_path):
    hf, _ = build("qwen4_exp_text", tmp_path, **TINY)
    (tmp_path / "config.json").unlink()
    model = open_model(str(tmp_path))  # q_norm's length gives d_head, and with it every head count
    c = model.cfg
    assert model.arch == "qwen4_exp_text" and (c.n_heads, c.n_kv_heads, c.d_head) == (4, 2, 16)
    check_forward(hf, model, SPEC)
    assert_all_accounted(model)
