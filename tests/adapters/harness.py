"""Check an adapter against the architecture's own forward pass (transformers, eager attention).

Build a tiny random model, perturb every parameter (so a dropped bias or a default norm
would show), save it, open it with `open_model`, then compare, for every layer:
- the attention pattern computed from W_Q, b_Q, W_K, b_K with the model's own probabilities;
- the attention output from W_V, b_V, W_O, b_O with the attention module's output;
- the MLP output from W_in, b_in, (W_gate), W_out, b_out with the MLP module's output.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from transformers import AutoConfig, AutoModel, AutoModelForCausalLM
from transformers.activations import ACT2FN

from adapters import open_model


@dataclass
class Spec:
    """Where to hook one layer's modules, as dotted paths with {l} for the layer index."""
    attn: str  # its input is x for attention; its output[0] is the attention output unless attn_out is set
    mlp: str  # its input is x for the MLP; its output is the MLP output unless mlp_out is set
    attn_out: str | None = None
    mlp_out: str | None = None
    causal: bool = True
    zero_positions: bool = False  # rotary models: position_ids of zeros make rotary the identity
    alibi: bool = False
    extra_inputs: dict = field(default_factory=dict)
    scale: float | None = None  # attention score multiplier; None: 1/sqrt(d_head) (Gemma2: query_pre_attn_scalar**-0.5)
    softcap: float | None = None  # attention scores capped as cap * tanh(s / cap) before the mask (Gemma2)
    # schema norm slot ('blocks.{l}.ln1.w', 'ln_final.w') -> its module, checked on the module's own input and output
    norms: dict = field(default_factory=dict)
    alibi_scale: float = 1.0  # multiplier on the alibi bias (Falcon scales it along with q.k)
    window: int | None = None  # sliding-window layers attend to the last `window` tokens, themselves included
    window_layers: tuple[int, ...] = ()  # which layers the window applies to (Gemma3: 5 in 6)
    sinks: bool = False  # each head's attn.sinks logit joins its softmax's denominator, attending to nothing (gpt-oss)
    # (model, layer, seq) -> (n_heads, seq, seq) added to the scores before the mask: a relative position bias the
    # test rebuilds from the model's own slots (MPNet's W_rel through transformers' bucket function)
    score_bias: object = None
    # the MLP's activation as a module of the model ('model.layers.{l}.mlp.act_fn'), for one with learned
    # parameters of its own (Apertus's xIELU); None: ACT2FN[cfg.act]
    act_module: str | None = None


def build(model_type: str, tmp_path, causal_lm: bool = True, seed: int = 0, **config):
    """A tiny random transformers model with perturbed parameters, saved as safetensors."""
    torch.manual_seed(seed)
    cfg = AutoConfig.for_model(model_type, **config)
    cls = AutoModelForCausalLM if causal_lm else AutoModel
    hf = cls.from_config(cfg, attn_implementation="eager").eval()
    with torch.no_grad():
        for p in hf.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    hf.save_pretrained(tmp_path)
    return hf, open_model(str(tmp_path))


def _module(root, path: str):
    for part in path.split("."):
        root = getattr(root, part) if not part.isdigit() else root[int(part)]
    return root


def _rms(x, w, eps=1e-6):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w


def _rms_heads(x, w, eps):
    """RMSNorm over all heads at once (OLMo2's q/k norm), x (heads, seq, d_head), w (heads, d_head)."""
    n, seq, d = x.shape
    flat = _rms(x.transpose(1, 0, 2).reshape(seq, n * d), w.reshape(-1), eps)
    return flat.reshape(seq, n, d).transpose(1, 0, 2)


