"""NLLB-MoE against its own forward pass (harness_encdec) and, by hand, its experts.

harness_moe.check_moe does not fit: NLLB-MoE's router returns (top-1 mask, capacity-limited combine weights,
logits) and its experts module takes that mask, not (top_k_index, top_k_weights). So the router's logits and
every expert (its own `expert_{e}` module, on the same input) are checked here one by one; the whole block, with
its capacity limits, is left to the model."""
import numpy as np
import torch

from adapters import open_model
from tests.adapters.harness import assert_all_accounted
from tests.adapters.harness_encdec import EncDecSpec, StackSpec, build_seq2seq, check_forward
from tests.adapters.test_bart import TINY

SPARSE = dict(num_experts=4, encoder_sparse_step=2, decoder_sparse_step=2, router_bias=True)


def spec() -> EncDecSpec:
    def stack(own: str, decoder: bool) -> StackSpec:
        layer = f"model.{own}.layers.{{l}}."
        norms = {"ln1.w": layer + "self_attn_layer_norm", "ln2.w": layer + "ff_layer_norm",
                 "ln_final.w": f"model.{own}.layer_norm"}
        if decoder:
            norms["ln_cross.w"] = layer + "cross_attention_layer_norm"
        return StackSpec(attn=layer + "self_attn", mlp=layer + "ffn", cross=layer + "cross_attention" if decoder
                         else None, norms=norms)
    return EncDecSpec(encoder=stack("encoder", False), decoder=stack("decoder", True))


def check_experts(hf, model, stack: str, own: str, layer: int, seq: int = 9) -> None:
    ffn = getattr(hf.model, own).layers[layer].ffn
    x = torch.randn(seq, model.cfg.d_model) * 0.5
    name = lambda s: f"{stack}.{layer}.mlp.{s}"  # noqa: E731
    with torch.no_grad():
        logits = ffn.router(x)[2].double().numpy()
        np.testing.assert_allclose(x.double().numpy() @ model.weight(name("W_router")) + model.weight(name("b_router")),
                                   logits, atol=1e-5, err_msg=f"{stack} {layer}: router logits")
        for e in range(model.n_experts(name("experts.W_in"))):
            w = lambda s: model.weight(name(f"experts.{s}"), expert=e)  # noqa: E731
            hidden = np.maximum(x.double().numpy() @ w("W_in") + w("b_in"), 0)  # relu
            np.testing.assert_allclose(hidden @ w("W_out") + w("b_out"), ffn.experts[f"expert_{e}"](x).double().numpy(),
                                       atol=1e-5, err_msg=f"{stack} {layer}: expert {e}")


def test_tiny_nllb_moe_matches_forward_pass(tmp_path):
    hf, model = build_seq2seq("nllb-moe", tmp_path, **TINY, **SPARSE)
    c = model.cfg
    assert model.arch == "nllb_moe" and model.has_heads and model.stacks() == ["blocks", "encoder"]
    assert (c.n_layers, c.n_encoder_layers, c.n_heads, c.d_head, c.d_mlp, c.d_expert) == (3, 2, 4, 8, 48, 48)
    assert (c.n_experts, c.n_experts_per_token, c.moe_layers, c.norm_position) == (4, 2, (1,), "pre")
    assert model.layers("mlp.W_in") == [0, 2] and model.view("encoder").layers("mlp.W_router") == [1]
    assert any("moe_token_dropout" in n.text for n in c.notes)
    check_forward(hf, model, spec())  # every attention, norm and dense MLP; experts below
    check_experts(hf, model, "blocks", "decoder", 1)
    check_experts(hf, model, "encoder", "encoder", 1)
    assert_all_accounted(model)


def test_nllb_moe_without_config_is_read_by_layout(tmp_path):
    build_seq2seq("nllb-moe", tmp_path, **TINY, **SPARSE)
    (tmp_path / "config.json").unlink()
    model = open_model(str(tmp_path), n_heads=4)
    c = model.cfg
    assert model.arch == "nllb_moe" and model.has_heads
    assert (c.n_experts, c.d_expert, c.moe_layers, c.n_encoder_layers) == (4, 48, (1,), 2)
    assert_all_accounted(model)
