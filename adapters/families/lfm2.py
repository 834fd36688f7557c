"""LFM2: gated short-convolution mixers in most layers, grouped-query attention in the others (layer_types, or
full_attn_idxs), and a gated MLP in every layer.

Names of its own: operator_norm before the mixer (ln1 where it is attention; outside the schema before a
convolution), ffn_norm before the MLP, attention's out_proj and per-head q_layernorm / k_layernorm (RMSNorm over
each head, as Qwen3's), and feed_forward.w1 (gate), w3 (up), w2 (down). `embedding_norm`, despite its name, is
the final norm: transformers applies it after the last layer, not to the embeddings.
"""
from __future__ import annotations

from dataclasses import replace

from .. import hybrid
from ..config import ModelConfig
from ..family import Family, Table
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import heads_in, heads_out, same, transpose
from .llama import head_dims_from_qk

L = "layers.{l}."
ATTN = L + "self_attn."
FF = L + "feed_forward."
MIXER_NORM = L + "operator_norm.weight"  # before the layer's mixer: ln1 where that is attention
CONV = "gated short-convolution mixer"


@register
class Lfm2(Family):
    arch = "lfm2"
    model_types = ("lfm2",)
    anchor = "embed_tokens.weight"
    layer_anchor = MIXER_NORM  # in every layer, whatever its mixer
    layout = Layout(requires=(anchor, MIXER_NORM, L + "ffn_norm.weight", FF + "w1.weight", "embedding_norm.weight"),
                    forbids=(L + "post_ffn_norm.weight",))  # LFM3: sandwich norms and gated attention, not read here
    tie = ("lm_head.weight", "embed_tokens.weight")
    defaults = {"positional": "rotary", "norm": "rmsnorm", "gated_mlp": True, "act": "silu", "qk_norm": "head",
                "tied_embeddings": True}
    rules = {  # torch Linear stores [out, in]
        "embed.W_E": ("embed_tokens.weight", same),
        "blocks.{l}.attn.W_Q": (ATTN + "q_proj.weight", heads_in()),  # [n_heads*d_head, d_model]
        "blocks.{l}.attn.W_K": (ATTN + "k_proj.weight", heads_in("n_kv_heads")),
        "blocks.{l}.attn.W_V": (ATTN + "v_proj.weight", heads_in("n_kv_heads")),
        "blocks.{l}.attn.W_O": (ATTN + "out_proj.weight", heads_out),  # [d_model, n_heads*d_head]
        "blocks.{l}.attn.q_norm.w": (ATTN + "q_layernorm.weight", same),  # [d_head], shared by all heads
        "blocks.{l}.attn.k_norm.w": (ATTN + "k_layernorm.weight", same),
        "blocks.{l}.ln2.w": (L + "ffn_norm.weight", same),
        "blocks.{l}.mlp.W_gate": (FF + "w1.weight", transpose),  # [d_mlp, d_model]
        "blocks.{l}.mlp.W_in": (FF + "w3.weight", transpose),
        "blocks.{l}.mlp.W_out": (FF + "w2.weight", transpose),  # [d_model, d_mlp]
        "ln_final.w": ("embedding_norm.weight", same),
        "unembed.W_U": ("lm_head.weight", transpose),  # [d_vocab, d_model]
    }
    ignored = hybrid.mixer("conv", CONV)

    @classmethod
    def attention_layers(cls, tensors: Tensors) -> tuple[int, ...]:
        return hybrid.stored_in(tensors, ATTN + "q_proj.weight", cls.count_layers(tensors))

    @classmethod
    def rules_for(cls, cfg: ModelConfig, tensors: Tensors) -> Table:
        table = super().rules_for(cfg, tensors)
        attention, n = cls.attention_layers(tensors), cfg.n_layers or 0
        ln1 = hybrid.only_in(attention, {"blocks.{l}.ln1.w": (MIXER_NORM, same)})
        return replace(table, rules={**table.rules, **ln1},
                       ignored={**table.ignored, **hybrid.elsewhere(attention, n, MIXER_NORM, "norm",
                                                                    f"the norm before a {CONV}")})

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        """Shapes' facts; the q/k norms' length is d_head, so every head count follows without config.json."""
        n = cls.count_layers(tensors)
        embed, gate = tensors.shape(cls.anchor), tensors.shape(FF + "w1.weight")
        out = {"d_model": embed[1] if embed else None, "d_vocab": embed[0] if embed else None,
               "d_mlp": gate[0] if gate else None, "tied_embeddings": not tensors.has("lm_head.weight")}
        norm, q, k = (hybrid.first_shape(tensors, ATTN + t, n) for t in ("q_layernorm.weight", "q_proj.weight",
                                                                          "k_proj.weight"))
        if norm and q and k:
            out.update(d_head=norm[0], n_heads=q[0] // norm[0], n_kv_heads=k[0] // norm[0])
        return out

    @classmethod
    def head_dims(cls, n_heads: int, cfg: ModelConfig, tensors: Tensors) -> tuple[int, int]:
        first = cls.attention_layers(tensors)[:1]
        if not first:
            raise ValueError("no layer stores attention")
        return head_dims_from_qk(n_heads, tensors, ATTN.replace("{l}", str(first[0])))

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        gate = tensors.shape(FF + "w1.weight")  # intermediate_size is adjusted before use (block_auto_adjust_ff_dim)
        cfg = replace(cfg, d_mlp=gate[0] if gate else cfg.d_mlp, rotary_dim=cfg.d_head)
        return hybrid.with_layout_note(cfg, cls.attention_layers(tensors), CONV)