def _alibi(n_heads: int, seq: int) -> np.ndarray:
    """Bloom's bias: slope_h * key position (a per-row constant shift would not change softmax)."""
    import math
    closest = 2 ** math.floor(math.log2(n_heads))
    base = 2 ** (-(2 ** -(math.log2(closest) - 3)))
    slopes = [base ** (i + 1) for i in range(closest)]
    if closest != n_heads:
        extra = 2 ** (-(2 ** -(math.log2(2 * closest) - 3)))
        slopes += [extra ** (2 * i + 1) for i in range(n_heads - closest)]
    return np.array(slopes)[:, None, None] * np.arange(seq)[None, None, :]


def check_forward(hf, model, spec: Spec, seq: int = 7, atol: float = 1e-4) -> None:
    cfg = model.cfg
    captured: dict[str, torch.Tensor] = {}
    hooks = []

    def grab_in(key):
        def hook(mod, args, kwargs):
            captured[key] = (args[0] if args else kwargs["hidden_states"]).detach()
        return hook

    def grab_out(key):
        def hook(mod, args, out):
            # clone: Falcon adds the attention output to the MLP's output tensor in place
            captured[key] = (out[0] if isinstance(out, tuple) else out).detach().clone()
        return hook

    # Hybrid models (Jamba, Nemotron-H) have attention, MLP and their norms in some layers only: each is
    # checked in the layers whose slots the model maps (every layer for a plain transformer).
    attn_layers, mlp_layers = model.layers("attn.W_Q"), model.layers("mlp.W_in")
    norm_keys = [(slot.format(l=l), path.format(l=l)) for slot, path in spec.norms.items()
                 for l in (model.layers(slot.split(".", 2)[2]) if "{l}" in slot else [0])]
    for name, path in norm_keys:
        hooks.append(_module(hf, path).register_forward_pre_hook(grab_in(name + ":in"), with_kwargs=True))
        hooks.append(_module(hf, path).register_forward_hook(grab_out(name + ":out")))
    for l in attn_layers:
        hooks.append(_module(hf, spec.attn.format(l=l)).register_forward_pre_hook(grab_in(f"a_in{l}"), with_kwargs=True))
        hooks.append(_module(hf, (spec.attn_out or spec.attn).format(l=l)).register_forward_hook(grab_out(f"a_out{l}")))
    for l in mlp_layers:
        hooks.append(_module(hf, spec.mlp.format(l=l)).register_forward_pre_hook(grab_in(f"m_in{l}"), with_kwargs=True))
        hooks.append(_module(hf, (spec.mlp_out or spec.mlp).format(l=l)).register_forward_hook(grab_out(f"m_out{l}")))
    kwargs = dict(spec.extra_inputs)
    if "pixel_values" not in kwargs:  # a vision model takes its image in extra_inputs instead of token ids
        kwargs["input_ids"] = torch.randint(3, cfg.d_vocab, (1, seq))
    if spec.zero_positions:
        kwargs["position_ids"] = torch.zeros(1, seq, dtype=torch.long)
    with torch.no_grad():
        out = hf(output_attentions=True, **kwargs)
    for h in hooks:
        h.remove()
    eps = (getattr(hf.config, "rms_norm_eps", None) or getattr(hf.config, "layer_norm_eps", None)
           or getattr(hf.config, "norm_epsilon", None) or getattr(hf.config, "layer_norm_epsilon", None)
           or getattr(hf.config, "norm_eps", None) or 1e-6)
    for name, _ in norm_keys:
        x = captured[name + ":in"][0].double().numpy()
        b_name = name[:-1] + "b"
        if cfg.norm == "rmsnorm":
            expected = _rms(x, model.weight(name), eps)
        else:
            centred = x - x.mean(-1, keepdims=True)
            expected = _rms(centred, model.weight(name), eps) + (model.weight(b_name) if model.has(b_name) else 0)
        np.testing.assert_allclose(expected, captured[name + ":out"][0].double().numpy(), atol=atol,
                                   err_msg=f"{name}: norm output")

    for l in attn_layers:
        w = lambda s: model.weight(f"blocks.{l}.{s}") if model.has(f"blocks.{l}.{s}") else None
        x = captured[f"a_in{l}"][0].double().numpy()  # (seq, d_model)
        q = np.einsum("sd,hde->hse", x, w("attn.W_Q"))
        k = np.einsum("sd,hde->hse", x, w("attn.W_K"))
        v = np.einsum("sd,hde->hse", x, w("attn.W_V"))
        for arr, b in ((q, w("attn.b_Q")), (k, w("attn.b_K")), (v, w("attn.b_V"))):
            if b is not None:
                arr += b[:, None, :]
        v = v * cfg.value_scale
        if cfg.qk_norm == "head_layernorm":  # LayerNorm over each head, weight and bias (Persimmon)
            q, k = (_rms(a - a.mean(-1, keepdims=True), w(f"attn.{s}_norm.w"), eps) + w(f"attn.{s}_norm.b")
                    for a, s in ((q, "q"), (k, "k")))
        elif cfg.qk_norm == "head_plain":  # RMSNorm over each head without a weight (NanoChat)
            q, k = _rms(q, 1.0, eps), _rms(k, 1.0, eps)
        elif w("attn.q_norm.w") is not None and cfg.qk_norm == "projection":
            q, k = _rms_heads(q, w("attn.q_norm.w"), eps), _rms_heads(k, w("attn.k_norm.w"), eps)
        elif w("attn.q_norm.w") is not None:
            q, k = _rms(q, w("attn.q_norm.w"), eps), _rms(k, w("attn.k_norm.w"), eps)
        _check_cached_kv(out, l, k, v, spec, atol)
        group = cfg.n_heads // cfg.n_kv_heads
        k, v = np.repeat(k, group, axis=0), np.repeat(v, group, axis=0)
        scores = q @ k.transpose(0, 2, 1) * (spec.scale or 1 / np.sqrt(cfg.d_head))  # (n_heads, seq, seq)
        if spec.softcap:
            scores = spec.softcap * np.tanh(scores / spec.softcap)
        if spec.alibi:
            scores = scores + _alibi(cfg.n_heads, seq) * spec.alibi_scale
        if spec.score_bias is not None:
            scores = scores + spec.score_bias(model, l, seq)
        if spec.causal:
            scores = np.where(np.tril(np.ones((seq, seq), bool)), scores, -np.inf)
        if spec.window and l in spec.window_layers:
            scores = np.where(np.triu(np.ones((seq, seq), bool), 1 - spec.window), scores, -np.inf)
        has_sinks = spec.sinks and w("attn.sinks") is not None  # MiMo-V2-Flash: in sliding-window layers only
        sink = w("attn.sinks")[:, None, None] if has_sinks else np.full((cfg.n_heads, 1, 1), -np.inf)
        top = np.maximum(scores.max(-1, keepdims=True), sink)  # (n_heads, seq, 1)
        pattern = np.exp(scores - top)
        pattern /= pattern.sum(-1, keepdims=True) + np.exp(sink - top)  # the sink's share is attention to nothing
        # a hybrid model records attention layers only
        recorded = out.attentions[l if len(out.attentions) == cfg.n_layers else attn_layers.index(l)]
        np.testing.assert_allclose(pattern, recorded[0].double().numpy(), atol=atol,
                                   err_msg=f"layer {l}: attention pattern")
        z = pattern @ v  # (n_heads, seq, d_head)
        if w("attn.W_gate") is not None:  # gated attention: each head's output scaled before W_O
            z = z / (1 + np.exp(-np.einsum("sd,hde->hse", x, w("attn.W_gate"))))
        if w("attn.W_gate_head") is not None:  # one gate value per head and position (LFM3)
            z = z / (1 + np.exp(-np.einsum("sd,hd->hs", x, w("attn.W_gate_head"))))[:, :, None]
        attn_out = np.einsum("hse,hed->sd", z, w("attn.W_O"))
        if w("attn.b_O") is not None:
            attn_out += w("attn.b_O")
        np.testing.assert_allclose(attn_out, captured[f"a_out{l}"][0].double().numpy(), atol=atol,
                                   err_msg=f"layer {l}: attention output")

    for l in mlp_layers:  # a mixture-of-experts layer has no mlp.W_in: tests/adapters/harness_moe.py checks it
        w = lambda s: model.weight(f"blocks.{l}.{s}") if model.has(f"blocks.{l}.{s}") else None
        xm = captured[f"m_in{l}"][0].double()
        act = ACT2FN[cfg.act]
        if spec.act_module:  # its learned parameters carry gradients: read its output detached
            act = lambda t, m=_module(hf, spec.act_module.format(l=l)): m(t).detach()  # noqa: E731
        pre = xm.numpy() @ w("mlp.W_in") + (w("mlp.b_in") if w("mlp.b_in") is not None else 0)
        if cfg.gated_mlp:
            gate = xm.numpy() @ w("mlp.W_gate") + (w("mlp.b_gate") if w("mlp.b_gate") is not None else 0)
            hidden = act(torch.from_numpy(gate)).numpy() * pre
        else:
            hidden = act(torch.from_numpy(pre)).numpy()
        mlp_out = hidden @ w("mlp.W_out") + (w("mlp.b_out") if w("mlp.b_out") is not None else 0)
        np.testing.assert_allclose(mlp_out, captured[f"m_out{l}"][0].double().numpy(), atol=atol,
                                   err_msg=f"layer {l}: MLP output")


