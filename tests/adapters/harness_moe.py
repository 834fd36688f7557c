"""Check a mixture-of-experts layer read through the schema against the model's own modules.

For every MoE layer of a tiny random model (parameters perturbed), on the MoE block's own input x:
- router logits: x @ W_router (+ b_router) equal the router module's logits;
- every expert: its output from W_gate[e], W_in[e], W_out[e] (and biases), read one expert at a time with
  `model.weight(name, expert=e)`, equals the experts module run with every token sent to expert e at
  weight 1 (transformers 5's fused `Experts(hidden, top_k_index, top_k_weights)` interface);
- the whole block: the experts the router chose, weighted as it weighted them, plus any shared expert,
  equal the block's output.
"""
from __future__ import annotations

import numpy as np
import torch
from transformers.activations import ACT2FN

from tests.adapters.harness import _module


def expert_mlp(model, layer: int, e: int, x: np.ndarray, act, limit: float | None = None,
               glu: str = "plain") -> np.ndarray:
    """One expert's output from the schema; x (seq, d_model)."""
    name = lambda s: f"blocks.{layer}.mlp.experts.{s}"
    w = lambda s: model.weight(name(s), expert=e) if model.has(name(s)) else None
    up = x @ w("W_in") + (w("b_in") if w("b_in") is not None else 0)
    if w("W_gate") is None:  # an ungated expert (Nemotron-H): act(x @ W_in) @ W_out
        return act(torch.from_numpy(up)).numpy() @ w("W_out") + (w("b_out") if w("b_out") is not None else 0)
    gate = x @ w("W_gate") + (w("b_gate") if w("b_gate") is not None else 0)
    if glu == "gpt_oss":  # clamped, and up shifted by one: gpt-oss's own GLU
        gate, up = np.minimum(gate, limit), np.clip(up, -limit, limit)
        hidden = (up + 1) * (gate / (1 + np.exp(-1.702 * gate)))
    else:
        hidden = act(torch.from_numpy(gate)).numpy() * up
    return hidden @ w("W_out") + (w("b_out") if w("b_out") is not None else 0)


def shared_mlp(model, layer: int, x: np.ndarray, act) -> np.ndarray:
    w = lambda s: model.weight(f"blocks.{layer}.mlp.shared.{s}")
    if not model.has(f"blocks.{layer}.mlp.shared.W_gate"):  # ungated (Nemotron-H)
        return act(torch.from_numpy(x @ w("W_in"))).numpy() @ w("W_out")
    out = (act(torch.from_numpy(x @ w("W_gate"))).numpy() * (x @ w("W_in"))) @ w("W_out")
    if model.has(f"blocks.{layer}.mlp.shared.W_router"):
        out = out / (1 + np.exp(-(x @ w("W_router"))))
    return out


def check_moe(hf, model, block: str, router: str = "gate", experts: str = "experts", seq: int = 9,
              atol: float = 1e-4, glu: str = "plain", limit: float | None = None, layers=None,
              shared_in_block: bool = True) -> int:
    """Check every MoE layer (or `layers`); `block` is the MoE module's path with {l}; returns layers checked.
    shared_in_block=False: the shared expert runs outside `block` (Granite-MoE-Shared), so the block's output is
    the routed experts' alone."""
    cfg = model.cfg
    act = ACT2FN[cfg.act]
    layers = model.layers("mlp.W_router") if layers is None else layers
    assert layers, "no MoE layer read"
    torch.manual_seed(1)
    for l in layers:
        mod = _module(hf, block.format(l=l))
        x = torch.randn(seq, cfg.d_model) * 0.5  # float32: fused expert kernels take no float64
        mod = mod
        with torch.no_grad():
            logits, scores, index = getattr(mod, router)(x)[:3]
            xs = x.double().numpy()
            expected = xs @ model.weight(f"blocks.{l}.mlp.W_router")
            if model.has(f"blocks.{l}.mlp.b_router"):
                expected = expected + model.weight(f"blocks.{l}.mlp.b_router")
            np.testing.assert_allclose(expected, logits.double().numpy(), atol=atol, err_msg=f"layer {l}: router logits")
            n = model.n_experts(f"blocks.{l}.mlp.experts.W_in")
            assert n == cfg.n_experts, (n, cfg.n_experts)
            outs = []
            for e in range(n):
                forced = getattr(mod, experts)(x, torch.full((seq, 1), e), torch.ones(seq, 1, dtype=x.dtype))
                outs.append(expert_mlp(model, l, e, xs, act, limit, glu))
                np.testing.assert_allclose(outs[-1], forced.double().numpy(), atol=atol, err_msg=f"layer {l}: expert {e}")
            combined = sum(scores.double().numpy()[:, k, None] * np.stack(outs)[index.numpy()[:, k], np.arange(seq)]
                           for k in range(index.shape[1]))
            if shared_in_block and model.has(f"blocks.{l}.mlp.shared.W_in"):
                combined = combined + shared_mlp(model, l, xs, act)
            whole = mod(x[None])
            whole = whole[0] if isinstance(whole, tuple) else whole
            np.testing.assert_allclose(combined, whole.reshape(seq, -1).double().numpy(), atol=atol,
                                       err_msg=f"layer {l}: MoE block output")
    return len(layers)
