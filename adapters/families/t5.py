"""T5 and its descendants: an encoder-decoder of bias-free Linear layers and RMSNorms, positions as a learned
bias on the attention scores.

    encoder.block.{l}.layer.0   SelfAttention (bidirectional) + its pre-norm      -> encoder.{l}.attn.*, ln1
    encoder.block.{l}.layer.1   DenseReluDense + its pre-norm                     -> encoder.{l}.mlp.*, ln2
    decoder.block.{l}.layer.0   SelfAttention (causal)                            -> blocks.{l}.attn.*, ln1
    decoder.block.{l}.layer.1   EncDecAttention: keys/values from the encoder     -> blocks.{l}.cross_attn.*, ln_cross
    decoder.block.{l}.layer.2   DenseReluDense                                    -> blocks.{l}.mlp.*, ln2
Scores are q.k with no 1/sqrt(d_head) (cfg.attn_scale = 1), plus W_rel[bucket(key - query), head]: the
relative position bias, stored in block 0 of each stack (`relative_attention_bias`) and shared by its layers.
The MLP is plain (`wi`, relu: T5 1.0) or gated (`wi_0` the activated gate, `wi_1` the linear half: T5 1.1, mT5,
Flan-T5). One embedding, `shared`, feeds both stacks; `encoder.embed_tokens`/`decoder.embed_tokens` are the same
tensor when a checkpoint stores them. A T5EncoderModel checkpoint (no decoder) has its encoder as the main stack.
"""
from __future__ import annotations

from dataclasses import replace

from .. import schema
from ..config import ModelConfig, Note
from ..family import Family, Table
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import heads_in, heads_out, same, transpose

ENC, DEC = "encoder.block.{l}.layer.", "decoder.block.{l}.layer."
SHARED_TIED = "the same tensor as shared.weight (T5 ties every stack's token embedding to it)"


def attention(slot: str, source: str) -> dict:
    """The per-head rows of one bias-free T5 attention block (`source` ends with its module name and a dot)."""
    return {slot + ".W_Q": (source + "q.weight", heads_in()),  # [n_heads*d_head, d_model]
            slot + ".W_K": (source + "k.weight", heads_in()),
            slot + ".W_V": (source + "v.weight", heads_in()),
            slot + ".W_O": (source + "o.weight", heads_out)}  # [d_model, n_heads*d_head]


def mlp(slot: str, source: str, gated: bool) -> dict:
    """A plain MLP (wi, then the activation) or a gated one (the activated wi_0 times wi_1)."""
    if gated:
        return {slot + ".W_gate": (source + "wi_0.weight", transpose),  # [d_mlp, d_model]
                slot + ".W_in": (source + "wi_1.weight", transpose),
                slot + ".W_out": (source + "wo.weight", transpose)}  # [d_model, d_mlp]
    return {slot + ".W_in": (source + "wi.weight", transpose), slot + ".W_out": (source + "wo.weight", transpose)}


