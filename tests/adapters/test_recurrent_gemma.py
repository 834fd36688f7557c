import math

from adapters import open_model
from tests.adapters.harness import Spec, assert_all_accounted, build, check_ends, check_forward

L = "model.layers.{l}."
SPEC = Spec(attn=L + "temporal_block", mlp=L + "mlp_block", zero_positions=True, window=3, window_layers=(1,),
            norms={"blocks.{l}.ln1.w": L + "temporal_pre_norm", "blocks.{l}.ln2.w": L + "channel_pre_norm",
                   "ln_final.w": "model.final_norm"})
# attention in layer 1 of 3, between recurrent blocks, with a window shorter than the test's sequence
TINY = dict(hidden_size=48, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2, intermediate_size=80,
            lru_width=48, vocab_size=101, attention_window_size=3, block_types=["recurrent", "attention"],
            attention_bias=True)


def test_tiny_recurrent_gemma_matches_forward_pass(tmp_path):
    hf, model = build("recurrent_gemma", tmp_path, **TINY)
    c = model.cfg
    assert model.arch == "recurrent_gemma" and model.has_heads
    assert model.layers("attn.W_Q") == model.layers("ln1.w") == [1] and model.layers("mlp.W_in") == [0, 1, 2]
    assert (c.d_head, c.rotary_dim, c.d_mlp, c.sliding_window, c.sliding_layers, c.logit_softcap) == \
        (12, 6, 40, 3, (1,), 30.0)
    assert c.embed_scale != math.sqrt(48) and abs(c.embed_scale - math.sqrt(48)) < 0.03  # bfloat16's sqrt(48)
    assert model.has("blocks.1.attn.b_Q") and model.has("blocks.1.attn.b_O")
    why = {n: w for n, (_, w) in model.ignored.items()}
    assert why["model.layers.0.temporal_block.rg_lru.recurrent_param"].startswith("recurrent (RG-LRU)")
    check_forward(hf, model, SPEC)
    check_ends(hf, model, embed_scale=c.embed_scale, softcap=30.0)
    assert_all_accounted(model)


def test_recurrent_gemma_without_config_is_read_by_layout(tmp_path):
    hf, _ = build("recurrent_gemma", tmp_path, **TINY)
    (tmp_path / "config.json").unlink()
    model = open_model(str(tmp_path), n_heads=4)
    c = model.cfg
    assert model.arch == "recurrent_gemma" and model.layers("attn.W_Q") == [1]
    assert (c.n_kv_heads, c.d_head, c.d_mlp) == (2, 12, 40)
    check_forward(hf, model, SPEC)
    assert_all_accounted(model)
