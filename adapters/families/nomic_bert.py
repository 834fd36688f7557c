"""Rotary BERT-style encoders with q, k, v fused: Nomic BERT, Jina Embeddings v3 and GTE (new-style).

All three are post-norm (h = norm1(h + attn(h)); h = norm2(h + mlp(h))), rotate q and k with rotary (no
position table beside the token and segment embeddings), and fuse q, k, v as [q; k; v] blocks one after another:
    nomic_bert          encoder.layers.{l}.attn.Wqkv, attn.out_proj, mlp.fc11 (up) / fc12 (gate) / fc2, norm1/2
    jina_embeddings_v3  encoder.layers.{l}.mixer.Wqkv (+ bias), mixer.out_proj, mlp.fc1 / fc2 (no gate), norm1/2
    gte                 encoder.layer.{l}.attention.qkv_proj, attention.o_proj, mlp.up_gate_proj (up, then gate),
                        mlp.down_proj, attn_ln / mlp_ln
The embeddings' norm is emb_ln (Nomic, Jina) or embeddings.LayerNorm (GTE).
"""
from __future__ import annotations

from ..config import ModelConfig, Note
from ..family import Family
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import chain, halves, heads_in, heads_out, qkv_sizes, rows, same, transpose

NOMIC = "encoder.layers.{l}."
GTE = "encoder.layer.{l}."


def _qkv(weight: str, bias: str) -> dict:
    """The schema's q, k, v rows of one fused [q; k; v] Linear and its optional bias."""
    out = {}
    for i, x in enumerate("QKV"):
        out[f"blocks.{{l}}.attn.W_{x}"] = (weight, chain(rows(i, qkv_sizes), heads_in()))
        out[f"blocks.{{l}}.attn.b_{x}"] = (bias, chain(rows(i, qkv_sizes), heads_in()))
    return out


def _norms(slot: str, source: str) -> dict:
    return {f"{slot}.w": (source + ".weight", same), f"{slot}.b": (source + ".bias", same)}


@register
class NomicBert(Family):
    arch = "nomic_bert"
    model_types = ("nomic_bert",)
    anchor = "embeddings.word_embeddings.weight"
    layer_anchor = NOMIC + "attn.Wqkv.weight"
    layout = Layout(requires=(anchor, NOMIC + "attn.Wqkv.weight", NOMIC + "mlp.fc11.weight"))
    encoder = True
    defaults = {"positional": "rotary", "norm_position": "post", "act": "silu", "gated_mlp": True,
                "tied_embeddings": True}
    KNOWN_HEADS = {768: 12}
    rules = {
        "embed.W_E": ("embeddings.word_embeddings.weight", same),
        "token_type_embed.W_token_type": ("embeddings.token_type_embeddings.weight", same),
        **{s.replace("blocks.{l}.ln1", "embed.ln"): r for s, r in _norms("blocks.{l}.ln1", "emb_ln").items()},
        **_qkv(NOMIC + "attn.Wqkv.weight", NOMIC + "attn.Wqkv.bias"),
        "blocks.{l}.attn.W_O": (NOMIC + "attn.out_proj.weight", heads_out),
        "blocks.{l}.attn.b_O": (NOMIC + "attn.out_proj.bias", same),
        **_norms("blocks.{l}.ln1", NOMIC + "norm1"),  # after attention's residual add
        "blocks.{l}.mlp.W_in": (NOMIC + "mlp.fc11.weight", transpose),  # [d_mlp, d_model]
        "blocks.{l}.mlp.W_gate": (NOMIC + "mlp.fc12.weight", transpose),
        "blocks.{l}.mlp.W_out": (NOMIC + "mlp.fc2.weight", transpose),  # [d_model, d_mlp]
        **_norms("blocks.{l}.ln2", NOMIC + "norm2"),
    }
    ignored = {
        r"(^|\.)pooler\.": ("other", "the pooler: a classifier input, outside the transformer body"),
        r"(^|\.)lm_head\.(dense|layer_norm|norm)\.": ("unembed", "the MLM head's dense + norm before W_U"),
        r"^classifier\.": ("other", "a task head, outside the transformer body"),
        r"position_ids$": ("buffer", "the position index buffer, not a parameter"),
    }
    UP = NOMIC + "mlp.fc11.weight"

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        wte, up = tensors.shape(cls.anchor), tensors.shape(cls.UP)
        return {"d_model": wte[1], "d_vocab": wte[0], "d_mlp": up[0] if up else None}

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        if not hf:
            return cfg.with_notes(Note("assumed", f"No config.json: {cfg.act} is assumed as the MLP's activation."))
        return cfg


