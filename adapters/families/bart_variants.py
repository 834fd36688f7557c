"""Encoder-decoders that store BART's names (families/bart.py), chosen by config.json's model_type; each says in
one line what differs. Pre- or post-norm and the rows before position 0 are read off the tensors, so most
differ only in their positions and defaults."""
from __future__ import annotations

from .. import schema
from ..config import ModelConfig
from ..family import Table
from ..layout import Tensors
from ..registry import register
from ..transforms import same, transpose
from .bart import Bart

SINUSOIDAL = {**Bart.defaults, "positional": "sinusoidal", "pos_offset": 0}


@register
class MBart(Bart):
    """BART, pre-norm: each stack ends in its own layer_norm."""
    arch = "mbart"
    model_types = ("mbart",)


@register
class PLBart(Bart):
    """BART's names and offsets, trained on code."""
    arch = "plbart"
    model_types = ("plbart",)


@register
class Mvp(Bart):
    """BART, with optional prompt tables per layer (use_prompt) outside the schema."""
    arch = "mvp"
    model_types = ("mvp",)
    ignored = {**Bart.ignored, r"(self_attn|cross_attn)_prompt\.|\.prompt_": ("other", "MVP's task prompts: "
                                                                                 "extra keys and values, not weights "
                                                                                 "of the transformer body")}


@register
class Marian(Bart):
    """BART post-norm without layernorm_embedding; fixed sinusoidal positions from row 0."""
    arch = "marian"
    model_types = ("marian",)
    defaults = SINUSOIDAL


@register
class Pegasus(Bart):
    """Pre-norm, fixed sinusoidal positions from row 0."""
    arch = "pegasus"
    model_types = ("pegasus",)
    defaults = SINUSOIDAL


@register
class M2M100(Bart):
    """Pre-norm, sinusoidal positions computed on the fly (not stored)."""
    arch = "m2m_100"
    model_types = ("m2m_100",)
    defaults = {**SINUSOIDAL, "pos_offset": 2, "act": "relu"}


@register
class Blenderbot(Bart):
    """Pre-norm, learned positions from row 0, no layernorm_embedding."""
    arch = "blenderbot"
    model_types = ("blenderbot",)
    defaults = {**Bart.defaults, "pos_offset": 0}


@register
class BlenderbotSmall(Bart):
    """Post-norm with layernorm_embedding, learned positions from row 0."""
    arch = "blenderbot-small"
    model_types = ("blenderbot-small",)
    defaults = {**Bart.defaults, "pos_offset": 0}


@register
class LED(Bart):
    """BART whose encoder attends through Longformer's windowed attention (query/key/value; the *_global
    projections of its global tokens are outside the schema); learned positions from row 0."""
    arch = "led"
    model_types = ("led",)
    defaults = {**Bart.defaults, "pos_offset": 0}
    ENCODER_ATTN = ("self_attn.", {"Q": "longformer_self_attn.query", "K": "longformer_self_attn.key",
                                   "V": "longformer_self_attn.value", "O": "output"})
    ignored = {**Bart.ignored, r"longformer_self_attn\.(query|key|value)_global\.": (
        "attention", "the projections of Longformer's global tokens, outside the per-head schema")}


@register
class BigBirdPegasus(Bart):
    """Pre-norm; each stack's final norm is stored as `layernorm_embedding` (it runs after the layers); the encoder
    attends through BigBird's block-sparse attention (self_attn.self.query/key/value, self_attn.output)."""
    arch = "bigbird_pegasus"
    model_types = ("bigbird_pegasus",)
    defaults = {**Bart.defaults, "pos_offset": 0}
    FINAL_NORM = "layernorm_embedding"
    EMBED_NORM = None
    ENCODER_ATTN = ("self_attn.", {"Q": "self.query", "K": "self.key", "V": "self.value", "O": "output"})


@register
class PegasusX(Bart):
    """Pegasus with global tokens in the encoder (embed_global and their own norm, outside the schema);
    sinusoidal positions computed on the fly."""
    arch = "pegasus_x"
    model_types = ("pegasus_x",)
    defaults = SINUSOIDAL
    ignored = {**Bart.ignored,
               r"encoder\.embed_global\.weight$": ("embedding", "the encoder's global tokens, outside the schema"),
               r"global_self_attn_layer_norm\.": ("norm", "the global tokens' norm, outside the schema")}


@register
class FSMT(Bart):
    """fairseq's translation models: a source and a target vocabulary (each stack its own embedding), the LM head
    stored as the decoder's output_projection, sinusoidal positions stored with fairseq's offset of 2."""
    arch = "fsmt"
    model_types = ("fsmt",)
    defaults = {**SINUSOIDAL, "pos_offset": 2, "act": "relu", "tied_embeddings": False}
    ignored = {r"embed_positions\._float_tensor$": Bart.ignored[r"embed_positions\._float_tensor$"]}

    @classmethod
    def embedding(cls, tensors: Tensors) -> str:
        return "decoder.embed_tokens.weight"

    @classmethod
    def rules_for(cls, cfg: ModelConfig, tensors: Tensors) -> Table:
        table = super().rules_for(cfg, tensors)
        rules = {**table.rules, schema.name("embed.W_E", stack="encoder"): ("encoder.embed_tokens.weight", same),
                 "unembed.W_U": ("decoder.output_projection.weight", transpose)}  # [tgt_vocab, d_model]
        return Table(rules, cls.ignored, table.tied)
