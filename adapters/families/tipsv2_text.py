"""TIPSv2's text tower (Google), stored in OpenCLIP's names: a pre-norm, bidirectional encoder whose q, k, v sit
fused in one nn.MultiheadAttention in_proj ([q; k; v] rows), with fixed sinusoidal positions (nothing stored) and
token embeddings scaled by sqrt(d_model) (scale_sqrt_depth).

    token_embedding -> resblocks.{l}: ln_1 -> attn.in_proj / out_proj -> ln_2 -> mlp.c_fc -> relu -> c_proj -> ln_final
"""
from __future__ import annotations

from dataclasses import replace

from ..config import ModelConfig
from ..family import Family
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import chain, fused_qkv, heads_in, heads_out, qkv_sizes, rows, same, transpose

L = "transformer.resblocks.{l}."


def _split(part: int):
    return chain(rows(part, qkv_sizes), heads_in())  # [3 * d_model, d_model] -> one of q, k, v, per head


@register
class Tipsv2Text(Family):
    arch = "tipsv2_text"
    model_types = ("tipsv2_text_model",)
    anchor = "token_embedding.weight"
    layout = Layout(requires=(anchor, L + "attn.in_proj_weight", L + "mlp.c_fc.weight", "ln_final.weight"))
    encoder = True
    defaults = {"positional": "sinusoidal", "act": "relu", "tied_embeddings": False}
    rules = {
        "embed.W_E": ("token_embedding.weight", same),
        "blocks.{l}.ln1.w": (L + "ln_1.weight", same),
        "blocks.{l}.ln1.b": (L + "ln_1.bias", same),
        **fused_qkv(L + "attn.in_proj_weight", L + "attn.in_proj_bias", _split),
        "blocks.{l}.attn.W_O": (L + "attn.out_proj.weight", heads_out),  # [d_model, d_model]
        "blocks.{l}.attn.b_O": (L + "attn.out_proj.bias", same),
        "blocks.{l}.ln2.w": (L + "ln_2.weight", same),
        "blocks.{l}.ln2.b": (L + "ln_2.bias", same),
        "blocks.{l}.mlp.W_in": (L + "mlp.c_fc.weight", transpose),  # [d_mlp, d_model]
        "blocks.{l}.mlp.b_in": (L + "mlp.c_fc.bias", same),
        "blocks.{l}.mlp.W_out": (L + "mlp.c_proj.weight", transpose),  # [d_model, d_mlp]
        "blocks.{l}.mlp.b_out": (L + "mlp.c_proj.bias", same),
        "ln_final.w": ("ln_final.weight", same),
        "ln_final.b": ("ln_final.bias", same),
    }
    ignored = {r"position_ids$": ("buffer", "the position index buffer, not a parameter")}

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        emb, fc = tensors.shape(cls.anchor), tensors.shape(L + "mlp.c_fc.weight")
        return {"d_model": emb[1], "d_vocab": emb[0], "d_mlp": fc[0] if fc else None}

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        scaled = hf.get("scale_sqrt_depth", True) is not False and cfg.d_model
        return replace(cfg, embed_scale=cfg.d_model ** 0.5 if scaled else 1.0)