@register
class JinaEmbeddingsV3(NomicBert):
    """Nomic's layout under mixer.*, with biases and a plain fc1 -> gelu -> fc2 MLP."""
    arch = "jina_embeddings_v3"
    model_types = ("jina_embeddings_v3",)
    layer_anchor = NOMIC + "mixer.Wqkv.weight"
    layout = Layout(requires=(NomicBert.anchor, NOMIC + "mixer.Wqkv.weight", NOMIC + "mlp.fc1.weight"))
    defaults = {**NomicBert.defaults, "act": "gelu", "gated_mlp": False}
    rules = {
        **{s: r for s, r in NomicBert.rules.items() if ".attn." not in s and ".mlp." not in s},
        **_qkv(NOMIC + "mixer.Wqkv.weight", NOMIC + "mixer.Wqkv.bias"),
        "blocks.{l}.attn.W_O": (NOMIC + "mixer.out_proj.weight", heads_out),
        "blocks.{l}.attn.b_O": (NOMIC + "mixer.out_proj.bias", same),
        "blocks.{l}.mlp.W_in": (NOMIC + "mlp.fc1.weight", transpose),
        "blocks.{l}.mlp.b_in": (NOMIC + "mlp.fc1.bias", same),
        "blocks.{l}.mlp.W_out": (NOMIC + "mlp.fc2.weight", transpose),
        "blocks.{l}.mlp.b_out": (NOMIC + "mlp.fc2.bias", same),
    }
    ignored = {**NomicBert.ignored,
               r"parametrizations\.|lora_": ("other", "task LoRA adapters, added to the weights per task")}
    UP = NOMIC + "mlp.fc1.weight"
    KNOWN_HEADS = {1024: 16}


@register
class Gte(NomicBert):
    """GTE's names (see the module doc): BERT's embeddings, fused qkv_proj and a gated up_gate_proj."""
    arch = "gte"
    model_types = ("gte",)
    layer_anchor = GTE + "attention.qkv_proj.weight"
    layout = Layout(requires=(NomicBert.anchor, GTE + "attention.qkv_proj.weight", GTE + "mlp.up_gate_proj.weight"))
    defaults = {**NomicBert.defaults, "act": "gelu"}
    rules = {
        "embed.W_E": ("embeddings.word_embeddings.weight", same),
        "token_type_embed.W_token_type": ("embeddings.token_type_embeddings.weight", same),
        **{s.replace("blocks.{l}.ln1", "embed.ln"): r for s, r in _norms("blocks.{l}.ln1", "embeddings.LayerNorm").items()},
        **_qkv(GTE + "attention.qkv_proj.weight", GTE + "attention.qkv_proj.bias"),
        "blocks.{l}.attn.W_O": (GTE + "attention.o_proj.weight", heads_out),
        "blocks.{l}.attn.b_O": (GTE + "attention.o_proj.bias", same),
        **_norms("blocks.{l}.ln1", GTE + "attn_ln"),
        "blocks.{l}.mlp.W_in": (GTE + "mlp.up_gate_proj.weight", chain(rows(0, halves), transpose)),  # up first
        "blocks.{l}.mlp.W_gate": (GTE + "mlp.up_gate_proj.weight", chain(rows(1, halves), transpose)),
        "blocks.{l}.mlp.W_out": (GTE + "mlp.down_proj.weight", transpose),
        "blocks.{l}.mlp.b_out": (GTE + "mlp.down_proj.bias", same),
        **_norms("blocks.{l}.ln2", GTE + "mlp_ln"),
    }
    UP = GTE + "mlp.up_gate_proj.weight"
    KNOWN_HEADS = {768: 12, 1024: 16}

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        out = super().infer(tensors)
        return {**out, "d_mlp": out["d_mlp"] // 2 if out.get("d_mlp") else None}
