"""GPTBigCode (families/gpt_bigcode.py): GPT-2's names in Linear layout, with one shared key/value head
(multi_query) or per-head interleaved q/k/v, against the forward pass."""
import pytest

from tests.adapters.harness import Spec, assert_all_accounted, build, check_forward

TINY = dict(n_embd=64, n_layer=2, n_head=4, n_inner=96, vocab_size=101, n_positions=64, bos_token_id=1,
            eos_token_id=2)
H = "transformer.h.{l}."
SPEC = Spec(attn=H + "attn", mlp=H + "mlp",
            norms={"blocks.{l}.ln1.w": H + "ln_1", "blocks.{l}.ln2.w": H + "ln_2", "ln_final.w": "transformer.ln_f"})


@pytest.mark.parametrize("multi_query, kv_heads", [(True, 1), (False, 4)])
def test_tiny_gpt_bigcode_matches_forward_pass(multi_query, kv_heads, tmp_path):
    hf, model = build("gpt_bigcode", tmp_path, multi_query=multi_query, **TINY)
    c = model.cfg
    assert model.arch == "gpt_bigcode" and model.has_heads
    assert (c.n_heads, c.n_kv_heads, c.d_head, c.d_mlp) == (4, kv_heads, 16, 96)
    assert model.weight("blocks.0.attn.W_K").shape == (kv_heads, 64, 16)
    check_forward(hf, model, SPEC)
    assert_all_accounted(model)
