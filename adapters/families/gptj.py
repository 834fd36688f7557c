"""GPT-J and CodeGen: attention and the MLP side by side on one LayerNorm, partial rotary, no attention biases.

    h = h + attn(ln_1(h)) + mlp(ln_1(h))          (cfg.parallel_residual)
GPT-J keeps q, k, v, out as separate bias-free Linear layers under `transformer.h.{l}.attn`; the MLP is
fc_in -> gelu_new -> fc_out with biases, the LM head has a bias. Rotary turns only the first rotary_dim dims
of each head (64 in GPT-J-6B, of 256), rotating interleaved pairs, which changes no weight.

CodeGen stores GPT-J's layer with q, k, v fused in qkv_proj, cut across the 4 model-parallel shards it was
trained on: the output axis is (shard, [q, v, k], d_model / 4) (note v before k), each shard holding a
quarter of the heads, in order.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..config import ModelConfig, Note
from ..family import Family
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import heads_in, heads_out, same, transpose

L = "h.{l}."
ATTN = L + "attn."
QKV = ATTN + "qkv_proj.weight"  # CodeGen
SHARDS = 4  # CodeGen's model-parallel shards, fixed in its modelling code (mp_num)
_CODEGEN_ORDER = {"q": 0, "v": 1, "k": 2}  # order of the blocks within one shard


@register
class GPTJ(Family):
    arch = "gptj"
    model_types = ("gptj",)
    anchor = "wte.weight"  # prefix 'transformer.'
    layer_anchor = L + "ln_1.weight"
    layout = Layout(requires=(anchor, ATTN + "q_proj.weight", ATTN + "out_proj.weight", L + "mlp.fc_in.weight"))
    tie = ("lm_head.weight", "wte.weight")
    defaults = {"positional": "rotary", "act": "gelu_new", "parallel_residual": True, "tied_embeddings": False,
                "rotary_base": 10000.0}
    KNOWN_HEADS = {4096: 16}  # GPT-J-6B: 16 heads of 256
    rules = {
        "embed.W_E": ("wte.weight", same),
        "blocks.{l}.ln1.w": (L + "ln_1.weight", same),  # read by attention and the MLP alike
        "blocks.{l}.ln1.b": (L + "ln_1.bias", same),
        "blocks.{l}.attn.W_Q": (ATTN + "q_proj.weight", heads_in()),  # [n_heads*d_head, d_model]
        "blocks.{l}.attn.W_K": (ATTN + "k_proj.weight", heads_in()),
        "blocks.{l}.attn.W_V": (ATTN + "v_proj.weight", heads_in()),
        "blocks.{l}.attn.W_O": (ATTN + "out_proj.weight", heads_out),  # [d_model, n_heads*d_head]
        "blocks.{l}.mlp.W_in": (L + "mlp.fc_in.weight", transpose),  # [d_mlp, d_model]
        "blocks.{l}.mlp.b_in": (L + "mlp.fc_in.bias", same),
        "blocks.{l}.mlp.W_out": (L + "mlp.fc_out.weight", transpose),  # [d_model, d_mlp]
        "blocks.{l}.mlp.b_out": (L + "mlp.fc_out.bias", same),
        "ln_final.w": ("ln_f.weight", same),
        "ln_final.b": ("ln_f.bias", same),
        "unembed.W_U": ("lm_head.weight", transpose),  # [d_vocab, d_model]
        "unembed.b_U": ("lm_head.bias", same),
    }
    ignored = {r"attn\.(bias|masked_bias)$": ("buffer", "the causal-mask buffer old checkpoints store")}
    DEFAULT_ROTARY_DIM = 64  # GPT-J-6B's and CodeGen's, assumed without config.json

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        wte, fc = tensors.shape(cls.anchor), tensors.shape(L + "mlp.fc_in.weight")
        return {"d_model": wte[1], "d_vocab": wte[0], "d_mlp": fc[0] if fc else None,
                "tied_embeddings": not tensors.has("lm_head.weight")}

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        # rotary_dim: null means every dim of the head; absent (no config.json) means GPT-J-6B's 64
        rotary = hf.get("rotary_dim", cls.DEFAULT_ROTARY_DIM) if hf else cls.DEFAULT_ROTARY_DIM
        cfg = replace(cfg, d_mlp=cfg.d_mlp or (4 * cfg.d_model if cfg.d_model else None),
                      rotary_dim=min(int(rotary), cfg.d_head) if rotary and cfg.d_head else cfg.d_head)
        if not hf:
            cfg = cfg.with_notes(Note("assumed", f"No config.json: rotary_dim={cls.DEFAULT_ROTARY_DIM} "
                                                 "(GPT-J-6B's) is assumed."))
        return cfg


def codegen_qkv(letter: str):
    """q, k or v of CodeGen's qkv_proj [3*d_model, d_model], whose rows are (shard, [q, v, k], d_model/4):
    -> (n_heads, d_model, d_head)."""
    part = _CODEGEN_ORDER[letter]

    def run(cfg, w):
        shards = w.reshape(SHARDS, 3, w.shape[0] // (3 * SHARDS), w.shape[1])  # (shard, qvk, local, d_model)
        return heads_in()(cfg, np.ascontiguousarray(shards[:, part].reshape(-1, w.shape[1])))
    run.__name__ = f"codegen_qkv({letter})"
    return run


@register
class CodeGen(GPTJ):
    """Like GPT-J, with q, k, v fused in qkv_proj across 4 shards (see the module doc)."""
    arch = "codegen"
    model_types = ("codegen",)
    layout = Layout(requires=(GPTJ.anchor, QKV, ATTN + "out_proj.weight", L + "mlp.fc_in.weight"))
    rules = {
        **{s: r for s, r in GPTJ.rules.items() if s not in ("blocks.{l}.attn.W_Q", "blocks.{l}.attn.W_K",
                                                            "blocks.{l}.attn.W_V")},
        **{f"blocks.{{l}}.attn.W_{x.upper()}": (QKV, codegen_qkv(x)) for x in "qkv"},
    }
    KNOWN_HEADS = {1024: 16, 2560: 32, 4096: 16, 6144: 24}  # CodeGen 350M, 2B, 6B, 16B

    @classmethod
    def head_dims(cls, n_heads: int, cfg: ModelConfig, tensors: Tensors) -> tuple[int, int]:
        if n_heads % SHARDS:
            raise ValueError(f"n_heads={n_heads} is not a multiple of CodeGen's {SHARDS} shards")
        return super().head_dims(n_heads, cfg, tensors)
