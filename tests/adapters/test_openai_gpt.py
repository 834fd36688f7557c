"""OpenAI GPT (families/openai_gpt.py): GPT-2's Conv1D layer, post-norm, against the forward pass."""
from tests.adapters.harness import Spec, assert_all_accounted, build, check_forward

H = "transformer.h.{l}."


def test_tiny_openai_gpt_matches_forward_pass(tmp_path):
    hf, model = build("openai-gpt", tmp_path, n_embd=64, n_layer=2, n_head=4, vocab_size=101, n_positions=64)
    c = model.cfg
    assert model.arch == "openai_gpt" and model.has_heads
    assert (c.norm_position, c.act, c.d_mlp, c.n_ctx) == ("post", "gelu_new", 256, 64)
    assert not model.has("ln_final.w") and model.has("unembed.W_U")  # tied to tokens_embed
    # the attention module returns a list: its output is read at c_proj
    check_forward(hf, model, Spec(attn=H + "attn", attn_out=H + "attn.c_proj", mlp=H + "mlp",
                                  norms={"blocks.{l}.ln1.w": H + "ln_1", "blocks.{l}.ln2.w": H + "ln_2"}))
    assert_all_accounted(model)