def _check_cached_kv(out, layer: int, k: np.ndarray, v: np.ndarray, spec: Spec, atol: float) -> None:
    """Keys and values themselves, from the model's own KV cache: a key bias adds a constant to each
    query's scores, which softmax ignores, so only this check catches a wrong b_K. Decoders with a
    standard cache and rotary at position 0 (the identity) or no rotary at all are checked."""
    cache = getattr(out, "cache", None) or getattr(out, "past_key_values", None)
    layers = getattr(cache, "layers", None)
    if not layers or (not spec.zero_positions and not spec.alibi and spec.causal is False):
        return
    keys, values = getattr(layers[layer], "keys", None), getattr(layers[layer], "values", None)  # a Mamba layer: none
    if keys is None or tuple(keys.shape[1:]) != k.shape:
        return
    np.testing.assert_allclose(k, keys[0].double().numpy(), atol=atol, err_msg=f"layer {layer}: keys")
    np.testing.assert_allclose(v, values[0].double().numpy(), atol=atol, err_msg=f"layer {layer}: values")


def assert_all_accounted(model) -> None:
    """Every checkpoint tensor is mapped to the schema or deliberately left out with a reason."""
    assert model.unmapped == [], f"{model.arch} leaves tensors unmapped: {model.unmapped}"


def check_ends(hf, model, embed_scale: float = 1.0, softcap: float | None = None, seq: int = 7,
               atol: float = 1e-4, logit_scale: float = 1.0) -> None:
    """Embeddings in (W_E rows, times any constant scale) and logits out ((final residual @ W_U + b_U) times
    any constant scale, then any softcap)."""
    ids = torch.randint(3, model.cfg.d_vocab, (1, seq))
    with torch.no_grad():
        out = hf(input_ids=ids, output_hidden_states=True)
    np.testing.assert_allclose(model.weight("embed.W_E")[ids[0].numpy()] * embed_scale,
                               out.hidden_states[0][0].double().numpy(), atol=atol, err_msg="embeddings")
    logits = out.hidden_states[-1][0].double().numpy() @ model.weight("unembed.W_U")  # after the final norm
    if model.has("unembed.b_U"):
        logits += model.weight("unembed.b_U")
    logits = logits * logit_scale
    if softcap:
        logits = softcap * np.tanh(logits / softcap)
    np.testing.assert_allclose(logits, out.logits[0].double().numpy(), atol=atol, err_msg="logits")
