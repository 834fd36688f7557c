import pytest

from tests.adapters.harness import Spec, assert_all_accounted, build, check_ends, check_forward
from tests.adapters.test_llama import TINY

L = "model.layers.{l}."


@pytest.mark.parametrize("clip", [None, 0.05])
def test_tiny_olmo_matches_forward_pass(clip, tmp_path):
    hf, model = build("olmo", tmp_path, clip_qkv=clip, **TINY)
    c = model.cfg
    assert model.arch == "olmo" and model.has_heads
    assert (c.n_heads, c.n_kv_heads, c.d_head, c.norm, c.gated_mlp) == (4, 2, 16, "layernorm", True)
    assert not [n for n in model.names() if ".ln" in n or n.startswith("ln")]  # nothing to map: no norm weights
    assert any("clamped" in n.text for n in c.notes) == bool(clip)
    if clip is None:  # clamping changes q, k, v in a way the weights alone do not give
        check_forward(hf, model, Spec(attn=L + "self_attn", mlp=L + "mlp", zero_positions=True))
        check_ends(hf, model)
    assert_all_accounted(model)
