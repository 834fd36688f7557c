"""T5's descendants that store something T5 does not: each says in one line what differs (families/t5.py)."""
from __future__ import annotations

from dataclasses import replace

from .. import schema
from ..config import ModelConfig, Note
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import same, transpose
from .t5 import DEC, ENC, T5


@register
class UMT5(T5):
    """Like mT5, but every layer has its own relative position bias (`attn.W_rel`), not only block 0."""
    arch = "umt5"
    model_types = ("umt5",)

    @classmethod
    def stack_rules(cls, stack: str, decoder: bool, gated: bool, enc_attn: str) -> dict:
        rows = super().stack_rules(stack, decoder, gated, enc_attn)
        rows.pop(schema.name("pos_embed.W_rel", stack=stack))
        return {**rows, schema.template("attn.W_rel", stack): (cls.rel_bias(decoder, enc_attn), same)}


@register
class LongT5(T5):
    """T5 1.1 whose encoder attends within a local window (LocalSelfAttention), or also to block summaries
    (TransientGlobalSelfAttention, with a second bias and norm for them, left out of the schema)."""
    arch = "longt5"
    model_types = ("longt5",)
    # the decoder's names: the encoder's attention has another name than T5's (what sends T5 checkpoints to T5)
    layout = Layout(requires=("shared.weight", DEC + "{l}.SelfAttention.q.weight", DEC + "{l}.EncDecAttention.q.weight"))
    ENCODER_ATTENTIONS = ("LocalSelfAttention", "TransientGlobalSelfAttention")
    ignored = {**T5.ignored,
               r"global_relative_attention_bias\.weight$": ("positional", "transient-global attention's bias for "
                                                           "the block summaries, outside the schema"),
               r"global_input_layer_norm\.weight$": ("norm", "the norm of the block summaries, outside the schema")}

    @classmethod
    def encoder_attention(cls, tensors: Tensors) -> str:
        return next((a for a in cls.ENCODER_ATTENTIONS if tensors.has(ENC + f"0.{a}.q.weight")), "SelfAttention")

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = super().facts(cfg, hf, tensors)
        radius = hf.get("local_radius", 127)
        return cfg.with_notes(Note("maths", f"The encoder's attention ({cls.encoder_attention(tensors)}) sees only "
                                            f"tokens within {radius} positions, in blocks of {radius + 1}."))


@register
class SwitchTransformers(T5):
    """T5 1.0 whose every other MLP is a mixture of experts: a router picks one expert per token (top-1)."""
    arch = "switch_transformers"
    model_types = ("switch_transformers",)
    MLP = "mlp"
    # a config with fewer layers than its sparse step has no router: model_type alone names it then
    layout = Layout(requires=T5.layout.requires, marks=(ENC + "{l}.mlp.router.classifier.weight",))
    defaults = {**T5.defaults, "n_experts_per_token": 1}

    @classmethod
    def stack_rules(cls, stack: str, decoder: bool, gated: bool, enc_attn: str) -> dict:
        moe = (DEC + "2." if decoder else ENC + "1.") + "mlp."
        return {**super().stack_rules(stack, decoder, gated, enc_attn),
                schema.template("mlp.W_router", stack): (moe + "router.classifier.weight", transpose),  # [n_experts, d_model]
                schema.template("mlp.experts.W_in", stack): (moe + "experts.expert_{e}.wi.weight", transpose),
                schema.template("mlp.experts.W_out", stack): (moe + "experts.expert_{e}.wo.weight", transpose)}

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        out = super().infer(tensors)
        router = next((s for l in range(tensors.count_layers(ENC + "1.mlp.router.classifier.weight"))
                       if (s := tensors.shape(ENC + "1.mlp.router.classifier.weight", l))), None)
        return {**out, "n_experts": router[0] if router else None}

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = super().facts(cfg, hf, tensors)
        router = DEC + "2.mlp.router.classifier.weight"
        moe = tuple(l for l in range(cfg.n_layers or 0) if tensors.has(router, l))
        expert = next((tensors.shape(ENC + "1.mlp.experts.expert_0.wi.weight", l)
                       for l in range(cfg.n_encoder_layers or cfg.n_layers or 0)
                       if tensors.has(ENC + "1.mlp.experts.expert_0.wi.weight", l)), None)
        return replace(cfg, moe_layers=moe, d_expert=expert[0] if expert else cfg.d_mlp)
