"""Check multi-head latent attention (DeepSeek-V2/V3) read through the schema against the model's own modules.

For every layer, on the attention module's own input x, with position_ids of zeros (rotary is the identity):
- the factors (W_Q_a, q_a_norm, W_Q_b; W_KV_a, kv_a_norm, W_K_b, W_V_b, W_K_rope) give the module's queries
  (q_b_proj's output), keys' no-rope part and values (kv_b_proj's output) and the rotary key;
- the attention pattern from those q and k equals the model's, and pattern @ v @ W_O (+ b_O) its output;
- the per-head views W_Q, W_K, W_V equal those projections times the latent norm's rms, one factor per token
  (W_K's rotary columns exactly), as the family's docstring says;
- dense layers' MLPs (W_gate, W_in, W_out) equal the MLP module's output.
"""
from __future__ import annotations

import numpy as np
import torch
from transformers.activations import ACT2FN

from tests.adapters.harness import _module


def _rms(z: np.ndarray, eps: float) -> np.ndarray:
    return np.sqrt((z * z).mean(-1, keepdims=True) + eps)  # (seq, 1)


def check_mla(hf, model, layer_path: str = "model.layers.{l}.", seq: int = 7, atol: float = 1e-4,
              eps: float = 1e-6) -> None:
    cfg = model.cfg
    nope = cfg.d_head - cfg.d_head_rope
    grabbed: dict[str, torch.Tensor] = {}
    hooks = []
    attention = model.layers("attn.W_KV_a")  # every layer, or a hybrid's MLA layers only (Kimi Linear)

    def keep(key, output=True):
        def hook(mod, args, kwargs_or_out, *rest):
            value = kwargs_or_out if output else (args[0] if args else kwargs_or_out["hidden_states"])
            grabbed[key] = (value[0] if isinstance(value, tuple) else value).detach().clone()
        return hook

    for l in attention:
        at = lambda path: _module(hf, layer_path.format(l=l) + path)
        hooks.append(at("self_attn").register_forward_pre_hook(keep(f"x{l}", output=False), with_kwargs=True))
        hooks.append(at("self_attn").register_forward_hook(keep(f"out{l}")))
        q_module = "self_attn.q_b_proj" if cfg.q_lora_rank else "self_attn.q_proj"
        for name, path in (("q", q_module), ("kv", "self_attn.kv_b_proj"), ("kv_a", "self_attn.kv_a_proj_with_mqa")):
            hooks.append(at(path).register_forward_hook(keep(f"{name}{l}")))
        hooks.append(at("mlp").register_forward_pre_hook(keep(f"m_in{l}", output=False), with_kwargs=True))
        hooks.append(at("mlp").register_forward_hook(keep(f"m_out{l}")))
    ids = torch.randint(3, cfg.d_vocab, (1, seq))
    with torch.no_grad():
        out = hf(input_ids=ids, position_ids=torch.zeros(1, seq, dtype=torch.long), output_attentions=True)
    for h in hooks:
        h.remove()

    for l in attention:
        w = lambda s: model.weight(f"blocks.{l}.{s}")
        x = grabbed[f"x{l}"][0].double().numpy()  # (seq, d_model)
        heads = lambda t, width: t[0].double().numpy().reshape(seq, cfg.n_heads, width).transpose(1, 0, 2)
        if cfg.q_lora_rank:
            z_q = x @ w("attn.W_Q_a")  # (seq, q_lora_rank)
            q = (z_q / _rms(z_q, eps) * w("attn.q_a_norm.w")) @ w("attn.W_Q_b")  # (n_heads, seq, d_head)
            scale_q = _rms(z_q, eps)
        else:
            q, scale_q = np.einsum("sd,hde->hse", x, w("attn.W_Q")), 1.0
        z_kv = x @ w("attn.W_KV_a")  # (seq, kv_lora_rank)
        latent = z_kv / _rms(z_kv, eps) * w("attn.kv_a_norm.w")
        k_nope, v = latent @ w("attn.W_K_b"), latent @ w("attn.W_V_b")  # (n_heads, seq, nope), (n_heads, seq, d_head_v)
        k_rope = x @ w("attn.W_K_rope")  # (seq, d_head_rope): one for every head
        np.testing.assert_allclose(q, heads(grabbed[f"q{l}"], cfg.d_head), atol=atol, err_msg=f"layer {l}: queries")
        kv = heads(grabbed[f"kv{l}"], nope + cfg.d_head_v)
        np.testing.assert_allclose(k_nope, kv[..., :nope], atol=atol, err_msg=f"layer {l}: keys (no rope)")
        np.testing.assert_allclose(v, kv[..., nope:], atol=atol, err_msg=f"layer {l}: values")
        np.testing.assert_allclose(k_rope, grabbed[f"kv_a{l}"][0].double().numpy()[:, cfg.kv_lora_rank:], atol=atol,
                                   err_msg=f"layer {l}: rotary key")
        k = np.concatenate([k_nope, np.broadcast_to(k_rope, (cfg.n_heads, seq, cfg.d_head_rope))], axis=-1)
        scores = q @ k.transpose(0, 2, 1) * (cfg.attn_scale or cfg.d_head ** -0.5)
        scores = np.where(np.tril(np.ones((seq, seq), bool)), scores, -np.inf)
        pattern = np.exp(scores - scores.max(-1, keepdims=True))
        pattern /= pattern.sum(-1, keepdims=True)
        recorded = out.attentions[l if len(out.attentions) == cfg.n_layers else attention.index(l)]  # hybrids: MLA only
        np.testing.assert_allclose(pattern, recorded[0].double().numpy(), atol=atol,
                                   err_msg=f"layer {l}: attention pattern")
        attn_out = np.einsum("hse,hed->sd", pattern @ v, w("attn.W_O"))
        if model.has(f"blocks.{l}.attn.b_O"):
            attn_out += w("attn.b_O")
        np.testing.assert_allclose(attn_out, grabbed[f"out{l}"][0].double().numpy(), atol=atol,
                                   err_msg=f"layer {l}: attention output")
        # the per-head views: the model's projections times the latent norm's rms, per token
        np.testing.assert_allclose(np.einsum("sd,hde->hse", x, w("attn.W_Q")), q * scale_q, atol=atol,
                                   err_msg=f"layer {l}: W_Q view")
        view_k = np.einsum("sd,hde->hse", x, w("attn.W_K"))
        np.testing.assert_allclose(view_k[..., :nope], k_nope * _rms(z_kv, eps), atol=atol,
                                   err_msg=f"layer {l}: W_K view")
        np.testing.assert_allclose(view_k[..., nope:], k[..., nope:], atol=atol, err_msg=f"layer {l}: W_K rotary")
        np.testing.assert_allclose(np.einsum("sd,hde->hse", x, w("attn.W_V")), v * _rms(z_kv, eps), atol=atol,
                                   err_msg=f"layer {l}: W_V view")
        if model.has(f"blocks.{l}.mlp.W_in"):  # a dense layer
            xm = grabbed[f"m_in{l}"][0].double().numpy()
            gate = ACT2FN[cfg.act](torch.from_numpy(xm @ w("mlp.W_gate"))).numpy()
            np.testing.assert_allclose(gate * (xm @ w("mlp.W_in")) @ w("mlp.W_out"),
                                       grabbed[f"m_out{l}"][0].double().numpy(), atol=atol,
                                       err_msg=f"layer {l}: dense MLP output")
