"""OPT: separate q, k, v, out_proj with biases, fc1/fc2, learned positions stored with an offset.

embed_positions has max_position_embeddings + 2 rows: OPT looks position i up at row i + 2
(a fairseq leftover), so `from_position_zero` (pos_offset 2) makes row i = position i as the schema says.
opt-350m is the odd one: post-norm (do_layer_norm_before=False) and a 512-wide embedding
projected to and from the 1024-wide stream by project_in / project_out.
"""
from __future__ import annotations

from dataclasses import replace

from ..config import ModelConfig, Note
from ..family import Family, Table
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import from_position_zero, heads_in, heads_out, same, transpose

L = "layers.{l}."
ATTN = L + "self_attn."
OFFSET = 2  # rows of embed_positions before position 0
PROJECT_IN = "decoder.project_in.weight"  # opt-350m only
NARROW = ("embed.W_E", "unembed.W_U")  # slots in word_embed_proj_dim when project_in is stored


@register
class OPT(Family):
    arch = "opt"
    model_types = ("opt",)
    anchor = "decoder.embed_tokens.weight"  # prefix 'model.' in OPTForCausalLM
    layer_anchor = "decoder." + ATTN + "q_proj.weight"
    # BART, Whisper and Marian share these names and add an encoder, whose output the decoder cross-attends to
    layout = Layout(requires=(anchor, layer_anchor, "decoder." + L + "fc1.weight"),
                    forbids=("encoder." + ATTN + "q_proj.weight", "decoder." + L + "encoder_attn.q_proj.weight"))
    tie = ("lm_head.weight", "decoder.embed_tokens.weight")
    defaults = {"positional": "learned", "act": "relu", "tied_embeddings": True, "pos_offset": OFFSET}
    rules = {
        "embed.W_E": ("decoder.embed_tokens.weight", same),
        "pos_embed.W_pos": ("decoder.embed_positions.weight", from_position_zero),
        **{slot: ("decoder." + src, t) for slot, (src, t) in {
            "blocks.{l}.ln1.w": (L + "self_attn_layer_norm.weight", same),
            "blocks.{l}.ln1.b": (L + "self_attn_layer_norm.bias", same),
            "blocks.{l}.attn.W_Q": (ATTN + "q_proj.weight", heads_in()),  # scaled by d_head**-0.5 in forward only
            "blocks.{l}.attn.b_Q": (ATTN + "q_proj.bias", heads_in()),
            "blocks.{l}.attn.W_K": (ATTN + "k_proj.weight", heads_in()),
            "blocks.{l}.attn.b_K": (ATTN + "k_proj.bias", heads_in()),
            "blocks.{l}.attn.W_V": (ATTN + "v_proj.weight", heads_in()),
            "blocks.{l}.attn.b_V": (ATTN + "v_proj.bias", heads_in()),
            "blocks.{l}.attn.W_O": (ATTN + "out_proj.weight", heads_out),
            "blocks.{l}.attn.b_O": (ATTN + "out_proj.bias", same),
            "blocks.{l}.ln2.w": (L + "final_layer_norm.weight", same),  # the layer's MLP norm, despite its name
            "blocks.{l}.ln2.b": (L + "final_layer_norm.bias", same),
            "blocks.{l}.mlp.W_in": (L + "fc1.weight", transpose),
            "blocks.{l}.mlp.b_in": (L + "fc1.bias", same),
            "blocks.{l}.mlp.W_out": (L + "fc2.weight", transpose),
            "blocks.{l}.mlp.b_out": (L + "fc2.bias", same),
            "ln_final.w": ("final_layer_norm.weight", same),  # absent in post-norm opt-350m
            "ln_final.b": ("final_layer_norm.bias", same),
        }.items()},
        "unembed.W_U": ("lm_head.weight", transpose),
    }
    # opt-350m's token embedding is [d_vocab, word_embed_proj_dim], not [d_vocab, d_model]: the schema's W_E
    # and W_U would have the wrong width, so there they are left raw (see rules_for) together with the projections.
    ignored = {
        r"decoder\.project_in\.weight$": ("embedding", "maps the narrower token embedding up to d_model (opt-350m)"),
        r"decoder\.project_out\.weight$": ("unembed", "maps d_model down to the token embedding's width (opt-350m)"),
    }

    @classmethod
    def rules_for(cls, cfg: ModelConfig, tensors: Tensors) -> Table:
        table = super().rules_for(cfg, tensors)
        if not tensors.has(PROJECT_IN):
            return table
        return replace(table, rules={k: v for k, v in table.rules.items() if k not in NARROW},
                       ignored={**table.ignored, r"decoder\.embed_tokens\.weight$": (
                           "embedding", "token embedding in word_embed_proj_dim, narrower than d_model; "
                                        "project_in widens it")})

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        q, fc1 = tensors.shape(cls.layer_anchor), tensors.shape("decoder." + L + "fc1.weight")
        emb, pos = tensors.shape(cls.anchor), tensors.shape("decoder.embed_positions.weight")
        return {"d_model": q[0] if q else None, "d_vocab": emb[0], "d_mlp": fc1[0] if fc1 else None,
                "n_ctx": pos[0] - OFFSET if pos else None,
                "norm_position": "pre" if tensors.has("decoder.final_layer_norm.weight") else "post"}

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        if hf:
            cfg = replace(cfg, norm_position="pre" if hf.get("do_layer_norm_before", True) else "post")
        notes = [Note("layout", f"embed_positions stores {OFFSET} extra rows before position 0 (OPT's offset); "
                                "they are dropped, so W_pos row i is position i.")]
        if tensors.has(PROJECT_IN):
            notes.insert(0, Note("absent", "The token embedding is narrower than the residual stream (project_in "
                                           "/ project_out), so embed.W_E and unembed.W_U are shown only as raw "
                                           "tensors."))
        return cfg.with_notes(*notes)
