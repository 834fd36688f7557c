"""CPM-Ant (cpmant): a bidirectional stack of pre-norm layers with T5's bucketed relative position bias, a gated
GELU MLP and a segment embedding, under `cpmant.`.

    input_embedding [vocab_size + prompt_types*prompt_length, d_model]   the vocabulary, then the learned prompt
                                                    tokens the model prepends itself (W_E keeps every row)
    segment_embedding [segment_types, d_model]      added to every token -> token_type_embed.W_token_type
    position_bias.relative_attention_bias [num_buckets + segment_types^2, n_heads]
        rows [0, num_buckets): a bias per distance bucket of key - query (T5's bidirectional buckets), used
        between tokens of one segment -> pos_embed.W_rel; the segment_types^2 rows after them are one bias per
        (query segment, key segment) pair, used between different segments (a layout note: outside the schema)
    self_att.self_attention.project_q/k/v, attention_out   bias-free, n_heads heads of dim_head
    ffn.ffn.w_in.w_0 (gate, through GELU), w_in.w_1 (up), w_out                 gelu(x @ w_0) * (x @ w_1) @ w_out
    layernorm_before_attention, layernorm_before_ffn, encoder.output_layernorm  RMSNorms (weight only)
Scores are q.k / sqrt(dim_head) + the bias; every token attends to every other (the mask only hides padding).
"""
from __future__ import annotations

from dataclasses import replace

from ..config import ModelConfig, Note
from ..family import Family
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import heads_in, heads_out, same, transpose

L = "encoder.layers.{l}."
ATTN = L + "self_att.self_attention."
FFN = L + "ffn.ffn."
REL = "position_bias.relative_attention_bias"


def _distance_rows(cfg, w):
    """[num_buckets + segment_types^2, n_heads] -> W_rel [num_buckets, n_heads]: the distance buckets."""
    return w[:cfg.rel_buckets]


@register
class CpmAnt(Family):
    arch = "cpmant"
    model_types = ("cpmant",)
    anchor = "input_embedding.weight"  # prefix 'cpmant.'
    layer_anchor = ATTN + "project_q.weight"
    layout = Layout(requires=(anchor, ATTN + "project_q.weight", FFN + "w_in.w_0.weight", REL))
    defaults = {"positional": "none", "norm": "rmsnorm", "gated_mlp": True, "act": "gelu", "tied_embeddings": False,
                "rel_buckets": 512, "rel_max_distance": 2048}
    rules = {
        "embed.W_E": ("input_embedding.weight", same),
        "token_type_embed.W_token_type": ("segment_embedding.weight", same),
        "pos_embed.W_rel": (REL, _distance_rows),
        "blocks.{l}.ln1.w": (L + "self_att.layernorm_before_attention.weight", same),
        "blocks.{l}.attn.W_Q": (ATTN + "project_q.weight", heads_in()),  # [n_heads*d_head, d_model]
        "blocks.{l}.attn.W_K": (ATTN + "project_k.weight", heads_in()),
        "blocks.{l}.attn.W_V": (ATTN + "project_v.weight", heads_in()),
        "blocks.{l}.attn.W_O": (ATTN + "attention_out.weight", heads_out),  # [d_model, n_heads*d_head]
        "blocks.{l}.ln2.w": (L + "ffn.layernorm_before_ffn.weight", same),
        "blocks.{l}.mlp.W_gate": (FFN + "w_in.w_0.weight", transpose),  # [d_mlp, d_model]
        "blocks.{l}.mlp.W_in": (FFN + "w_in.w_1.weight", transpose),
        "blocks.{l}.mlp.W_out": (FFN + "w_out.weight", transpose),  # [d_model, d_mlp]
        "ln_final.w": ("encoder.output_layernorm.weight", same),
        "unembed.W_U": ("lm_head.weight", transpose),  # [vocab_size, d_model], no prompt rows
    }

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        embed, head, gate = (tensors.shape(t) for t in ("input_embedding.weight", "lm_head.weight",
                                                         FFN + "w_in.w_0.weight"))
        return {"d_model": embed[1] if embed else None, "d_mlp": gate[0] if gate else None,
                "d_vocab": head[0] if head else (embed[0] if embed else None)}

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        bias = tensors.shape(REL)
        buckets = int(hf.get("position_bias_num_buckets", cfg.rel_buckets))
        segments = int(hf.get("segment_types", round(max(bias[0] - buckets, 0) ** 0.5) if bias else 0))
        cfg = replace(cfg, d_head=hf.get("dim_head", cfg.d_head), rel_buckets=buckets,
                      rel_max_distance=int(hf.get("position_bias_max_distance", cfg.rel_max_distance)),
                      n_heads=cfg.n_heads or (bias[1] if bias else None))
        if cfg.n_heads and not cfg.d_head:
            q = tensors.shape(ATTN + "project_q.weight")
            cfg = replace(cfg, d_head=q[0] // cfg.n_heads if q else None)
        cfg = replace(cfg, n_kv_heads=cfg.n_heads)
        if not hf:
            cfg = cfg.with_notes(Note("assumed", f"No config.json: relative_attention_bias is read as CPM-Ant's usual "
                                                 f"{buckets} distance buckets up to {cfg.rel_max_distance}, then the "
                                                 "segment pairs."))
        return cfg.with_notes(
            Note("positions", f"Scores add W_rel[bucket(key - query)] (T5's bidirectional buckets: {buckets} up to "
                              f"distance {cfg.rel_max_distance}) between tokens of one segment; between segments, "
                              f"one of {segments}x{segments} per-segment-pair biases, stored after the buckets in "
                              "relative_attention_bias and outside the schema. Attention is bidirectional."),
            Note("layout", "W_E holds the vocabulary, then the learned prompt tokens CPM-Ant prepends to every "
                           "input; W_U covers the vocabulary only."))
