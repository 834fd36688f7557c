"""Llama and its close relatives: separate q/k/v/o Linear layers, gated MLP, RMSNorm, rotary.

Grouped-query attention: k_proj and v_proj hold n_kv_heads < n_heads heads, so W_K and W_V
are [n_kv_heads, d_model, d_head]. RMSNorm has no bias, so no `.b` norm slots. Rotary acts
inside attention and stores nothing (old checkpoints saved its inv_freq buffer).
Mistral and Qwen2 share the tensor names; Qwen3 (adapters/qwen3.py) and Gemma
(adapters/gemma.py) subclass `Llama`.
"""
from __future__ import annotations

from .config import ModelConfig
from .family import Family
from .registry import register
from .transforms import heads_in, heads_out, same, transpose

L = "layers.{l}."
ATTN = L + "self_attn."


def _llama_names(names: list[str]) -> bool:
    """A gated MLP, and none of the extra norms that mark Qwen3 or Gemma2."""
    return (any(n.endswith("mlp.gate_proj.weight") for n in names)
            and not any(n.endswith(("self_attn.q_norm.weight", "pre_feedforward_layernorm.weight")) for n in names))


def _qwen2_biases(names: list[str]) -> bool:
    """Qwen2 biases q, k and v but not o; Llama has either all four or none."""
    biased = lambda proj: any(n.endswith(f"self_attn.{proj}.bias") for n in names)
    return biased("q_proj") and not biased("o_proj")


@register
class Llama(Family):
    arch = "llama"
    model_types = ("llama",)
    anchor = "embed_tokens.weight"  # prefix 'model.' in *ForCausalLM checkpoints
    layer_anchor = ATTN + "q_proj.weight"
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
    def detect(cls, names: list[str]) -> bool:
        return super().detect(names) and _llama_names(names) and not _qwen2_biases(names)

    def infer(self) -> dict:
        get = lambda template: self.shapes.get(self.resolve(template, 0) or "")
        embed, q, k, gate = (get(t) for t in ("embed_tokens.weight", ATTN + "q_proj.weight",
                                              ATTN + "k_proj.weight", L + "mlp.gate_proj.weight"))
        d_model = embed[1] if embed else None
        out = {"n_layers": self.count_layers(), "d_model": d_model, "d_vocab": embed[0] if embed else None,
               "d_mlp": gate[0] if gate else None, "tied_embeddings": self.resolve("lm_head.weight") is None}
        d_head = self._d_head(d_model, q)
        if d_head and q and k:
            out.update(n_heads=q[0] // d_head, n_kv_heads=k[0] // d_head, d_head=d_head)
        return out

    def _d_head(self, d_model: int | None, q: tuple | None) -> int | None:
        """d_head from shapes alone: only via the table of known sizes (Qwen3 reads it off q_norm)."""
        n_heads = self.KNOWN_HEADS.get(d_model)
        return q[0] // n_heads if n_heads and q else None

    def head_dims(self, n_heads: int, cfg: ModelConfig) -> tuple[int, int]:
        """q_proj holds n_heads * d_head rows and k_proj n_kv_heads * d_head (grouped-query, Qwen3, Gemma)."""
        q, k = (self.shapes.get(self.resolve(ATTN + f"{p}_proj.weight", 0) or "") for p in "qk")
        if not q or not k or q[0] % n_heads or k[0] % (q[0] // n_heads):
            raise ValueError(f"q_proj has {q[0] if q else '?'} rows, not a multiple of n_heads={n_heads}")
        d_head = q[0] // n_heads
        return d_head, k[0] // d_head

    def adjust(self, cfg: ModelConfig, hf: dict | None) -> None:
        rope = (hf or {}).get("rope_parameters") or (hf or {}).get("rope_scaling")
        kind = (rope.get("rope_type") or rope.get("type") or "default") if isinstance(rope, dict) else "default"
        if kind != "default":
            cfg.notes.append(f"rope_type={kind!r}: rotary frequencies are rescaled from rope_theta.")
        if hf is None:
            if cfg.n_heads and cfg.d_model in self.KNOWN_HEADS:
                cfg.notes.append(f"No config.json: n_heads={cfg.n_heads} is assumed, the usual value for "
                                 f"d_model={cfg.d_model}; pass n_heads to override.")
            if self.NO_CONFIG_NOTE:
                cfg.notes.append("No config.json: " + self.NO_CONFIG_NOTE)


@register
class Mistral(Llama):
    """Like Llama, plus sliding-window attention (which changes no weight)."""
    arch = "mistral"
    model_types = ("mistral",)

    @classmethod
    def detect(cls, names: list[str]) -> bool:
        return False  # indistinguishable from Llama by names; Llama reads it the same way

    def adjust(self, cfg: ModelConfig, hf: dict | None) -> None:
        super().adjust(cfg, hf)
        if (hf or {}).get("sliding_window"):
            cfg.notes.append(f"Each token attends to at most the {hf['sliding_window']} tokens before it.")


@register
class Qwen2(Llama):
    """Like Llama, plus biases on q, k and v (Llama's optional bias rows above)."""
    arch = "qwen2"
    model_types = ("qwen2",)
    NO_CONFIG_NOTE = ""

    @classmethod
    def detect(cls, names: list[str]) -> bool:
        return super(Llama, cls).detect(names) and _llama_names(names) and _qwen2_biases(names)  # skip Llama.detect
