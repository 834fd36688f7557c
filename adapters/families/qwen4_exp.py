"""Qwen4-Exp (text): Qwen3.5's layers (Gated DeltaNet in some, gated softmax attention in the others, experts with
a gated shared expert in every layer) on hyper-connections in place of one residual stream.

    h: hc_count (4) residual streams side by side, [hc_count * d_model]; the embedding is repeated into each.
    per sublayer:  n = hc_norm(h)                      RMSNorm over each stream, scaling by 1 + w
                   x = mean_s(sigmoid(up(silu(down(n) / hc_count)))[s] * n[s])     what the sublayer reads
                   h = h + (sublayer(x) written into stream s times 2 * sigmoid(block_inject(n) / hc_count)[s])
    at the end:    the same mix without the write-back, then lm_head; no other final norm

So there is no ln1, ln2 or ln_final: what each sublayer reads is a learned, input-dependent mix of normed streams.
The attention and expert weights act on that x exactly as Qwen3.5's do and map per head; the hyper-connection
tensors (hc_norm, input_mix_weight_down/up, block_inject_weight) act on all streams at once, have no heads, and
stay outside the schema, as does each attention layer's indexer: it picks which earlier tokens may be attended
(top-scoring blocks of keys, within indexer_budget), a mask on the pattern that holds no per-head weights.
"""
from __future__ import annotations

from dataclasses import replace

from ..config import ModelConfig, Note
from ..layout import Layout, Tensors
from ..registry import register
from .llama import L, Llama
from .qwen3_next import LINEAR, Qwen35

HC = ("attn_hyper_connection", "mlp_hyper_connection")
HC_NORM = L + "mlp_hyper_connection.hc_norm.weight"  # in every layer, whatever its mixer


@register
class Qwen4ExpText(Qwen35):
    arch = "qwen4_exp_text"
    model_types = ("qwen4_exp_text",)
    layer_anchor = HC_NORM
    layout = Layout(requires=(Llama.anchor, HC_NORM, L + "attn_hyper_connection.block_inject_weight.weight",
                              LINEAR + "in_proj_qkv.weight"))
    ignored = {
        **Qwen35.ignored,
        r"(?:^|\.)(?:layers\.\d+\.(?:attn|mlp)_hyper_connection|hyper_connection_mixer)\.": (
            "other", "hyper-connections: mix and write back hc_count residual streams at once, no attention heads"),
        r"\.self_attn\.indexer\.": ("other", "the attention's token selector: a mask on the pattern, not per head"),
    }

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = super().facts(cfg, hf, tensors)
        rope = hf.get("rope_parameters")
        factor = (rope.get("partial_rotary_factor") if isinstance(rope, dict) else None) or 1.0  # unlike Qwen3.5
        n = cfg.n_layers or 0
        inject = next((tensors.shape(L + "attn_hyper_connection.block_inject_weight.weight", l) for l in range(n)
                       if tensors.has(L + "attn_hyper_connection.block_inject_weight.weight", l)), None)
        streams = inject[0] if inject else hf.get("hc_count")  # [hc_count, hc_count * d_model]
        return replace(cfg, rotary_dim=int((cfg.d_head or 0) * factor) or None).with_notes(Note("maths", (
            f"Hyper-connections: {streams} residual streams; each attention and MLP reads a learned mix of the "
            "normed streams (no ln1 / ln2 / ln_final) and writes its output back into every stream with a learned "
            "weight. Those tensors, and each attention layer's token indexer, stay outside the schema.")))
