"""Check an encoder-decoder adapter against the model's own forward pass (transformers, eager attention).

Like harness.py, for two stacks: a tiny random seq2seq model with perturbed parameters is saved and opened,
then, for every encoder layer and every decoder layer, compared with what transformers computed:
- the self-attention pattern from W_Q, b_Q, W_K, b_K (plus T5's relative position bias, looked up from W_rel with
  transformers' own bucket function: bidirectional in the encoder, causal in the decoder) and its output;
- in the decoder, the cross-attention pattern and output, keys and values from the encoder's final output;
- the MLP output, every norm on its module's own input, and the embeddings in and logits out.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from transformers import AutoConfig, AutoModelForSeq2SeqLM
from transformers.activations import ACT2FN
from transformers.models.t5.modeling_t5 import T5Attention

from adapters import open_model
from adapters.schema import MAIN, name
from tests.adapters.harness import _module, _rms


@dataclass
class StackSpec:
    """Where to hook one stack's modules, as dotted paths with {l} for the layer index."""
    attn: str  # self-attention: its input is x, its output[0] the attention output
    mlp: str  # its input is the MLP's x; its output the MLP's output unless mlp_out is set
    mlp_out: str | None = None
    cross: str | None = None  # cross-attention (the decoder): input x; keys and values from the encoder's output
    norms: dict = field(default_factory=dict)  # schema norm slot ('ln1.w', 'ln_final.w') -> its module path


@dataclass
class EncDecSpec:
    encoder: StackSpec
    decoder: StackSpec
    eps: float = 1e-5  # the norms' epsilon


def build_seq2seq(model_type: str, tmp_path, seed: int = 0, **config):
    """A tiny random seq2seq LM with perturbed parameters, saved as safetensors, and the adapter's view of it."""
    torch.manual_seed(seed)
    cfg = AutoConfig.for_model(model_type, **config)
    hf = AutoModelForSeq2SeqLM.from_config(cfg, attn_implementation="eager").eval()
    with torch.no_grad():
        for p in hf.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    hf.save_pretrained(tmp_path)
    return hf, open_model(str(tmp_path))


def _bias(model, stack: str, layer: int, n_q: int, n_k: int, causal: bool) -> np.ndarray | float:
    """T5's position bias (n_heads, n_q, n_k) for this layer: its own W_rel (UMT5) or its stack's; 0 if none."""
    own, shared = name("attn.W_rel", layer, stack), name("pos_embed.W_rel", stack=stack)
    w_rel = model.weight(own) if model.has(own) else model.weight(shared) if model.has(shared) else None
    if w_rel is None:
        return 0.0
    relative = torch.arange(n_k)[None, :] - torch.arange(n_q)[:, None]  # key - query
    buckets = T5Attention._relative_position_bucket(relative, bidirectional=not causal, num_buckets=w_rel.shape[0],
                                                    max_distance=model.cfg.rel_max_distance).numpy()
    return w_rel[buckets].transpose(2, 0, 1)  # (n_heads, n_q, n_k)


def _attention(model, stack: str, layer: int, sub: str, x: np.ndarray, kv: np.ndarray, causal: bool,
               expected_pattern: np.ndarray, expected_out: np.ndarray, atol: float) -> None:
    """One attention block's pattern and output from the schema weights (sub: 'attn' or 'cross_attn')."""
    def w(slot):
        n = name(f"{sub}.{slot}", layer, stack)
        return model.weight(n) if model.has(n) else None

    q = np.einsum("sd,hde->hse", x, w("W_Q"))  # (n_heads, n_q, d_head)
    k = np.einsum("sd,hde->hse", kv, w("W_K"))  # (n_kv_heads, n_k, d_head)
    v = np.einsum("sd,hde->hse", kv, w("W_V"))
    for arr, b in ((q, w("b_Q")), (k, w("b_K")), (v, w("b_V"))):
        if b is not None:
            arr += b[:, None, :]
    cfg = model.cfg
    scale = cfg.attn_scale if cfg.attn_scale is not None else 1 / np.sqrt(cfg.d_head)
    scores = q @ k.transpose(0, 2, 1) * scale  # (n_heads, n_q, n_k)
    if sub == "attn":
        scores = scores + _bias(model, stack, layer, len(x), len(kv), causal)
    if causal and sub == "attn":
        scores = np.where(np.tril(np.ones(scores.shape[1:], bool)), scores, -np.inf)
    pattern = np.exp(scores - scores.max(-1, keepdims=True))
    pattern /= pattern.sum(-1, keepdims=True)
    where = f"{stack} layer {layer}: {sub}"
    np.testing.assert_allclose(pattern, expected_pattern, atol=atol, err_msg=f"{where} pattern")
    out = np.einsum("hse,hed->sd", pattern @ v, w("W_O"))
    if w("b_O") is not None:
        out += w("b_O")
    np.testing.assert_allclose(out, expected_out, atol=atol, err_msg=f"{where} output")


