"""Llama 4's MoE block does not take check_moe's interface: its router returns (scores, logits) and its experts
module runs every expert on its own slice of a [n_experts * tokens, d_model] input, each chosen expert reading
x * sigmoid(logit). So the router logits, each expert and the whole block are checked here by hand."""
import numpy as np
import torch
from transformers.activations import ACT2FN

from adapters import open_model
from tests.adapters.harness import Spec, _module, assert_all_accounted, build, check_ends, check_forward
from tests.adapters.harness_moe import expert_mlp, shared_mlp

L = "model.layers.{l}."
SPEC = Spec(attn=L + "self_attn", mlp=L + "feed_forward", zero_positions=True,
            norms={"blocks.{l}.ln1.w": L + "input_layernorm", "blocks.{l}.ln2.w": L + "post_attention_layernorm",
                   "ln_final.w": "model.norm"})
# layer 0 dense (intermediate_size_mlp), layer 1 MoE (intermediate_size per expert, a shared expert)
TINY = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
            intermediate_size=40, intermediate_size_mlp=56, vocab_size=101, max_position_embeddings=64,
            num_local_experts=5, num_experts_per_tok=2, interleave_moe_layer_step=2, use_qk_norm=False)


def test_tiny_llama4_matches_forward_pass(tmp_path):
    hf, model = build("llama4_text", tmp_path, **TINY)
    c = model.cfg
    assert model.arch == "llama4_text" and model.has_heads
    assert (c.n_experts, c.n_experts_per_token, c.d_expert, c.n_shared_experts, c.moe_layers, c.d_mlp) == \
        (5, 2, 40, 1, (1,), 56)
    assert model.weight("blocks.1.mlp.experts.W_gate").shape == (5, 64, 40)
    assert model.weight("blocks.1.mlp.experts.W_out", expert=3).shape == (40, 64)
    assert model.weight("blocks.0.mlp.W_in").shape == (64, 56) and not model.has("blocks.0.mlp.W_router")
    check_forward(hf, model, SPEC)  # attention everywhere (positions 0: no rotary, no temperature); layer 0's MLP
    _check_moe_layer(hf, model, 1)
    check_ends(hf, model)
    assert_all_accounted(model)


def _check_moe_layer(hf, model, l: int, seq: int = 9) -> None:
    mod, act = _module(hf, L.format(l=l) + "feed_forward"), ACT2FN[model.cfg.act]
    n = model.cfg.n_experts
    torch.manual_seed(1)
    x = torch.randn(seq, model.cfg.d_model) * 0.5
    xs = x.double().numpy()
    with torch.no_grad():
        scores, logits = mod.router(x)
        np.testing.assert_allclose(xs @ model.weight(f"blocks.{l}.mlp.W_router"), logits.double().numpy(), atol=1e-4)
        every = mod.experts(x.repeat(n, 1)).reshape(n, seq, -1).double().numpy()  # expert e on its own copy of x
        outs = np.stack([expert_mlp(model, l, e, xs, act) for e in range(n)])
        np.testing.assert_allclose(outs, every, atol=1e-4, err_msg="each expert")
        s = scores.double().numpy()  # (seq, n): sigmoid of the chosen logits, 0 elsewhere
        routed = sum(expert_mlp(model, l, e, xs * s[:, e:e + 1], act) * (s[:, e:e + 1] > 0) for e in range(n))
        whole = mod(x[None])[0].double().numpy()
        np.testing.assert_allclose(routed + shared_mlp(model, l, xs, act), whole, atol=1e-4, err_msg="MoE block")


def test_llama4_without_config_is_read_by_layout(tmp_path):
    build("llama4_text", tmp_path, **TINY)
    (tmp_path / "config.json").unlink()
    model = open_model(str(tmp_path), n_heads=4)
    assert model.arch == "llama4_text" and model.cfg.moe_layers == (1,) and model.cfg.d_expert == 40
    assert_all_accounted(model)
