"""Llama and its close relatives: separate q/k/v/o Linear layers, gated MLP, RMSNorm, rotary.

Grouped-query attention: k_proj and v_proj hold n_kv_heads < n_heads heads, so W_K and W_V
are [n_kv_heads, d_model, d_head]. RMSNorm has no bias, so no `.b` norm slots. Rotary acts
inside attention and stores nothing (old checkpoints saved its inv_freq buffer).
Mistral and Qwen2 share the tensor names; Qwen3 (families/qwen3.py) and Gemma
(families/gemma.py) subclass `Llama`.
"""
from __future__ import annotations

from dataclasses import replace

from ..config import ModelConfig, Note
from ..family import Family
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import heads_in, heads_out, same, transpose

L = "layers.{l}."
ATTN = L + "self_attn."


def head_dims_from_qk(n_heads: int, tensors: Tensors, attn: str = ATTN) -> tuple[int, int]:
    """(d_head, n_kv_heads) from separate projections: q_proj holds n_heads * d_head rows and k_proj
    n_kv_heads * d_head (grouped-query attention; d_head need not be d_model / n_heads: Qwen3, Gemma)."""
    q, k = tensors.shape(attn + "q_proj.weight"), tensors.shape(attn + "k_proj.weight")
    if not q or not k or q[0] % n_heads or k[0] % (q[0] // n_heads):
        raise ValueError(f"q_proj has {q[0] if q else '?'} rows, not a multiple of n_heads={n_heads}")
    d_head = q[0] // n_heads
    return d_head, k[0] // d_head
Q_NORM = ATTN + "q_norm.weight"  # Qwen3, Gemma3, OLMo2
PRE_MLP_NORM = L + "pre_feedforward_layernorm.weight"  # Gemma2, Gemma3: norms around both sublayers
ROUTER = L + "mlp.gate.weight"  # a Mixture-of-Experts router (Qwen2-MoE, OLMoE, DeepSeek)


@register
class Llama(Family):
    arch = "llama"
    model_types = ("llama",)
    anchor = "embed_tokens.weight"  # prefix 'model.' in *ForCausalLM checkpoints
    layer_anchor = ATTN + "q_proj.weight"
    layout = Layout(requires=(anchor, ATTN + "q_proj.weight", ATTN + "k_proj.weight", ATTN + "v_proj.weight",
                              ATTN + "o_proj.weight", L + "input_layernorm.weight", L + "post_attention_layernorm.weight",
                              L + "mlp.gate_proj.weight"),
                    forbids=(Q_NORM, PRE_MLP_NORM, ROUTER))
    tie = ("lm_head.weight", "embed_tokens.weight")
    defaults = {"positional": "rotary", "norm": "rmsnorm", "gated_mlp": True, "act": "silu",
                "tied_embeddings": False}
    rules = {  # shapes in comments are as stored: torch Linear is [out, in]
        "embed.W_E": ("embed_tokens.weight", same),
        "blocks.{l}.ln1.w": (L + "input_layernorm.weight", same),
        "blocks.{l}.attn.W_Q": (ATTN + "q_proj.weight", heads_in()),  # [n_heads*d_head, d_model]
        "blocks.{l}.attn.W_K": (ATTN + "k_proj.weight", heads_in("n_kv_heads")),  # [n_kv_heads*d_head, d_model]
        "blocks.{l}.attn.W_V": (ATTN + "v_proj.weight", heads_in("n_kv_heads")),
        "blocks.{l}.attn.W_O": (ATTN + "o_proj.weight", heads_out),  # [d_model, n_heads*d_head]
        # Biases: Llama with attention_bias=True has all four; Qwen2 has q, k, v only. Absent rows are skipped.
        "blocks.{l}.attn.b_Q": (ATTN + "q_proj.bias", heads_in()),
        "blocks.{l}.attn.b_K": (ATTN + "k_proj.bias", heads_in("n_kv_heads")),
        "blocks.{l}.attn.b_V": (ATTN + "v_proj.bias", heads_in("n_kv_heads")),
        "blocks.{l}.attn.b_O": (ATTN + "o_proj.bias", same),
        "blocks.{l}.ln2.w": (L + "post_attention_layernorm.weight", same),  # the pre-MLP norm, despite its name
        "blocks.{l}.mlp.W_gate": (L + "mlp.gate_proj.weight", transpose),  # [d_mlp, d_model]
        "blocks.{l}.mlp.W_in": (L + "mlp.up_proj.weight", transpose),
        "blocks.{l}.mlp.W_out": (L + "mlp.down_proj.weight", transpose),  # [d_model, d_mlp]
        "ln_final.w": ("norm.weight", same),
        "unembed.W_U": ("lm_head.weight", transpose),  # [d_vocab, d_model]
    }
    ignored = {r"rotary_emb\.(original_)?inv_freq$": ("buffer", "rotary frequencies old checkpoints saved; "
                                                                "recomputed from rope_theta")}
    # No config.json: n_heads is assumed from d_model for common sizes; d_head then follows from q_proj's rows.
    KNOWN_HEADS = {4096: 32, 5120: 40, 8192: 64}  # Llama 2/3 and Mistral 7-8B, 13B, 70B

    # Said when config.json is absent: what the names alone could not tell apart.
    NO_CONFIG_NOTE = ("read as Llama. Llama, Mistral and Gemma store the same tensor names; if this is Gemma, "
                      "its norm weights are the scales minus one.")

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        embed, q, k, gate = (tensors.shape(t) for t in ("embed_tokens.weight", ATTN + "q_proj.weight",
                                                        ATTN + "k_proj.weight", L + "mlp.gate_proj.weight"))
        out = {"d_model": embed[1] if embed else None, "d_vocab": embed[0] if embed else None,
               "d_mlp": gate[0] if gate else None, "tied_embeddings": not tensors.has("lm_head.weight")}
        d_head = cls.stored_d_head(tensors)
        if d_head and q and k:
            out.update(n_heads=q[0] // d_head, n_kv_heads=k[0] // d_head, d_head=d_head)
        return out

    @classmethod
    def stored_d_head(cls, tensors: Tensors) -> int | None:
        """d_head when a stored shape says it (Qwen3's q_norm); Llama's shapes do not."""
        return None

    @classmethod
    def head_dims(cls, n_heads: int, cfg: ModelConfig, tensors: Tensors) -> tuple[int, int]:
        return head_dims_from_qk(n_heads, tensors)

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        rope = hf.get("rope_parameters") or hf.get("rope_scaling")
        kind = (rope.get("rope_type") or rope.get("type") or "default") if isinstance(rope, dict) else "default"
        if kind != "default":
            cfg = cfg.with_notes(Note("positions", f"rope_type={kind!r}: rotary frequencies are rescaled "
                                                   "from rope_theta."))
        if not hf and cls.NO_CONFIG_NOTE:
            cfg = cfg.with_notes(Note("read-as", "No config.json: " + cls.NO_CONFIG_NOTE))
        return cfg


@register
class Mistral(Llama):
    """Like Llama, plus sliding-window attention in every layer (cfg.sliding_window; it changes no weight); its
    names are Llama's, so only config.json's model_type chooses it."""
    arch = "mistral"
    model_types = ("mistral",)

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = super().facts(cfg, hf, tensors)
        window = hf.get("sliding_window")
        return replace(cfg, sliding_window=int(window)) if window else cfg  # sliding_layers None: every layer


@register
class Qwen2(Llama):
    """Like Llama, plus biases on q, k and v but not o (Llama's optional bias rows above)."""
    arch = "qwen2"
    model_types = ("qwen2",)
    layout = replace(Llama.layout, requires=(*Llama.layout.requires, ATTN + "q_proj.bias"),
                     forbids=(*Llama.layout.forbids, ATTN + "o_proj.bias"))
    NO_CONFIG_NOTE = ""
