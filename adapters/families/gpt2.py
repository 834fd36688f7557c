"""GPT-2: Conv1D weights stored [in, out]; q, k, v fused in c_attn along the output axis.

c_attn is brought to Linear layout first (`conv1d`), then cut into q, k, v rows, then into heads.
"""
from __future__ import annotations

from dataclasses import replace

from ..config import ModelConfig
from ..family import Family
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import chain, conv1d, heads_in, heads_out, qkv_sizes, rows, same, transpose

QKV = "h.{l}.attn.c_attn.weight"
QKV_B = "h.{l}.attn.c_attn.bias"


@register
class GPT2(Family):
    arch = "gpt2"
    model_types = ("gpt2",)
    anchor = "wte.weight"
    layout = Layout(requires=(anchor, QKV),
                    forbids_config=("multi_query",))  # gpt_bigcode: GPT-2's names, but Linear layout and shared k, v
    stores_in_out = True
    tie = ("lm_head.weight", "wte.weight")
    defaults = {"positional": "learned", "act": "gelu_new", "tied_embeddings": True, "n_ctx": 1024}
    KNOWN_HEADS = {768: 12, 1024: 16, 1280: 20, 1600: 25}  # GPT-2 small, medium, large, XL
    rules = {
        "embed.W_E": ("wte.weight", same),
        "pos_embed.W_pos": ("wpe.weight", same),
        "blocks.{l}.ln1.w": ("h.{l}.ln_1.weight", same),
        "blocks.{l}.ln1.b": ("h.{l}.ln_1.bias", same),
        "blocks.{l}.attn.W_Q": (QKV, chain(conv1d, rows(0, qkv_sizes), heads_in())),
        "blocks.{l}.attn.W_K": (QKV, chain(conv1d, rows(1, qkv_sizes), heads_in())),
        "blocks.{l}.attn.W_V": (QKV, chain(conv1d, rows(2, qkv_sizes), heads_in())),
        "blocks.{l}.attn.b_Q": (QKV_B, chain(rows(0, qkv_sizes), heads_in())),
        "blocks.{l}.attn.b_K": (QKV_B, chain(rows(1, qkv_sizes), heads_in())),
        "blocks.{l}.attn.b_V": (QKV_B, chain(rows(2, qkv_sizes), heads_in())),
        "blocks.{l}.attn.W_O": ("h.{l}.attn.c_proj.weight", chain(conv1d, heads_out)),
        "blocks.{l}.attn.b_O": ("h.{l}.attn.c_proj.bias", same),
        "blocks.{l}.ln2.w": ("h.{l}.ln_2.weight", same),
        "blocks.{l}.ln2.b": ("h.{l}.ln_2.bias", same),
        "blocks.{l}.mlp.W_in": ("h.{l}.mlp.c_fc.weight", same),  # Conv1D [in, out] is already the schema's
        "blocks.{l}.mlp.b_in": ("h.{l}.mlp.c_fc.bias", same),
        "blocks.{l}.mlp.W_out": ("h.{l}.mlp.c_proj.weight", same),
        "blocks.{l}.mlp.b_out": ("h.{l}.mlp.c_proj.bias", same),
        "ln_final.w": ("ln_f.weight", same),
        "ln_final.b": ("ln_f.bias", same),
        "unembed.W_U": ("lm_head.weight", transpose),
    }
    ignored = {r"\.attn\.(masked_)?bias$": ("buffer", "the causal-mask buffer old checkpoints store")}

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        wte, wpe, fc = tensors.shape("wte.weight"), tensors.shape("wpe.weight"), tensors.shape("h.{l}.mlp.c_fc.weight")
        return {"d_model": wte[1] if wte else None, "d_vocab": wte[0] if wte else None,
                "n_ctx": wpe[0] if wpe else None, "d_mlp": fc[1] if fc else None}

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        if cfg.d_mlp is None and cfg.d_model:
            cfg = replace(cfg, d_mlp=4 * cfg.d_model)  # n_inner: null means 4 * n_embd
        return cfg
