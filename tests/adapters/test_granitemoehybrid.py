import numpy as np
import pytest
import torch
from transformers.activations import ACT2FN

from adapters import open_model
from tests.adapters.harness import Spec, assert_all_accounted, build, check_ends, check_forward
from tests.adapters.harness_moe import check_moe, shared_mlp

L = "model.layers.{l}."
NORMS = {"blocks.{l}.ln1.w": L + "input_layernorm", "blocks.{l}.ln2.w": L + "post_attention_layernorm",
         "ln_final.w": "model.norm"}
# attention in layer 1 of 3, between Mamba2 layers; Granite's multipliers all away from 1
TINY = dict(hidden_size=64, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2,
            intermediate_size=40, shared_intermediate_size=24, vocab_size=101, num_local_experts=5,
            num_experts_per_tok=2, layer_types=["linear_attention", "full_attention", "linear_attention"],
            mamba_n_heads=8, mamba_d_state=8, mamba_chunk_size=4, attention_multiplier=0.2,
            embedding_multiplier=3.0, logits_scaling=4.0)


def test_tiny_granitemoehybrid_matches_forward_pass(tmp_path):
    hf, model = build("granitemoehybrid", tmp_path, **TINY)
    c = model.cfg
    assert model.arch == "granitemoehybrid" and model.has_heads and c.positional == "none"
    assert model.layers("attn.W_Q") == model.layers("ln1.w") == [1] and model.layers("ln2.w") == [0, 1, 2]
    assert (c.n_experts, c.d_expert, c.n_shared_experts, c.attn_scale, c.embed_scale, c.logit_scale) == \
        (5, 40, 1, 0.2, 3.0, 0.25)
    assert any(n.kind == "layout" and "layer 1 of 3" in n.text for n in c.notes)
    why = {n: w for n, (_, w) in model.ignored.items()}
    assert why["model.layers.0.mamba.in_proj.weight"] == "state-space (Mamba2) mixer: no attention heads"
    check_forward(hf, model, Spec(attn=L + "self_attn", mlp=L + "block_sparse_moe", scale=0.2, zero_positions=True,
                                  norms=NORMS))
    assert check_moe(hf, model, L + "block_sparse_moe", router="router", shared_in_block=False) == 3
    x = torch.randn(5, 64)
    with torch.no_grad():
        np.testing.assert_allclose(shared_mlp(model, 2, x.double().numpy(), ACT2FN["silu"]),
                                   hf.model.layers[2].shared_mlp(x).double().numpy(), atol=1e-4)
    check_ends(hf, model, embed_scale=3.0, logit_scale=0.25)
    assert_all_accounted(model)


def test_dense_granitemoehybrid_reads_the_shared_mlp_as_the_mlp(tmp_path):
    hf, model = build("granitemoehybrid", tmp_path, **{**TINY, "num_local_experts": 0},
                      position_embedding_type="rope")
    c = model.cfg
    assert (c.n_experts, c.n_shared_experts, c.d_mlp, c.positional, c.rotary_dim) == (0, 0, 24, "rotary", 16)
    assert model.layers("mlp.W_in") == [0, 1, 2] and not model.has("blocks.0.mlp.shared.W_in")
    check_forward(hf, model, Spec(attn=L + "self_attn", mlp=L + "shared_mlp", scale=0.2, zero_positions=True,
                                  norms=NORMS))
    assert_all_accounted(model)


@pytest.mark.parametrize("experts", [5, 0])
def test_granitemoehybrid_without_config_is_read_by_layout(experts, tmp_path):
    hf, _ = build("granitemoehybrid", tmp_path, **{**TINY, "num_local_experts": experts})
    (tmp_path / "config.json").unlink()
    model = open_model(str(tmp_path), n_heads=4)
    c = model.cfg
    assert model.arch == "granitemoehybrid" and model.layers("attn.W_Q") == [1]
    assert (c.n_kv_heads, c.d_head, c.positional) == (2, 16, "none")
    assert (c.d_expert, c.n_shared_experts) == ((40, 1) if experts else (None, 0))
    mlp = L + ("block_sparse_moe" if experts else "shared_mlp")
    check_forward(hf, model, Spec(attn=L + "self_attn", mlp=mlp, zero_positions=True, scale=0.2))  # not in the weights
    assert_all_accounted(model)