def _mlp(model, stack: str, layer: int, x: np.ndarray, expected: np.ndarray, atol: float) -> None:
    def w(slot):
        n = name(f"mlp.{slot}", layer, stack)
        return model.weight(n) if model.has(n) else 0.0

    act = ACT2FN[model.cfg.act]
    pre = x @ w("W_in") + w("b_in")  # (seq, d_mlp)
    hidden = act(torch.from_numpy(x @ w("W_gate"))).numpy() * pre if model.cfg.gated_mlp \
        else act(torch.from_numpy(pre)).numpy()
    np.testing.assert_allclose(hidden @ w("W_out") + w("b_out"), expected, atol=atol,
                               err_msg=f"{stack} layer {layer}: MLP output")


def _norm(model, slot_name: str, x: np.ndarray, expected: np.ndarray, eps: float, atol: float) -> None:
    b_name = slot_name[:-1] + "b"
    if model.cfg.norm == "rmsnorm":
        got = _rms(x, model.weight(slot_name), eps)
    else:
        got = _rms(x - x.mean(-1, keepdims=True), model.weight(slot_name), eps)
        got = got + (model.weight(b_name) if model.has(b_name) else 0)
    np.testing.assert_allclose(got, expected, atol=atol, err_msg=f"{slot_name}: norm output")


def check_forward(hf, model, spec: EncDecSpec, seq: int = 9, dec_seq: int = 6, atol: float = 1e-4) -> None:
    """Every encoder and decoder layer of `model` against `hf`'s forward pass (see the module docstring)."""
    captured: dict[str, np.ndarray] = {}
    hooks = []

    def grab_in(key):
        def hook(mod, args, kwargs):
            captured[key] = (args[0] if args else kwargs["hidden_states"])[0].detach().double().numpy()
        return hook

    def grab_out(key):
        def hook(mod, args, out):
            captured[key] = (out[0] if isinstance(out, tuple) else out)[0].detach().double().numpy()
        return hook

    def watch(path, key, output_path=None):
        hooks.append(_module(hf, path).register_forward_pre_hook(grab_in(key + ":in"), with_kwargs=True))
        hooks.append(_module(hf, output_path or path).register_forward_hook(grab_out(key + ":out")))

    stacks = {"encoder": (spec.encoder, model.cfg.n_encoder_layers), MAIN: (spec.decoder, model.cfg.n_layers)}
    for stack, (s, n_layers) in stacks.items():
        for l in range(n_layers):
            watch(s.attn.format(l=l), f"{stack}{l}attn")
            watch(s.mlp.format(l=l), f"{stack}{l}mlp", (s.mlp_out or s.mlp).format(l=l))
            if s.cross:
                watch(s.cross.format(l=l), f"{stack}{l}cross")
        for slot, path in s.norms.items():
            for l in (range(n_layers) if "{l}" in path else [None]):
                watch(path.format(l=l), name(slot, l, stack))
    ids, dec_ids = torch.randint(3, model.cfg.d_vocab, (1, seq)), torch.randint(3, model.cfg.d_vocab, (1, dec_seq))
    with torch.no_grad():
        out = hf(input_ids=ids, decoder_input_ids=dec_ids, output_attentions=True, output_hidden_states=True)
    for h in hooks:
        h.remove()

    encoded = out.encoder_last_hidden_state[0].double().numpy()  # (seq, d_model): cross-attention's keys and values
    for stack, (s, n_layers) in stacks.items():
        patterns = out.encoder_attentions if stack == "encoder" else out.decoder_attentions
        for l in range(n_layers):
            x = captured[f"{stack}{l}attn:in"]
            _attention(model, stack, l, "attn", x, x, stack == MAIN, patterns[l][0].double().numpy(),
                       captured[f"{stack}{l}attn:out"], atol)
            if s.cross:
                _attention(model, stack, l, "cross_attn", captured[f"{stack}{l}cross:in"], encoded, False,
                           out.cross_attentions[l][0].double().numpy(), captured[f"{stack}{l}cross:out"], atol)
            if model.has(name("mlp.W_in", l, stack)):  # not a mixture of experts
                _mlp(model, stack, l, captured[f"{stack}{l}mlp:in"], captured[f"{stack}{l}mlp:out"], atol)
        for slot, path in s.norms.items():
            for l in (range(n_layers) if "{l}" in path else [None]):
                key = name(slot, l, stack)
                _norm(model, key, captured[key + ":in"], captured[key + ":out"], spec.eps, atol)
    _check_logits(model, out, atol)


def _check_logits(model, out, atol: float) -> None:
    """logits = (decoder's final residual @ W_U + b_U) * logit_scale (T5 1.0 scales by d_model**-0.5)."""
    final = out.decoder_hidden_states[-1][0].double().numpy()  # after the final norm, where there is one
    logits = final @ model.weight("unembed.W_U") * model.cfg.logit_scale
    if model.has("unembed.b_U"):
        logits += model.weight("unembed.b_U")
    np.testing.assert_allclose(logits, out.logits[0].double().numpy(), atol=atol, err_msg="logits")
