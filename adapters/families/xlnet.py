"""XLNet: a post-norm encoder run as a permutation language model, with Transformer-XL's relative attention.

Each layer's projections are stored per head already, as einsum operands `[d_model, n_heads, d_head]` (q, k, v, o),
with no Linear biases. The scores of query i and key j add three terms (scaled by 1/sqrt(d_head)):
    content   (q_i + r_w_bias) . k_j          -> the schema's q.k with b_Q = r_w_bias (exact for this term)
    position  (q_i + r_r_bias) . (R_{i-j} r)  sinusoids of the distance through the layer's `r` projection
    segment   (q_i + r_s_bias) . seg_embed[same segment or not]
The position and segment terms have no schema slot: their tensors are listed as ignored, and the config's
positional scheme says "relative". Pretraining runs a second, query-only stream (mask_emb starts it) through the
same weights; the content stream is what the schema describes.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..config import ModelConfig, Note
from ..family import Family
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import same, transpose

L = "layer.{l}."
A = L + "rel_attn."


def _heads_in(cfg, w: np.ndarray) -> np.ndarray:
    """[d_model, n_heads, d_head] -> W_Q/K/V [n_heads, d_model, d_head]; r_w_bias [n_heads, d_head] as is."""
    return w if w.ndim == 2 else np.ascontiguousarray(w.transpose(1, 0, 2))


def _heads_out(cfg, w: np.ndarray) -> np.ndarray:
    """o [d_model, n_heads, d_head] -> W_O [n_heads, d_head, d_model] (attn_out = einsum('ind,hnd->ih', z, o))."""
    return np.ascontiguousarray(w.transpose(1, 2, 0))


@register
class XLNet(Family):
    arch = "xlnet"
    model_types = ("xlnet",)
    anchor = "word_embedding.weight"  # prefix 'transformer.'
    layout = Layout(requires=(anchor, A + "q", A + "r_w_bias", L + "ff.layer_1.weight"))
    tie = ("lm_loss.weight", "word_embedding.weight")
    defaults = {"positional": "relative", "norm_position": "post", "act": "gelu", "tied_embeddings": True}
    rules = {
        "embed.W_E": ("word_embedding.weight", same),
        "blocks.{l}.attn.W_Q": (A + "q", _heads_in),  # [d_model, n_heads, d_head]
        "blocks.{l}.attn.b_Q": (A + "r_w_bias", _heads_in),  # [n_heads, d_head]: the content term's query bias
        "blocks.{l}.attn.W_K": (A + "k", _heads_in),
        "blocks.{l}.attn.W_V": (A + "v", _heads_in),
        "blocks.{l}.attn.W_O": (A + "o", _heads_out),
        "blocks.{l}.ln1.w": (A + "layer_norm.weight", same),  # after the residual add (post-norm)
        "blocks.{l}.ln1.b": (A + "layer_norm.bias", same),
        "blocks.{l}.mlp.W_in": (L + "ff.layer_1.weight", transpose),  # [d_mlp, d_model]
        "blocks.{l}.mlp.b_in": (L + "ff.layer_1.bias", same),
        "blocks.{l}.mlp.W_out": (L + "ff.layer_2.weight", transpose),  # [d_model, d_mlp]
        "blocks.{l}.mlp.b_out": (L + "ff.layer_2.bias", same),
        "blocks.{l}.ln2.w": (L + "ff.layer_norm.weight", same),
        "blocks.{l}.ln2.b": (L + "ff.layer_norm.bias", same),
        "unembed.W_U": ("lm_loss.weight", transpose),
        "unembed.b_U": ("lm_loss.bias", same),
    }
    ignored = {
        r"rel_attn\.r$": ("positional", "projects the sinusoidal relative-distance embedding to keys for the "
                                        "position term of the scores; no schema slot holds it"),
        r"rel_attn\.r_r_bias$": ("positional", "the query bias of the position term"),
        r"rel_attn\.(r_s_bias|seg_embed)$": ("other", "the segment term: query bias and the per-head embedding of "
                                                      "'same segment or not'"),
        r"mask_emb$": ("other", "the query stream's starting vector, used only in permutation pretraining"),
        r"^(sequence_summary|logits_proj|qa_outputs|start_logits|end_logits|answer_class)\.": (
            "other", "a task head, outside the transformer body"),
    }

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        emb, q, fc = (tensors.shape(t) for t in (cls.anchor, A + "q", L + "ff.layer_1.weight"))
        return {"d_model": emb[1], "d_vocab": emb[0], "d_mlp": fc[0] if fc else None,
                "n_heads": q[1] if q else None, "d_head": q[2] if q else None}

    @classmethod
    def head_dims(cls, n_heads: int, cfg: ModelConfig, tensors: Tensors) -> tuple[int, int]:
        q = tensors.shape(A + "q")
        if not q or q[1] != n_heads:
            raise ValueError(f"q is stored per head as {list(q or [])}: {q[1] if q else '?'} heads, not {n_heads}")
        return q[2], n_heads

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        act = hf.get("ff_activation") if isinstance(hf.get("ff_activation"), str) else cfg.act
        q = tensors.shape(A + "q")  # the stored per-head shape is the truth; config.json's d_head only repeats it
        return replace(cfg, act=act, d_head=q[2] if q else cfg.d_head, n_ctx=None).with_notes(Note(
            "positions", "Transformer-XL relative attention: besides q.k (b_Q is r_w_bias), each score adds a "
                         "position term from sinusoids of the distance (rel_attn.r, r_r_bias) and a segment term "
                         "(seg_embed, r_s_bias); neither has a schema slot."))
