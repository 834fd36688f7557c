"""OPT: separate q, k, v, out_proj with biases, fc1/fc2, learned positions stored with an offset.

embed_positions has max_position_embeddings + 2 rows: OPT looks position i up at row i + 2
(a fairseq leftover), so `drop_rows(2)` makes row i = position i as the schema says.
opt-350m is the odd one: post-norm (do_layer_norm_before=False) and a 512-wide embedding
projected to and from the 1024-wide stream by project_in / project_out.
"""
from __future__ import annotations

from .config import ModelConfig
from .family import Family
from .registry import register
from .transforms import drop_rows, heads_in, heads_out, same, transpose

L = "layers.{l}."
ATTN = L + "self_attn."
OFFSET = 2  # rows of embed_positions before position 0


@register
class OPT(Family):
    arch = "opt"
    model_types = ("opt",)
    anchor = "decoder.embed_tokens.weight"  # prefix 'model.' in OPTForCausalLM
    layer_anchor = "decoder." + ATTN + "q_proj.weight"
    tie = ("lm_head.weight", "decoder.embed_tokens.weight")
    defaults = {"positional": "learned", "act": "relu", "tied_embeddings": True}
    rules = {
        "embed.W_E": ("decoder.embed_tokens.weight", same),
        "pos_embed.W_pos": ("decoder.embed_positions.weight", drop_rows(OFFSET)),
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
    # and W_U would have the wrong width, so there they are left raw (see adjust) together with the projections.
    ignored = {
        r"decoder\.project_in\.weight$": ("embedding", "maps the narrower token embedding up to d_model (opt-350m)"),
        r"decoder\.project_out\.weight$": ("unembed", "maps d_model down to the token embedding's width (opt-350m)"),
    }

    @classmethod
    def detect(cls, names: list[str]) -> bool:  # BART and T5 also have decoder.embed_tokens, and an encoder
        return super().detect(names) and not any("encoder." in n for n in names)

    def infer(self) -> dict:
        get = lambda template, layer=None: self.shapes.get(self.resolve(template, layer) or "")
        q, fc1 = get(self.layer_anchor, 0), get("decoder." + L + "fc1.weight", 0)
        emb, pos = get(self.anchor), get("decoder.embed_positions.weight")
        return {"n_layers": self.count_layers(), "d_model": q[0] if q else None, "d_vocab": emb[0],
                "d_mlp": fc1[0] if fc1 else None, "n_ctx": pos[0] - OFFSET if pos else None,
                "norm_position": "pre" if self.resolve("decoder.final_layer_norm.weight") else "post"}

    def adjust(self, cfg: ModelConfig, hf: dict | None) -> None:
        if hf is not None:
            cfg.norm_position = "pre" if hf.get("do_layer_norm_before", True) else "post"
        cfg.notes.append("embed_positions stores 2 extra rows before position 0 (OPT's offset); "
                         "they are dropped, so W_pos row i is position i.")
        if self.resolve("decoder.project_in.weight") is not None:
            self.rules = {k: v for k, v in self.rules.items() if k not in ("embed.W_E", "unembed.W_U")}
            self.ignored = {**self.ignored, r"decoder\.embed_tokens\.weight$": (
                "embedding", "token embedding in word_embed_proj_dim, narrower than d_model; project_in widens it")}
            cfg.notes.insert(0, "The token embedding is narrower than the residual stream (project_in / project_out), "
                             "so embed.W_E and unembed.W_U are shown only as raw tensors.")
