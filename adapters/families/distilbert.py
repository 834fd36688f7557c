"""DistilBERT: BERT's post-norm encoder, distilled, under other names; no segment embeddings.

    h = sa_layer_norm(h + attn(h));  h = output_layer_norm(h + mlp(h))       (cfg.norm_position = "post")
q_lin, k_lin, v_lin, out_lin are Linear with biases; the MLP is lin1 -> gelu -> lin2. The MLM head
(DistilBertForMaskedLM) is vocab_transform -> gelu -> vocab_layer_norm -> vocab_projector, the last tied to
the word embeddings. Positions are learned unless sinusoidal_pos_embds (then stored, but fixed).
"""
from __future__ import annotations

from dataclasses import replace

from ..config import ModelConfig, Note
from ..family import Family
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import heads_in, heads_out, same, transpose

L = "transformer.layer.{l}."
ATTN = L + "attention."


@register
class DistilBert(Family):
    arch = "distilbert"
    model_types = ("distilbert",)
    anchor = "embeddings.word_embeddings.weight"  # prefix 'distilbert.' in the task models
    layer_anchor = ATTN + "q_lin.weight"
    layout = Layout(requires=(anchor, ATTN + "q_lin.weight", L + "ffn.lin1.weight"))
    encoder = True
    tie = ("vocab_projector.weight", "embeddings.word_embeddings.weight")
    defaults = {"positional": "learned", "norm_position": "post", "act": "gelu", "tied_embeddings": True}
    KNOWN_HEADS = {768: 12}  # distilbert-base
    rules = {
        "embed.W_E": ("embeddings.word_embeddings.weight", same),
        "pos_embed.W_pos": ("embeddings.position_embeddings.weight", same),
        "embed.ln.w": ("embeddings.LayerNorm.weight", same),
        "embed.ln.b": ("embeddings.LayerNorm.bias", same),
        **{f"blocks.{{l}}.attn.{kind}_{x.upper()}": (ATTN + f"{x}_lin.{part}", heads_in())
           for x in "qkv" for kind, part in (("W", "weight"), ("b", "bias"))},
        "blocks.{l}.attn.W_O": (ATTN + "out_lin.weight", heads_out),  # [d_model, d_model]
        "blocks.{l}.attn.b_O": (ATTN + "out_lin.bias", same),
        "blocks.{l}.ln1.w": (L + "sa_layer_norm.weight", same),  # after attention's residual add
        "blocks.{l}.ln1.b": (L + "sa_layer_norm.bias", same),
        "blocks.{l}.mlp.W_in": (L + "ffn.lin1.weight", transpose),  # [d_mlp, d_model]
        "blocks.{l}.mlp.b_in": (L + "ffn.lin1.bias", same),
        "blocks.{l}.mlp.W_out": (L + "ffn.lin2.weight", transpose),  # [d_model, d_mlp]
        "blocks.{l}.mlp.b_out": (L + "ffn.lin2.bias", same),
        "blocks.{l}.ln2.w": (L + "output_layer_norm.weight", same),
        "blocks.{l}.ln2.b": (L + "output_layer_norm.bias", same),
        "unembed.W_U": ("vocab_projector.weight", transpose),
        "unembed.b_U": ("vocab_projector.bias", same),
    }
    ignored = {
        r"position_ids$": ("buffer", "the position index buffer, not a parameter"),
        r"(^|\.)vocab_(transform|layer_norm)\.": ("unembed", "the MLM head's dense + norm before W_U"),
        r"^(pre_classifier|classifier|qa_outputs)\.": ("other", "a task head, outside the transformer body"),
    }

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        wte, pos, fc = (tensors.shape(t) for t in (cls.anchor, "embeddings.position_embeddings.weight",
                                                    L + "ffn.lin1.weight"))
        return {"d_model": wte[1], "d_vocab": wte[0], "n_ctx": pos[0] if pos else None,
                "d_mlp": fc[0] if fc else None}

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = replace(cfg, act=hf.get("activation", cfg.act), d_mlp=hf.get("hidden_dim", cfg.d_mlp))
        if hf.get("sinusoidal_pos_embds"):
            cfg = cfg.with_notes(Note("positions", "sinusoidal_pos_embds: W_pos holds fixed sinusoids, not "
                                                   "learned positions."))
        return cfg
