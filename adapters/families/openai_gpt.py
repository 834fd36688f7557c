"""GPT (OpenAI's first, "openai-gpt"): GPT-2's Conv1D names and fused c_attn, but post-norm and no final norm.

    h = ln_1(h + attn(h));  h = ln_2(h + mlp(h))              (cfg.norm_position = "post")
The embeddings are tokens_embed and positions_embed (GPT-2's wte and wpe); the LM head is tied to tokens_embed.
config.json's afn "gelu" runs GPT-2's tanh approximation (gelu_new).
"""
from __future__ import annotations

from dataclasses import replace

from ..config import ModelConfig
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import same
from .gpt2 import GPT2, QKV


@register
class OpenAIGPT(GPT2):
    """Like GPT-2, post-norm, without ln_f, with the embeddings named tokens_embed / positions_embed."""
    arch = "openai_gpt"
    model_types = ("openai-gpt",)
    anchor = "tokens_embed.weight"  # prefix 'transformer.'
    layout = Layout(requires=(anchor, QKV))
    tie = ("lm_head.weight", "tokens_embed.weight")
    defaults = {**GPT2.defaults, "act": "gelu_new", "norm_position": "post", "n_ctx": 512}
    AFN = {"gelu": "gelu_new", "swish": "silu"}  # config.json's afn -> the activation it runs (its own table)
    rules = {
        **{s: r for s, r in GPT2.rules.items() if not s.startswith(("embed.", "pos_embed.", "ln_final."))},
        "embed.W_E": ("tokens_embed.weight", same),
        "pos_embed.W_pos": ("positions_embed.weight", same),
    }
    KNOWN_HEADS = {768: 12}

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        wte, wpe, fc = (tensors.shape(t) for t in (cls.anchor, "positions_embed.weight", "h.{l}.mlp.c_fc.weight"))
        return {"d_model": wte[1], "d_vocab": wte[0], "n_ctx": wpe[0] if wpe else None, "d_mlp": fc[1] if fc else None}

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        afn = hf.get("afn")
        return replace(super().facts(cfg, hf, tensors), act=cls.AFN.get(afn, afn) if afn else cfg.act)
