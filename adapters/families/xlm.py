"""XLM and FlauBERT: a post-norm encoder with one ModuleList per kind of module (attentions, ffns, layer_norm1,
layer_norm2), each indexed by layer.

    h = layer_norm1[l](h + attn(h));  h = layer_norm2[l](h + ffn(h))       (FlauBERT's pre_norm: norms first)
q_lin, k_lin, v_lin, out_lin are Linear with biases; ffns are lin1 -> gelu (or relu) -> lin2. Learned positions
(unless sinusoidal_embeddings), a norm on the embeddings, and an LM head (pred_layer.proj) tied to them.
"""
from __future__ import annotations

from dataclasses import replace

from ..config import ModelConfig, Note
from ..family import Family
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import heads_in, heads_out, same, transpose

ATTN = "attentions.{l}."


@register
class XLM(Family):
    arch = "xlm"
    model_types = ("xlm", "flaubert")
    anchor = "layer_norm_emb.weight"  # prefix 'transformer.' in the LM-head models
    layer_anchor = ATTN + "q_lin.weight"
    layout = Layout(requires=(anchor, ATTN + "q_lin.weight", "ffns.{l}.lin1.weight", "layer_norm1.{l}.weight"))
    encoder = True
    tie = ("pred_layer.proj.weight", "embeddings.weight")
    defaults = {"positional": "learned", "norm_position": "post", "act": "gelu", "tied_embeddings": True}
    KNOWN_HEADS = {1024: 8, 1280: 16, 2048: 16}  # XLM-MLM-en, -17/-100, FlauBERT large
    rules = {
        "embed.W_E": ("embeddings.weight", same),
        "pos_embed.W_pos": ("position_embeddings.weight", same),
        "embed.ln.w": ("layer_norm_emb.weight", same),
        "embed.ln.b": ("layer_norm_emb.bias", same),
        **{f"blocks.{{l}}.attn.{k}_{x.upper()}": (ATTN + f"{x}_lin.{p}", heads_in())
           for x in "qkv" for k, p in (("W", "weight"), ("b", "bias"))},
        "blocks.{l}.attn.W_O": (ATTN + "out_lin.weight", heads_out),  # [d_model, d_model]
        "blocks.{l}.attn.b_O": (ATTN + "out_lin.bias", same),
        "blocks.{l}.ln1.w": ("layer_norm1.{l}.weight", same),
        "blocks.{l}.ln1.b": ("layer_norm1.{l}.bias", same),
        "blocks.{l}.mlp.W_in": ("ffns.{l}.lin1.weight", transpose),  # [d_mlp, d_model]
        "blocks.{l}.mlp.b_in": ("ffns.{l}.lin1.bias", same),
        "blocks.{l}.mlp.W_out": ("ffns.{l}.lin2.weight", transpose),  # [d_model, d_mlp]
        "blocks.{l}.mlp.b_out": ("ffns.{l}.lin2.bias", same),
        "blocks.{l}.ln2.w": ("layer_norm2.{l}.weight", same),
        "blocks.{l}.ln2.b": ("layer_norm2.{l}.bias", same),
        "unembed.W_U": ("pred_layer.proj.weight", transpose),
        "unembed.b_U": ("pred_layer.proj.bias", same),
    }
    ignored = {
        r"lang_embeddings\.weight$": ("embedding", "one embedding per language, added to every token of it"),
        r"position_ids$": ("buffer", "the position index buffer, not a parameter"),
        r"^(sequence_summary|qa_outputs|classifier)\.": ("other", "a task head, outside the transformer body"),
    }

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        emb, pos, fc = (tensors.shape(t) for t in ("embeddings.weight", "position_embeddings.weight",
                                                    "ffns.{l}.lin1.weight"))
        return {"d_model": emb[1] if emb else None, "d_vocab": emb[0] if emb else None,
                "n_ctx": pos[0] if pos else None, "d_mlp": fc[0] if fc else None}

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = replace(cfg, act="gelu" if hf.get("gelu_activation", True) else "relu",
                      norm_position="pre" if hf.get("pre_norm") else "post")
        if hf.get("sinusoidal_embeddings"):
            cfg = cfg.with_notes(Note("positions", "sinusoidal_embeddings: W_pos holds fixed sinusoids."))
        if hf.get("causal"):
            cfg = cfg.with_notes(Note("maths", "causal: each token attends only to those before it."))
        return cfg
