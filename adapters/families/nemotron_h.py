"""Nemotron-H: every layer is one mixer under `mixer.*` behind one norm, `norm`: Mamba2, softmax attention, a
plain MLP or a mixture of experts (layers_block_type, or the older hybrid_override_pattern "M*-E").

The schema's layer has attention and an MLP; a Nemotron-H layer fills one of them. So `norm` is ln1 in the
attention layers and ln2 in the MLP and expert layers (and outside the schema before a Mamba2 mixer).
- Attention: Llama's bias-free q/k/v/o_proj, no positional encoding (the Mamba2 layers carry position).
- MLP: up_proj and down_proj with relu² between, no gate.
- Experts: the same ungated MLP per expert, a sigmoid router with DeepSeek-V3's selection bias
  (gate.e_score_correction_bias) and one ungated shared expert (shared_experts).
"""
from __future__ import annotations

from dataclasses import replace

from .. import hybrid
from ..config import ModelConfig, Note
from ..family import Family, Table
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import heads_in, heads_out, same, transpose
from .llama import head_dims_from_qk

L = "layers.{l}."
MIX = L + "mixer."
NORM = L + "norm.weight"  # the layer's one norm, before its mixer
ROUTER = MIX + "gate.weight"
MAMBA = "state-space (Mamba2) mixer"


@register
class NemotronH(Family):
    arch = "nemotron_h"
    model_types = ("nemotron_h",)
    anchor = "embeddings.weight"
    layer_anchor = NORM  # in every layer, whatever its mixer
    layout = Layout(requires=(anchor, NORM, "norm_f.weight"))  # Mamba's names; one norm per layer, none named ln
    tie = ("lm_head.weight", "embeddings.weight")
    defaults = {"positional": "none", "norm": "rmsnorm", "gated_mlp": False, "act": "relu2",
                "tied_embeddings": False}
    rules = {  # torch Linear stores [out, in]
        "embed.W_E": ("embeddings.weight", same),
        "blocks.{l}.attn.W_Q": (MIX + "q_proj.weight", heads_in()),  # [n_heads*d_head, d_model]
        "blocks.{l}.attn.W_K": (MIX + "k_proj.weight", heads_in("n_kv_heads")),
        "blocks.{l}.attn.W_V": (MIX + "v_proj.weight", heads_in("n_kv_heads")),
        "blocks.{l}.attn.W_O": (MIX + "o_proj.weight", heads_out),  # [d_model, n_heads*d_head]
        "blocks.{l}.mlp.W_in": (MIX + "up_proj.weight", transpose),  # MLP layers: [d_mlp, d_model]
        "blocks.{l}.mlp.W_out": (MIX + "down_proj.weight", transpose),
        "blocks.{l}.mlp.W_router": (ROUTER, transpose),  # expert layers: [n_experts, d_model]
        "blocks.{l}.mlp.router_select_bias": (MIX + "gate.e_score_correction_bias", same),  # [n_experts]
        "blocks.{l}.mlp.experts.W_in": (MIX + "experts.{e}.up_proj.weight", transpose),  # each [d_expert, d_model]
        "blocks.{l}.mlp.experts.W_out": (MIX + "experts.{e}.down_proj.weight", transpose),
        "blocks.{l}.mlp.shared.W_in": (MIX + "shared_experts.up_proj.weight", transpose),  # [d_shared, d_model]
        "blocks.{l}.mlp.shared.W_out": (MIX + "shared_experts.down_proj.weight", transpose),
        "ln_final.w": ("norm_f.weight", same),
        "unembed.W_U": ("lm_head.weight", transpose),  # [d_vocab, d_model]
    }
    # the Mamba2 mixer's own names (mixer.norm is its gated RMSNorm, not the layer's norm)
    ignored = {r"\.layers\.\d+\.mixer\.(?:in_proj|conv1d|dt_bias|A_log|D|norm|out_proj)\b":
               ("other", f"{MAMBA}: no attention heads")}

    @classmethod
    def attention_layers(cls, tensors: Tensors) -> tuple[int, ...]:
        return hybrid.stored_in(tensors, MIX + "q_proj.weight", cls.count_layers(tensors))

    @classmethod
    def mlp_layers(cls, tensors: Tensors) -> tuple[int, ...]:
        n = cls.count_layers(tensors)
        return tuple(sorted(hybrid.stored_in(tensors, MIX + "up_proj.weight", n) + hybrid.stored_in(tensors, ROUTER, n)))

    @classmethod
    def rules_for(cls, cfg: ModelConfig, tensors: Tensors) -> Table:
        table = super().rules_for(cfg, tensors)
        attention, mlp = cls.attention_layers(tensors), cls.mlp_layers(tensors)
        norms = {**hybrid.only_in(attention, {"blocks.{l}.ln1.w": (NORM, same)}),
                 **hybrid.only_in(mlp, {"blocks.{l}.ln2.w": (NORM, same)})}
        mamba = hybrid.elsewhere(attention + mlp, cfg.n_layers or 0, NORM, "norm", f"the norm before a {MAMBA}")
        return replace(table, rules={**table.rules, **norms}, ignored={**table.ignored, **mamba})

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        n = cls.count_layers(tensors)
        embed = tensors.shape(cls.anchor)
        dense, router = hybrid.first_shape(tensors, MIX + "up_proj.weight", n), hybrid.first_shape(tensors, ROUTER, n)
        expert = hybrid.first_shape(tensors, MIX + "experts.0.up_proj.weight", n)
        return {"d_model": embed[1] if embed else None, "d_vocab": embed[0] if embed else None,
                "d_mlp": dense[0] if dense else None, "n_experts": router[0] if router else None,
                "d_expert": expert[0] if expert else None, "tied_embeddings": not tensors.has("lm_head.weight")}

    @classmethod
    def head_dims(cls, n_heads: int, cfg: ModelConfig, tensors: Tensors) -> tuple[int, int]:
        first = cls.attention_layers(tensors)[:1]
        if not first:
            raise ValueError("no layer stores attention")
        return head_dims_from_qk(n_heads, tensors, MIX.replace("{l}", str(first[0])))

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        n = cfg.n_layers or 0
        moe = hybrid.stored_in(tensors, ROUTER, n)
        shared = hybrid.first_shape(tensors, MIX + "shared_experts.up_proj.weight", n)
        cfg = replace(cfg, act=hf.get("mlp_hidden_act") or cfg.act, moe_layers=moe if cfg.n_experts else None,
                      d_expert=cfg.d_expert or cfg.d_mlp, n_shared_experts=1 if shared else 0)
        attention, mlp = cls.attention_layers(tensors), cls.mlp_layers(tensors)
        mamba = [l for l in range(n) if l not in attention + mlp]
        cfg = cfg.with_notes(Note("layout", (
            f"Each layer holds one mixer behind one norm: softmax attention in layers {_listed(attention)}, an MLP "
            f"or experts in {_listed(mlp)}, a {MAMBA} in {_listed(mamba)}, whose tensors stay outside the schema. "
            "The layer's norm is ln1 where it attends and ln2 where it is an MLP.")))
        if moe and hf:
            cfg = cfg.with_notes(Note("maths", (
                "The router scores experts by sigmoid(x @ W_router); experts are chosen by score + "
                f"router_select_bias within the best {hf.get('topk_group')} of {hf.get('n_group')} groups, weighted "
                f"by their scores{' renormalised' if hf.get('norm_topk_prob') else ''} and multiplied by "
                f"routed_scaling_factor = {hf.get('routed_scaling_factor')}.")))
        return cfg


def _listed(layers) -> str:
    return ", ".join(map(str, layers)) or "none"
