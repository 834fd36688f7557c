"""OLMo-Hybrid: Gated DeltaNet (linear attention) in three layers of four, OLMo2's softmax attention in the
fourth (layer_types), a gated MLP in every layer. The two kinds of layer place their norms differently:

    attention layers (OLMo2's):   h = h + post_attention_layernorm(attn(h))
                                  h = h + post_feedforward_layernorm(mlp(h))
    linear-attention layers:      h = h + linear_attn(input_layernorm(h))
                                  h = h + mlp(post_attention_layernorm(h))

So post_attention_layernorm is ln1_post where the mixer is attention and ln2 (the norm before the MLP) in the
others; cfg.norm_position = "output" describes the attention layers, and a note says the rest are pre-norm.
q_norm / k_norm are normed over the whole projection, as OLMo2's (cfg.qk_norm = "projection").
Released checkpoints set rope_parameters without rope_theta: no rotary at all (positional "none").

Checkpoints store those two norms as attention_layer_norm (input_layernorm) and feedforward_layer_norm
(post_attention_layernorm), whatever the layer; transformers renames them on loading.
"""
from __future__ import annotations

from dataclasses import replace

from .. import hybrid
from ..config import ModelConfig, Note
from ..family import Table
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import same
from .llama import ATTN, L, Llama, head_dims_from_qk
from .olmo2 import Olmo2

LINEAR = L + "linear_attn."
INPUT_NORM = L + "attention_layer_norm.weight"  # linear-attention layers only
POST_ATTN_NORM = L + "feedforward_layer_norm.weight"  # every layer: ln1_post or ln2 by the layer's mixer
MIXER = "linear-attention (Gated DeltaNet) mixer"


@register
class OlmoHybrid(Olmo2):
    arch = "olmo_hybrid"
    model_types = ("olmo_hybrid",)
    layer_anchor = POST_ATTN_NORM  # in every layer, whatever its mixer
    layout = Layout(requires=(Llama.anchor, POST_ATTN_NORM, L + "mlp.gate_proj.weight", LINEAR + "a_proj.weight",
                              LINEAR + "b_proj.weight"))
    rules = {slot: rule for slot, rule in Olmo2.rules.items() if slot != "blocks.{l}.ln1_post.w"}
    ignored = {**hybrid.mixer("linear_attn", MIXER),
               r"(?:^|\.)" + INPUT_NORM.replace("{l}", r"\d+").replace(".", r"\.") + "$":
                   ("norm", f"the norm before a {MIXER}")}

    @classmethod
    def attention_layers(cls, tensors: Tensors) -> tuple[int, ...]:
        return hybrid.stored_in(tensors, ATTN + "q_proj.weight", cls.count_layers(tensors))

    @classmethod
    def rules_for(cls, cfg: ModelConfig, tensors: Tensors) -> Table:
        table = super().rules_for(cfg, tensors)
        attention = cls.attention_layers(tensors)
        others = tuple(l for l in range(cfg.n_layers or 0) if l not in attention)
        split = {**hybrid.only_in(attention, {"blocks.{l}.ln1_post.w": (POST_ATTN_NORM, same)}),
                 **hybrid.only_in(others, {"blocks.{l}.ln2.w": (POST_ATTN_NORM, same)})}
        return replace(table, rules={**table.rules, **split})

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        """Llama's facts read in the first attention layer (layer 0 is usually linear attention); d_head is
        not in the shapes (q_norm spans every head), so head counts need config.json or n_heads."""
        out = super().infer(tensors)
        return {**out, "n_heads": None, "n_kv_heads": None, "d_head": None}

    @classmethod
    def head_dims(cls, n_heads: int, cfg: ModelConfig, tensors: Tensors) -> tuple[int, int]:
        first = cls.attention_layers(tensors)[:1]
        if not first:
            raise ValueError("no layer stores attention")
        return head_dims_from_qk(n_heads, tensors, ATTN.replace("{l}", str(first[0])))

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = super().facts(cfg, hf, tensors)
        rope = hf.get("rope_parameters")
        if hf and not (isinstance(rope, dict) and rope.get("rope_theta")):
            cfg = replace(cfg, positional="none", rotary_dim=None)
        cfg = cfg.with_notes(Note("layout", "Linear-attention layers are pre-norm (input_layernorm before the "
                                            "mixer, post_attention_layernorm before the MLP, ln2 here); attention "
                                            "layers norm each sublayer's output, as OLMo2's."))
        return hybrid.with_layout_note(cfg, cls.attention_layers(tensors), MIXER)