@register
class T5(Family):
    arch = "t5"
    model_types = ("t5",)
    anchor = None  # no body prefix: T5 checkpoints name tensors from the model's root
    layout = Layout(requires=("shared.weight", ENC + "{l}.SelfAttention.q.weight",
                              ENC + "{l}.SelfAttention.relative_attention_bias.weight"))
    tie = ("lm_head.weight", "shared.weight")
    defaults = {"positional": "relative", "norm": "rmsnorm", "act": "relu", "attn_scale": 1.0,
                "tied_embeddings": True}
    ENC_ATTN = "SelfAttention"  # LongT5's encoder attends locally under another name
    MLP = "DenseReluDense"  # Switch Transformers' dense layers call it `mlp`
    SCALES_TIED_OUTPUT = True  # whether a tied LM head reads the decoder's output times d_model**-0.5
    ignored = {r"(encoder|decoder)\.embed_tokens\.weight$": ("embedding", SHARED_TIED)}

    @classmethod
    def stack_rules(cls, stack: str, decoder: bool, gated: bool, enc_attn: str) -> dict:
        """The rows of one stack: the encoder's or the decoder's source names under schema stack `stack`;
        `enc_attn` names the encoder's attention module."""
        src, own = (DEC, "decoder") if decoder else (ENC, "encoder")
        at = lambda slot: schema.template(slot, stack)  # noqa: E731 - 'blocks.{l}.<slot>' or 'encoder.{l}.<slot>'
        mlp_at = src + f"{2 if decoder else 1}."
        rows = {
            at("ln1.w"): (src + "0.layer_norm.weight", same),
            **attention(at("attn"), src + f"0.{'SelfAttention' if decoder else enc_attn}."),
            at("ln2.w"): (mlp_at + "layer_norm.weight", same),
            **mlp(at("mlp"), mlp_at + cls.MLP + ".", gated),
            # [n_buckets, n_heads], in block 0 only
            schema.name("pos_embed.W_rel", stack=stack): (cls.rel_bias(decoder, enc_attn).format(l=0), same),
            schema.name("ln_final.w", stack=stack): (own + ".final_layer_norm.weight", same),
        }
        if decoder:
            rows.update({at("ln_cross.w"): (src + "1.layer_norm.weight", same),
                         **attention(at("cross_attn"), src + "1.EncDecAttention.")})
        return rows

    @classmethod
    def rel_bias(cls, decoder: bool, enc_attn: str) -> str:
        """The per-layer source template of a stack's relative position bias."""
        return (DEC if decoder else ENC) + f"0.{'SelfAttention' if decoder else enc_attn}.relative_attention_bias.weight"

    @classmethod
    def encoder_attention(cls, tensors: Tensors) -> str:
        """The encoder's attention module name in this checkpoint."""
        return cls.ENC_ATTN

    @classmethod
    def gated(cls, tensors: Tensors) -> bool:
        return tensors.has(ENC + f"1.{cls.MLP}.wi_0.weight")

    @classmethod
    def stack_templates(cls, tensors: Tensors) -> dict[str, str]:
        dec, enc = DEC + "0.SelfAttention.q.weight", ENC + f"0.{cls.encoder_attention(tensors)}.q.weight"
        if not tensors.has(dec):  # T5EncoderModel: the encoder is the only stack
            return {schema.MAIN: enc}
        return {schema.MAIN: dec, "encoder": enc}

    @classmethod
    def count_layers(cls, tensors: Tensors) -> int:
        return tensors.count_layers(cls.stack_templates(tensors)[schema.MAIN])

    @classmethod
    def rules_for(cls, cfg: ModelConfig, tensors: Tensors) -> Table:
        gated, enc_attn = cls.gated(tensors), cls.encoder_attention(tensors)
        if "encoder" in cls.stack_templates(tensors):
            rules = {**cls.stack_rules("encoder", False, gated, enc_attn),
                     **cls.stack_rules(schema.MAIN, True, gated, enc_attn)}
        else:
            rules = cls.stack_rules(schema.MAIN, False, gated, enc_attn)
        embed = next((n for n in ("shared.weight", "encoder.embed_tokens.weight") if tensors.has(n)))
        rules = {"embed.W_E": (embed, same), **rules, "unembed.W_U": ("lm_head.weight", transpose)}
        return Table(rules, cls.ignored, cls.tied_alias(cfg, tensors))

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        embed = tensors.shape("shared.weight") or tensors.shape("encoder.embed_tokens.weight")
        wo = tensors.shape(ENC + f"1.{cls.MLP}.wo.weight")
        enc_attn = cls.encoder_attention(tensors)
        bias, q = tensors.shape(cls.rel_bias(False, enc_attn)), tensors.shape(ENC + f"0.{enc_attn}.q.weight")
        n_heads = bias[1] if bias else None  # the bias has a column per head: T5 needs no head count given
        return {"d_model": embed[1], "d_vocab": embed[0], "d_mlp": wo[1] if wo else None,
                "rel_buckets": bias[0] if bias else None, "n_heads": n_heads,
                "d_head": q[0] // n_heads if n_heads and q and q[0] % n_heads == 0 else None,
                "gated_mlp": cls.gated(tensors),
                "tied_embeddings": not tensors.has("lm_head.weight")}

    @classmethod
    def head_dims(cls, n_heads: int, cfg: ModelConfig, tensors: Tensors) -> tuple[int, int]:
        q = tensors.shape(ENC + f"0.{cls.encoder_attention(tensors)}.q.weight")  # d_kv * n_heads rows; d_kv need not be d_model / n
        if not q or q[0] % n_heads:
            raise ValueError(f"q has {q[0] if q else '?'} rows, not a multiple of n_heads={n_heads}")
        return q[0] // n_heads, n_heads

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        templates = cls.stack_templates(tensors)
        encoder = tensors.count_layers(templates["encoder"]) if "encoder" in templates else None
        if hf and "encoder" in templates:  # config.json's num_layers is the encoder's; num_decoder_layers the decoder's
            decoder = hf.get("num_decoder_layers") or hf.get("num_layers")
            cfg = replace(cfg, n_layers=decoder, n_encoder_layers=hf.get("num_layers") or encoder)
        else:
            cfg = replace(cfg, n_encoder_layers=encoder)
        if hf.get("d_kv") and cfg.n_heads:
            cfg = replace(cfg, d_head=hf["d_kv"])
        ff = hf.get("feed_forward_proj") or ""
        act = hf.get("dense_act_fn") or ff.split("-")[-1] or cfg.act
        # what transformers runs for 'gated-gelu', and what a gated T5 without config.json most likely is (1.1, Flan)
        act = "gelu_new" if ff == "gated-gelu" or (not hf and cls.gated(tensors)) else act
        cfg = replace(cfg, act=act, rel_buckets=cfg.rel_buckets or 32, rel_max_distance=cfg.rel_max_distance or 128,
                      gated_mlp=cls.gated(tensors))
        # The decoder's output is scaled by d_model**-0.5 before an LM head tied to the embedding (T5 1.0);
        # transformers 5 says so in scale_decoder_outputs, older configs by tie_word_embeddings.
        scaled = hf.get("scale_decoder_outputs", hf.get("tie_word_embeddings", True) is not False) if hf \
            else cfg.tied_embeddings
        if scaled and cls.SCALES_TIED_OUTPUT and cfg.d_model:
            cfg = replace(cfg, logit_scale=cfg.d_model ** -0.5)
        if not hf:
            cfg = cfg.with_notes(Note("assumed", "No config.json: relative positions assumed in T5's usual "
                                                 f"{cfg.rel_buckets} buckets up to distance {cfg.rel_max_distance}."))
        return cfg


@register
class MT5(T5):
    """T5 1.1's names and gated MLP, never scaling the decoder's output (mT5's heads are not tied)."""
    arch = "mt5"
    model_types = ("mt5",)
    SCALES_TIED_OUTPUT = False
