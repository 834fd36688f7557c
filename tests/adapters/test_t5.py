"""T5 and its descendants against their own forward pass: every encoder and decoder layer (harness_encdec)."""
import numpy as np
import pytest
from safetensors.numpy import save_file

from adapters import open_model
from tests.adapters.harness import assert_all_accounted
from tests.adapters.harness_encdec import EncDecSpec, StackSpec, build_seq2seq, check_forward

TINY = dict(d_model=32, d_kv=8, d_ff=48, num_layers=2, num_decoder_layers=3, num_heads=4, vocab_size=61,
            relative_attention_num_buckets=10, relative_attention_max_distance=20)


def spec(mlp: str = "DenseReluDense", enc_attn: str = "SelfAttention") -> EncDecSpec:
    enc, dec = "encoder.block.{l}.layer.", "decoder.block.{l}.layer."
    return EncDecSpec(
        encoder=StackSpec(attn=enc + f"0.{enc_attn}", mlp=enc + f"1.{mlp}",
                          norms={"ln1.w": enc + "0.layer_norm", "ln2.w": enc + "1.layer_norm",
                                 "ln_final.w": "encoder.final_layer_norm"}),
        decoder=StackSpec(attn=dec + "0.SelfAttention", cross=dec + "1.EncDecAttention", mlp=dec + f"2.{mlp}",
                          norms={"ln1.w": dec + "0.layer_norm", "ln_cross.w": dec + "1.layer_norm",
                                 "ln2.w": dec + "2.layer_norm", "ln_final.w": "decoder.final_layer_norm"}),
        eps=1e-6)


@pytest.mark.parametrize("model_type,ff", [("t5", "relu"), ("t5", "gated-gelu"), ("mt5", "gated-gelu")])
def test_tiny_t5_matches_forward_pass(model_type, ff, tmp_path):
    # seq 30 > max_distance 20: the logarithmic buckets and the last, shared one are all exercised
    hf, model = build_seq2seq(model_type, tmp_path, feed_forward_proj=ff, **TINY)
    c = model.cfg
    assert model.arch == model_type and model.stacks() == ["blocks", "encoder"]
    assert (c.n_layers, c.n_encoder_layers, c.n_heads, c.d_head) == (3, 2, 4, 8)
    assert (c.rel_buckets, c.rel_max_distance, c.attn_scale, c.norm) == (10, 20, 1.0, "rmsnorm")
    assert c.gated_mlp == ff.startswith("gated")
    assert model.weight("encoder.pos_embed.W_rel").shape == (10, 4) and model.has("pos_embed.W_rel")
    check_forward(hf, model, spec(), seq=30)
    assert_all_accounted(model)


def test_untied_head_is_not_scaled(tmp_path):
    hf, model = build_seq2seq("t5", tmp_path, tie_word_embeddings=False, **TINY)
    assert model.cfg.logit_scale == 1.0
    check_forward(hf, model, spec())


def test_stored_embedding_copies_are_accounted_for(tmp_path):
    """Older checkpoints store encoder.embed_tokens and decoder.embed_tokens beside shared: the same tensor."""
    _, model = build_seq2seq("t5", tmp_path, **TINY)
    tensors = {n: model.raw(n) for n in model.raw_names()}
    folder = tmp_path / "copies"
    folder.mkdir()
    save_file({**tensors, "encoder.embed_tokens.weight": tensors["shared.weight"],
               "decoder.embed_tokens.weight": tensors["shared.weight"]}, str(folder / "model.safetensors"))
    copies = open_model(str(folder), n_heads=4)
    assert_all_accounted(copies)
    assert set(copies.ignored) == {"encoder.embed_tokens.weight", "decoder.embed_tokens.weight"}
    assert copies.sources("embed.W_E") == ("shared.weight",)


def test_opens_without_config_by_layout_alone(tmp_path):
    hf, model = build_seq2seq("t5", tmp_path, feed_forward_proj="gated-gelu", **TINY)
    (tmp_path / "config.json").unlink()
    bare = open_model(str(tmp_path / "model.safetensors"), n_heads=4)
    c = bare.cfg
    assert bare.arch == "t5" and (c.n_layers, c.n_encoder_layers, c.d_head, c.gated_mlp) == (3, 2, 8, True)
    assert c.rel_buckets == 10 and c.attn_scale == 1.0 and c.act == "gelu_new"
    assert set(bare.names()) == set(model.names())
    for name in ("encoder.1.attn.W_Q", "blocks.2.cross_attn.W_O", "pos_embed.W_rel", "blocks.0.mlp.W_gate"):
        np.testing.assert_array_equal(bare.weight(name), model.weight(name))
    assert_all_accounted(bare)


def test_encoder_only_checkpoint_is_the_main_stack(tmp_path):
    from transformers import AutoConfig, T5EncoderModel
    import torch
    torch.manual_seed(0)
    T5EncoderModel(AutoConfig.for_model("t5", **TINY)).save_pretrained(tmp_path)
    model = open_model(str(tmp_path))
    assert model.stacks() == ["blocks"] and model.cfg.n_layers == 2 and model.has_heads
    assert model.has("pos_embed.W_rel") and not model.has("blocks.0.cross_attn.W_Q")
    assert_all_accounted(model)


def test_umt5_has_a_bias_in_every_layer(tmp_path):
    hf, model = build_seq2seq("umt5", tmp_path, feed_forward_proj="gated-gelu", **TINY)
    assert model.arch == "umt5" and not model.has("pos_embed.W_rel")
    assert model.layers("attn.W_rel", "encoder") == [0, 1] and model.layers("attn.W_rel") == [0, 1, 2]
    check_forward(hf, model, spec(), seq=30)
    assert_all_accounted(model)


@pytest.mark.parametrize("attention", ["local", "transient-global"])
def test_longt5_encoder_attention_is_mapped(attention, tmp_path):
    from transformers import AutoConfig, LongT5ForConditionalGeneration
    import torch
    torch.manual_seed(0)
    cfg = AutoConfig.for_model("longt5", encoder_attention_type=attention, **TINY)
    LongT5ForConditionalGeneration(cfg).save_pretrained(tmp_path)
    model = open_model(str(tmp_path))
    assert model.arch == "longt5" and model.stacks() == ["blocks", "encoder"] and model.has("encoder.1.attn.W_Q")
    assert model.has("encoder.pos_embed.W_rel") and any(n.kind == "maths" for n in model.cfg.notes)
    assert_all_accounted(model)


def test_switch_transformers_experts(tmp_path):
    hf, model = build_seq2seq("switch_transformers", tmp_path, num_experts=4, encoder_sparse_step=2,
                              decoder_sparse_step=2, **TINY)
    c = model.cfg
    assert model.arch == "switch_transformers" and (c.n_experts, c.n_experts_per_token) == (4, 1)
    assert model.weight("encoder.1.mlp.experts.W_in").shape == (4, 32, 48) and model.has("blocks.1.mlp.W_router")
    check_forward(hf, model, spec(mlp="mlp"), seq=12)  # dense layers' MLPs; experts: tests/adapters/harness_moe.py
    assert_all_accounted(model)
