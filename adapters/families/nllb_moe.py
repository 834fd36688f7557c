"""NLLB-MoE (nllb-moe): M2M100's pre-norm encoder-decoder under its own module names, with a top-2 mixture of
experts in place of the MLP in every encoder_sparse_step-th / decoder_sparse_step-th layer (layer i when
(i + 1) % step == 0).

    decoder cross_attention, cross_attention_layer_norm     (BART's encoder_attn, encoder_attn_layer_norm)
    ff_layer_norm, ffn.fc1 / ffn.fc2                        (final_layer_norm, fc1 / fc2) in dense layers
    ffn.router.classifier, ffn.experts.expert_{e}.fc1/fc2   in sparse layers: relu experts with biases
The router keeps each token's best two experts by softmax(x @ W_router), their weights renormalised to sum to
one; an expert past its capacity drops the token. In inference every expert's output is also scaled by
1 - moe_token_dropout (a Note: the stored weights do not show it).
"""
from __future__ import annotations

from dataclasses import replace

from .. import schema
from ..config import ModelConfig, Note
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import same, transpose
from .bart import DEC, ENC
from .bart_variants import M2M100

# BART's source names -> NLLB-MoE's, applied to every row M2M100 declares
RENAMED = (("encoder_attn_layer_norm.", "cross_attention_layer_norm."), ("encoder_attn.", "cross_attention."),
           ("final_layer_norm.", "ff_layer_norm."), ("{l}.fc1.", "{l}.ffn.fc1."), ("{l}.fc2.", "{l}.ffn.fc2."))
ROUTER = "ffn.router.classifier.weight"  # [n_experts, d_model]
EXPERT = "ffn.experts.expert_{e}."  # one Linear each, biased: fc1 [d_expert, d_model], fc2 [d_model, d_expert]


def _renamed(source: str) -> str:
    for bart, nllb in RENAMED:
        source = source.replace(bart, nllb)
    return source


@register
class NllbMoe(M2M100):
    """Like M2M100, with its modules named otherwise and top-2 experts in every sparse_step-th layer."""
    arch = "nllb_moe"
    model_types = ("nllb-moe",)
    layout = Layout(requires=(DEC + "self_attn.q_proj.weight", DEC + "cross_attention.q_proj.weight",
                              DEC + "ff_layer_norm.weight"))
    defaults = {**M2M100.defaults, "n_experts_per_token": 2}

    @classmethod
    def stack_rules(cls, stack: str, decoder: bool) -> dict:
        at = lambda slot: schema.template(slot, stack)  # noqa: E731
        src = DEC if decoder else ENC
        return {**{slot: (_renamed(source), t) for slot, (source, t) in super().stack_rules(stack, decoder).items()},
                at("mlp.W_router"): (src + ROUTER, transpose),
                at("mlp.b_router"): (src + "ffn.router.classifier.bias", same),  # when router_bias
                at("mlp.experts.W_in"): (src + EXPERT + "fc1.weight", transpose),  # each [d_expert, d_model]
                at("mlp.experts.b_in"): (src + EXPERT + "fc1.bias", same),
                at("mlp.experts.W_out"): (src + EXPERT + "fc2.weight", transpose),  # each [d_model, d_expert]
                at("mlp.experts.b_out"): (src + EXPERT + "fc2.bias", same)}

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        embed = tensors.shape(cls.embedding(tensors))
        fc1 = _first(tensors, DEC + "ffn.fc1.weight") or _first(tensors, ENC + "ffn.fc1.weight")
        router = _first(tensors, DEC + ROUTER) or _first(tensors, ENC + ROUTER)
        return {"d_model": embed[1] if embed else None, "d_vocab": embed[0] if embed else None,
                "d_mlp": fc1[0] if fc1 else None, "n_experts": router[0] if router else None}

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = super().facts(cfg, hf, tensors)
        moe = tuple(l for l in range(cfg.n_layers or 0) if tensors.has(DEC + ROUTER, l))
        expert = _first(tensors, DEC + EXPERT.format(e=0) + "fc1.weight") or \
            _first(tensors, ENC + EXPERT.format(e=0) + "fc1.weight")
        cfg = replace(cfg, moe_layers=moe, d_expert=expert[0] if expert else cfg.d_mlp)
        dropout = hf.get("moe_token_dropout", 0.2)  # NLLB-MoE's default
        if dropout:
            cfg = cfg.with_notes(Note("maths", f"In inference every expert's output is scaled by 1 - moe_token_dropout "
                                               f"= {1 - dropout:g}{' (NLLB-MoE default, assumed)' if not hf else ''}."))
        return cfg


def _first(tensors: Tensors, template: str) -> tuple[int, ...] | None:
    """The shape of a per-layer template in the first layer that stores it (sparse layers are every n-th)."""
    return next((s for l in range(tensors.count_layers(template)) if (s := tensors.shape(template, l))), None)
