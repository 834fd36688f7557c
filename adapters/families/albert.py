"""ALBERT: a BERT-style post-norm encoder whose layers share their weights, with factorised embeddings.

The checkpoint stores num_hidden_groups layer groups (1 in every released ALBERT), and the model applies
them in turn num_hidden_layers times: layer i runs group i * groups // num_hidden_layers. The schema's layers
are the stored groups (cfg.n_layers), each once; a note says how often each runs, so per-layer statistics
are not repeated. Embeddings live in embedding_size (128) dims, narrower than d_model, and
encoder.embedding_hidden_mapping_in widens them; the embeddings and the MLM head work in that narrow space,
so they are listed outside the schema, as OPT-350m's narrow embedding is.
"""
from __future__ import annotations

from dataclasses import replace

from ..config import ModelConfig, Note
from ..family import Family
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import heads_in, heads_out, same, transpose

G = "encoder.albert_layer_groups.{l}.albert_layers.0."  # one layer per group in every released checkpoint
ATTN = G + "attention."


@register
class Albert(Family):
    arch = "albert"
    model_types = ("albert",)
    anchor = "embeddings.word_embeddings.weight"  # prefix 'albert.' in the task models
    layer_anchor = ATTN + "query.weight"
    layout = Layout(requires=(anchor, "encoder.albert_layer_groups.{l}.albert_layers.{l}.attention.query.weight"))
    encoder = True
    defaults = {"positional": "learned", "norm_position": "post", "act": "gelu_new"}
    KNOWN_HEADS = {768: 12, 1024: 16, 2048: 16, 4096: 64}  # ALBERT base, large, xlarge, xxlarge
    rules = {
        **{f"blocks.{{l}}.attn.{k}_{x[0].upper()}": (ATTN + f"{x}.{p}", heads_in())
           for x in ("query", "key", "value") for k, p in (("W", "weight"), ("b", "bias"))},
        "blocks.{l}.attn.W_O": (ATTN + "dense.weight", heads_out),  # [d_model, d_model]
        "blocks.{l}.attn.b_O": (ATTN + "dense.bias", same),
        "blocks.{l}.ln1.w": (ATTN + "LayerNorm.weight", same),  # after attention's residual add
        "blocks.{l}.ln1.b": (ATTN + "LayerNorm.bias", same),
        "blocks.{l}.mlp.W_in": (G + "ffn.weight", transpose),  # [d_mlp, d_model]
        "blocks.{l}.mlp.b_in": (G + "ffn.bias", same),
        "blocks.{l}.mlp.W_out": (G + "ffn_output.weight", transpose),  # [d_model, d_mlp]
        "blocks.{l}.mlp.b_out": (G + "ffn_output.bias", same),
        "blocks.{l}.ln2.w": (G + "full_layer_layer_norm.weight", same),
        "blocks.{l}.ln2.b": (G + "full_layer_layer_norm.bias", same),
    }
    _NARROW = "in embedding_size dims, narrower than d_model: outside the schema's d_model-wide slots"
    ignored = {
        r"embeddings\.(word|position|token_type)_embeddings\.weight$": ("embedding", "an embedding " + _NARROW),
        r"embeddings\.LayerNorm\.": ("norm", "the embeddings' norm, " + _NARROW),
        r"encoder\.embedding_hidden_mapping_in\.": ("embedding", "widens the embeddings to d_model"),
        r"albert_layers\.[1-9]\d*\.": ("other", "a layer past the first of its group (inner_group_num > 1): "
                                                 "the schema holds one layer per group"),
        r"position_ids$": ("buffer", "the position index buffer, not a parameter"),
        r"(^|\.)pooler\.": ("other", "the [CLS] pooler: a classifier input, outside the transformer body"),
        r"^predictions\.": ("unembed", "the MLM head, which maps back to embedding_size and ties to the narrow "
                                       "word embeddings"),
        r"^(sop_classifier|classifier|qa_outputs)\.": ("other", "a task head, outside the transformer body"),
    }

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        wte, ffn = tensors.shape(cls.anchor), tensors.shape(G + "ffn.weight")
        q = tensors.shape(ATTN + "query.weight")
        return {"d_model": q[0] if q else None, "d_vocab": wte[0], "d_mlp": ffn[0] if ffn else None}

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        stored, applied = cls.count_layers(tensors), cfg.n_layers
        q = tensors.shape(ATTN + "query.weight")
        cfg = replace(cfg, n_layers=stored, d_model=q[0] if q else cfg.d_model, tied_embeddings=False)
        if applied and applied != stored:
            cfg = cfg.with_notes(Note("maths", f"The {stored} stored layer group(s) are shared: the model runs "
                                               f"{applied} layers, each group {applied // max(stored, 1)} times in "
                                               "a row. The schema lists each stored group once."))
        return cfg.with_notes(Note("absent", "The embeddings are narrower than d_model (embedding_size), so embed.W_E, "
                                             "pos_embed.W_pos and unembed.W_U are shown only as raw tensors."))
