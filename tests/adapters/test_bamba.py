import pytest

from adapters import open_model
from tests.adapters.harness import Spec, assert_all_accounted, build, check_ends, check_forward

L = "model.layers.{l}."
SPEC = Spec(attn=L + "self_attn", mlp=L + "feed_forward", zero_positions=True,
            norms={"blocks.{l}.ln1.w": L + "input_layernorm", "blocks.{l}.ln2.w": L + "pre_ff_layernorm",
                   "ln_final.w": "model.final_layernorm"})
TINY = dict(hidden_size=64, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2,
            intermediate_size=48, vocab_size=101, mamba_n_heads=8, mamba_d_head=16, mamba_d_state=8,
            mamba_chunk_size=4)
EXTRA = {"bamba": dict(attn_layer_indices=[1]), "falcon_h1": dict(mamba_d_ssm=128, embedding_multiplier=2.0,
                                                                  lm_head_multiplier=0.5)}


@pytest.mark.parametrize("model_type, attention", [("bamba", [1]), ("falcon_h1", [0, 1, 2])])
def test_tiny_model_matches_forward_pass(model_type, attention, tmp_path):
    hf, model = build(model_type, tmp_path, **TINY, **EXTRA[model_type])
    c = model.cfg
    assert model.arch == model_type and model.layers("attn.W_Q") == model.layers("ln1.w") == attention
    assert c.positional == "rotary" and c.rotary_dim == (8 if model_type == "bamba" else 16)
    assert model.layers("mlp.W_in") == [0, 1, 2]
    assert any(n.kind == "layout" for n in c.notes)
    why = {n: w for n, (_, w) in model.ignored.items()}
    assert why["model.layers.0.mamba.in_proj.weight"].startswith("state-space (Mamba2) mixer")
    check_forward(hf, model, SPEC)
    check_ends(hf, model, embed_scale=c.embed_scale, logit_scale=c.logit_scale)
    assert_all_accounted(model)


def test_falcon_h1_multipliers_are_fields_and_a_note(tmp_path):
    _, model = build("falcon_h1", tmp_path, **TINY, **EXTRA["falcon_h1"], key_multiplier=0.25)
    c = model.cfg
    assert (c.embed_scale, c.logit_scale, c.attn_scale) == (2.0, 0.5, 0.25 / 4)
    assert any(n.kind == "maths" and "side by side" in n.text for n in c.notes)


@pytest.mark.parametrize("model_type", ["bamba", "falcon_h1"])
def test_without_config_the_layout_reads_it_as_bamba(model_type, tmp_path):
    hf, reference = build(model_type, tmp_path, **TINY, **EXTRA[model_type])
    (tmp_path / "config.json").unlink()
    model = open_model(str(tmp_path), n_heads=4)
    assert model.arch == "bamba" and model.layers("attn.W_Q") == reference.layers("attn.W_Q")
    assert (model.cfg.n_kv_heads, model.cfg.d_head, model.cfg.d_mlp) == (2, 16, 48)
    assert_all_accounted(model)
