import numpy as np
import pytest

from adapters import open_model
from tests.adapters.harness import Spec, assert_all_accounted, build, check_ends, check_forward

L = "model.layers.{l}."
NORMS = {"blocks.{l}.ln1.w": L + "input_layernorm", "blocks.{l}.ln2.w": L + "post_attention_layernorm",
         "ln_final.w": "model.norm"}
# Gemma2: post_attention_layernorm follows attention; the MLP's input norm is pre_feedforward_layernorm.
NORMS2 = {"blocks.{l}.ln1.w": L + "input_layernorm", "blocks.{l}.ln1_post.w": L + "post_attention_layernorm",
          "blocks.{l}.ln2.w": L + "pre_feedforward_layernorm", "blocks.{l}.ln2_post.w": L + "post_feedforward_layernorm",
          "ln_final.w": "model.norm"}
TINY = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=32,
            intermediate_size=96, vocab_size=101, max_position_embeddings=64)


def test_tiny_gemma_matches_forward_pass(tmp_path):
    hf, model = build("gemma", tmp_path, **TINY)
    c = model.cfg
    assert model.arch == "gemma"
    assert (c.n_heads, c.n_kv_heads, c.d_head, c.act, c.tied_embeddings) == (4, 2, 32, "gelu_pytorch_tanh", True)
    assert model.weight("blocks.0.attn.W_Q").shape == (4, 64, 32)
    assert model.weight("blocks.0.attn.W_K").shape == (2, 64, 32)
    # The schema holds the real scale: (1 + stored w).
    np.testing.assert_allclose(model.weight("blocks.0.ln1.w"),
                               1 + hf.model.layers[0].input_layernorm.weight.detach().numpy())
    assert any("sqrt(d_model) = 8" in n.text for n in c.notes if n.kind == "maths")
    check_forward(hf, model, Spec(attn=L + "self_attn", mlp=L + "mlp", zero_positions=True, norms=NORMS))
    check_ends(hf, model, embed_scale=64 ** 0.5)
    assert_all_accounted(model)
    assert model.tied == [("lm_head.weight", "model.embed_tokens.weight")]


def test_untied_gemma_stores_its_head(tmp_path):
    hf, model = build("gemma", tmp_path, tie_word_embeddings=False, **{**TINY, "num_hidden_layers": 1})
    assert model.tied == [] and not model.cfg.tied_embeddings
    np.testing.assert_allclose(model.weight("unembed.W_U"), hf.lm_head.weight.detach().numpy().T)
    assert not np.array_equal(model.weight("unembed.W_U"), model.weight("embed.W_E").T)


def test_tiny_gemma2_matches_forward_pass(tmp_path):
    hf, model = build("gemma2", tmp_path, query_pre_attn_scalar=20, attn_logit_softcapping=0.5,
                      final_logit_softcapping=3.0, **TINY)  # small caps so capping changes the numbers
    assert model.arch == "gemma2"
    assert model.weight("blocks.1.ln2_post.w").shape == (64,)
    np.testing.assert_allclose(model.weight("blocks.1.ln1_post.w"),
                               1 + hf.model.layers[1].post_attention_layernorm.weight.detach().numpy())
    notes = " ".join(n.text for n in model.cfg.notes if n.kind == "maths")
    assert "1/sqrt(20)" in notes and "cap = 0.5" in notes and "cap = 3.0" in notes
    spec = Spec(attn=L + "self_attn", mlp=L + "mlp", zero_positions=True, norms=NORMS2,
                scale=20 ** -0.5, softcap=0.5)
    check_forward(hf, model, spec)
    check_ends(hf, model, embed_scale=64 ** 0.5, softcap=3.0)
    assert_all_accounted(model)


@pytest.mark.parametrize("model_type, arch", [("gemma", "llama"), ("gemma2", "gemma2")])
def test_single_file_without_config(model_type, arch, tmp_path):
    build(model_type, tmp_path, **TINY)
    lone = tmp_path / "lone" / "weights.safetensors"
    lone.parent.mkdir()
    lone.write_bytes((tmp_path / "model.safetensors").read_bytes())
    model = open_model(str(lone))
    # Gemma's names are Llama's: without config.json it is read as Llama, and a note says what that risks.
    assert model.arch == arch
    if arch == "llama":
        assert any("Gemma" in n.text and "minus one" in n.text for n in model.cfg.notes if n.kind == "read-as")
    c = model.cfg
    assert (c.n_layers, c.d_model, c.d_mlp, c.d_vocab, c.tied_embeddings) == (2, 64, 96, 101, True)
    assert model.tied == [("lm_head.weight", "model.embed_tokens.weight")]
    assert_all_accounted(model)
