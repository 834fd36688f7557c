"""BART and the fairseq-style encoder-decoders that store its names (families/bart_variants.py).

    encoder.layers.{l}.self_attn.{q,k,v,out}_proj, self_attn_layer_norm   -> encoder.{l}.attn.*, ln1
    encoder.layers.{l}.fc1, fc2, final_layer_norm                       -> encoder.{l}.mlp.*, ln2
    decoder.layers.{l}.self_attn (causal), encoder_attn (keys and values from the encoder's output), fc1/fc2
                                                                        -> blocks.{l}.attn.*, cross_attn.*, ln_cross, mlp.*
    {encoder,decoder}.embed_positions, layernorm_embedding, layer_norm   -> each stack's pos_embed.W_pos, embed.ln, ln_final
Every Linear has a bias. Post-norm (BART: each norm after its residual add, ln_cross included) or pre-norm
(mBART, Pegasus, M2M100: then each stack ends in a final `layer_norm`, which is how the two are told apart).
Learned positions are looked up at row position + pos_offset (BART: 2); Marian, Pegasus and M2M100 use fixed
sinusoids (positional = 'sinusoidal'), stored or not. A causal-LM checkpoint (BartForCausalLM) has the decoder only.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import ClassVar

from .. import schema
from ..config import ModelConfig, Note
from ..family import Family, Table
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import from_position_zero, heads_in, heads_out, same, transpose

ENC, DEC = "encoder.layers.{l}.", "decoder.layers.{l}."
FAIRSEQ_ATTN = {"Q": "q_proj", "K": "k_proj", "V": "v_proj", "O": "out_proj"}  # under self_attn. / encoder_attn.
# config.json spells the decoder's sizes per stack; the decoder is the main stack
DECODER_KEYS = {"num_hidden_layers": "decoder_layers", "num_attention_heads": "decoder_attention_heads",
                "intermediate_size": "decoder_ffn_dim"}


def first_row(cfg, w):
    """final_logits_bias is stored [1, d_vocab]; b_U is [d_vocab]."""
    return w[0]


def attention(slot: str, source: str, names: dict) -> dict:
    """The per-head rows of one attention block with biases; `names` maps Q, K, V, O to module names."""
    rows = {}
    for letter, module in names.items():
        t = heads_out if letter == "O" else heads_in()  # [d_model, n_heads*d_head] vs [n_heads*d_head, d_model]
        rows[f"{slot}.W_{letter}"] = (f"{source}{module}.weight", t)
        rows[f"{slot}.b_{letter}"] = (f"{source}{module}.bias", same if letter == "O" else t)
    return rows


@register
class Bart(Family):
    arch = "bart"
    model_types = ("bart",)
    anchor = "decoder.layers.0.self_attn.q_proj.weight"  # prefix 'model.' in *ForConditionalGeneration
    layout = Layout(requires=(DEC + "self_attn.q_proj.weight", DEC + "encoder_attn.q_proj.weight", DEC + "fc1.weight"))
    defaults = {"positional": "learned", "act": "gelu", "tied_embeddings": True, "pos_offset": 2}
    ENCODER_ATTN: ClassVar[tuple[str, dict]] = ("self_attn.", FAIRSEQ_ATTN)  # LED and BigBird name it otherwise
    FINAL_NORM = "layer_norm"  # pre-norm stacks end in it (BigBird-Pegasus reuses layernorm_embedding's name)
    EMBED_NORM: ClassVar[str | None] = "layernorm_embedding"
    ignored = {
        r"(^|\.)(encoder|decoder)\.embed_tokens\.weight$": ("embedding", "the same tensor as shared.weight"),
        r"embed_positions\._float_tensor$": ("buffer", "a placeholder buffer of fairseq's sinusoidal positions"),
    }

    # ---- the table -----------------------------------------------------------------------
    @classmethod
    def stack_rules(cls, stack: str, decoder: bool) -> dict:
        at = lambda slot: schema.template(slot, stack)  # noqa: E731 - 'blocks.{l}.<slot>' or 'encoder.{l}.<slot>'
        glob = lambda slot: schema.name(slot, stack=stack)  # noqa: E731
        src, own = (DEC, "decoder.") if decoder else (ENC, "encoder.")
        module, names = ("self_attn.", FAIRSEQ_ATTN) if decoder else cls.ENCODER_ATTN
        rows = {
            **attention(at("attn"), src + module, names),
            at("ln1.w"): (src + "self_attn_layer_norm.weight", same),
            at("ln1.b"): (src + "self_attn_layer_norm.bias", same),
            at("mlp.W_in"): (src + "fc1.weight", transpose),  # [d_mlp, d_model]
            at("mlp.b_in"): (src + "fc1.bias", same),
            at("mlp.W_out"): (src + "fc2.weight", transpose),  # [d_model, d_mlp]
            at("mlp.b_out"): (src + "fc2.bias", same),
            at("ln2.w"): (src + "final_layer_norm.weight", same),  # the MLP's norm, despite its name
            at("ln2.b"): (src + "final_layer_norm.bias", same),
            glob("pos_embed.W_pos"): (own + "embed_positions.weight", from_position_zero),
            glob("ln_final.w"): (own + cls.FINAL_NORM + ".weight", same),
            glob("ln_final.b"): (own + cls.FINAL_NORM + ".bias", same),
        }
        if cls.EMBED_NORM:
            rows.update({glob("embed.ln.w"): (own + cls.EMBED_NORM + ".weight", same),
                         glob("embed.ln.b"): (own + cls.EMBED_NORM + ".bias", same)})
        if decoder:
            rows.update({**attention(at("cross_attn"), src + "encoder_attn.", FAIRSEQ_ATTN),
                         at("ln_cross.w"): (src + "encoder_attn_layer_norm.weight", same),
                         at("ln_cross.b"): (src + "encoder_attn_layer_norm.bias", same)})
        return rows

    @classmethod
    def embedding(cls, tensors: Tensors) -> str:
        """The token embedding: the shared one, or the decoder's (a causal-LM checkpoint)."""
        return "shared.weight" if tensors.has("shared.weight") else "decoder.embed_tokens.weight"

    @classmethod
    def rules_for(cls, cfg: ModelConfig, tensors: Tensors) -> Table:
        rules = {"embed.W_E": (cls.embedding(tensors), same)}
        if "encoder" in cls.stack_templates(tensors):
            rules.update(cls.stack_rules("encoder", False))
        rules.update({**cls.stack_rules(schema.MAIN, True), "unembed.W_U": ("lm_head.weight", transpose),
                      "unembed.b_U": ("final_logits_bias", first_row)})
        return Table(rules, cls.ignored, cls.tied_alias(cfg, tensors))

    @classmethod
    def has_head(cls, hf: dict | None) -> bool:
        """Marian's LM class is MarianMTModel."""
        return super().has_head(hf) or any(a.endswith("MTModel") for a in (hf or {}).get("architectures") or [])

    @classmethod
    def tied_alias(cls, cfg: ModelConfig, tensors: Tensors) -> tuple[str, str] | None:
        target = tensors.resolve(cls.embedding(tensors))
        if not cfg.tied_embeddings or target is None or tensors.has("lm_head.weight"):
            return None
        return "lm_head.weight", target

    @classmethod
    def stack_templates(cls, tensors: Tensors) -> dict[str, str]:
        module, names = cls.ENCODER_ATTN
        encoder = ENC + module + names["Q"] + ".weight"
        return {schema.MAIN: DEC + "self_attn.q_proj.weight", **({"encoder": encoder} if tensors.has(encoder) else {})}

    @classmethod
    def count_layers(cls, tensors: Tensors) -> int:
        return tensors.count_layers(DEC + "self_attn.q_proj.weight")

    # ---- the config ----------------------------------------------------------------------
    @classmethod
    def derive_config(cls, hf: dict | None, tensors: Tensors, n_heads: int | None = None) -> ModelConfig:
        if hf:  # the decoder's sizes under the names every family reads
            hf = {**hf, **{common: hf[own] for common, own in DECODER_KEYS.items() if hf.get(own) is not None}}
        return super().derive_config(hf, tensors, n_heads)

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        embed, fc1 = tensors.shape(cls.embedding(tensors)), tensors.shape(DEC + "fc1.weight")
        return {"d_model": embed[1] if embed else None, "d_vocab": embed[0] if embed else None,
                "d_mlp": fc1[0] if fc1 else None}

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        templates = cls.stack_templates(tensors)
        encoder = tensors.count_layers(templates["encoder"]) if "encoder" in templates else None
        pre = tensors.has("decoder." + cls.FINAL_NORM + ".weight") or tensors.has("encoder.layer_norm.weight")
        cfg = replace(cfg, n_encoder_layers=hf.get("encoder_layers", encoder) if encoder is not None else None,
                      norm_position="pre" if pre else "post",
                      embed_scale=math.sqrt(cfg.d_model) if hf.get("scale_embedding") and cfg.d_model else 1.0)
        positions = tensors.shape("decoder.embed_positions.weight")
        if positions and cfg.n_ctx and 0 <= positions[0] - cfg.n_ctx <= 2:  # rows before position 0, read off
            cfg = replace(cfg, pos_offset=positions[0] - cfg.n_ctx)
        if not positions and cfg.positional == "sinusoidal":
            cfg = cfg.with_notes(Note("positions", "Positions are fixed sinusoids added to the embeddings, "
                                                   "computed and not stored."))
        if not hf:
            cfg = cfg.with_notes(Note("read-as", f"No config.json: read as {cls.arch}. Marian, Pegasus, mBART and "
                                                 "others store the same names; the embedding scale is assumed 1."))
        return cfg
