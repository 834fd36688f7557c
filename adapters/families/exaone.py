"""EXAONE 3 / 3.5 (LG): Llama's computation (RMSNorm, rotary, grouped-query attention, gated SiLU MLP) stored
under GPT-2-style names.

    transformer.wte, h.{l}.ln_1, h.{l}.attn.attention.{q,k,v,out}_proj, h.{l}.ln_2,
    h.{l}.mlp.c_fc_0 (gate), h.{l}.mlp.c_fc_1 (up), h.{l}.mlp.c_proj (down), transformer.ln_f
Every weight is torch Linear [out, in].
"""
from __future__ import annotations

from ..config import ModelConfig
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import heads_in, heads_out, same, transpose
from .llama import Llama, head_dims_from_qk

H = "h.{l}."
ATTN = H + "attn.attention."


@register
class Exaone(Llama):
    """Llama under EXAONE's names (see the module doc)."""
    arch = "exaone"
    model_types = ("exaone",)
    anchor = "wte.weight"  # prefix 'transformer.'
    layer_anchor = ATTN + "q_proj.weight"
    layout = Layout(requires=(anchor, ATTN + "q_proj.weight", H + "mlp.c_fc_0.weight", H + "ln_1.weight"))
    tie = ("lm_head.weight", "wte.weight")
    rules = {
        "embed.W_E": ("wte.weight", same),
        "blocks.{l}.ln1.w": (H + "ln_1.weight", same),
        "blocks.{l}.attn.W_Q": (ATTN + "q_proj.weight", heads_in()),  # [n_heads*d_head, d_model]
        "blocks.{l}.attn.W_K": (ATTN + "k_proj.weight", heads_in("n_kv_heads")),
        "blocks.{l}.attn.W_V": (ATTN + "v_proj.weight", heads_in("n_kv_heads")),
        "blocks.{l}.attn.W_O": (ATTN + "out_proj.weight", heads_out),  # [d_model, n_heads*d_head]
        "blocks.{l}.ln2.w": (H + "ln_2.weight", same),
        "blocks.{l}.mlp.W_gate": (H + "mlp.c_fc_0.weight", transpose),  # [d_mlp, d_model]
        "blocks.{l}.mlp.W_in": (H + "mlp.c_fc_1.weight", transpose),
        "blocks.{l}.mlp.W_out": (H + "mlp.c_proj.weight", transpose),  # [d_model, d_mlp]
        "ln_final.w": ("ln_f.weight", same),
        "unembed.W_U": ("lm_head.weight", transpose),
    }
    KNOWN_HEADS = {2560: 32, 4096: 32, 5120: 40}  # EXAONE 3.5 2.4B, 7.8B, 32B
    NO_CONFIG_NOTE = ""

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        embed, gate = tensors.shape(cls.anchor), tensors.shape(H + "mlp.c_fc_0.weight")
        return {"d_model": embed[1], "d_vocab": embed[0], "d_mlp": gate[0] if gate else None,
                "tied_embeddings": not tensors.has("lm_head.weight")}

    @classmethod
    def head_dims(cls, n_heads: int, cfg: ModelConfig, tensors: Tensors) -> tuple[int, int]:
        return head_dims_from_qk(n_heads, tensors, ATTN)
