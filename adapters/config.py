"""The architecture facts every analysis needs, in one dataclass, read from config.json or inferred."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

# config.json spells the same fact differently per family; the first key present wins.
ALIASES = {
    "n_layers": ("num_hidden_layers", "n_layer", "num_layers", "n_layers"),
    "d_model": ("hidden_size", "n_embd", "d_model", "dim"),
    "n_heads": ("num_attention_heads", "n_head", "num_heads", "n_heads"),
    "n_kv_heads": ("num_key_value_heads", "num_kv_heads", "n_head_kv"),
    "d_head": ("head_dim", "attention_head_size"),
    "d_mlp": ("intermediate_size", "n_inner", "ffn_dim", "ffn_hidden_size"),
    "d_vocab": ("vocab_size", "n_vocab"),
    "n_ctx": ("max_position_embeddings", "n_positions", "n_ctx", "seq_length"),
    "act": ("hidden_act", "activation_function", "hidden_activation"),
    "rotary_base": ("rope_theta", "rotary_emb_base"),
    "tied_embeddings": ("tie_word_embeddings",),
}


@dataclass
class ModelConfig:
    """Shape and design facts of one model; None where not applicable or not known."""
    n_layers: int | None = None
    d_model: int | None = None
    n_heads: int | None = None
    n_kv_heads: int | None = None
    d_head: int | None = None
    d_mlp: int | None = None
    d_vocab: int | None = None
    n_ctx: int | None = None
    positional: str = "learned"  # learned | rotary | alibi | none
    rotary_dim: int | None = None
    rotary_base: float | None = None
    act: str | None = None
    gated_mlp: bool = False
    norm: str = "layernorm"  # layernorm | rmsnorm
    norm_position: str = "pre"  # pre | post
    parallel_residual: bool = False
    tied_embeddings: bool = False
    notes: list[str] = field(default_factory=list)  # what could not be read or inferred, said plainly

    def to_dict(self) -> dict:
        return asdict(self)


def read_common(hf: dict | None) -> dict:
    """The facts that config.json spells in one of the usual ways."""
    out: dict = {}
    for key, names in ALIASES.items():
        for name in names:
            if hf and hf.get(name) is not None:
                out[key] = hf[name]
                break
    rope = (hf or {}).get("rope_parameters") or (hf or {}).get("rope_scaling") or {}
    if "rotary_base" not in out and isinstance(rope, dict) and rope.get("rope_theta"):
        out["rotary_base"] = rope["rope_theta"]
    return out


def build_config(hf: dict | None, defaults: dict, inferred: dict) -> ModelConfig:
    """config.json first, then shapes, then the family's defaults; fill d_head and n_kv_heads."""
    values = {**defaults, **{k: v for k, v in inferred.items() if v is not None}, **read_common(hf)}
    known = ModelConfig.__dataclass_fields__
    cfg = ModelConfig(**{k: v for k, v in values.items() if k in known})
    if cfg.n_heads and cfg.d_head is None and cfg.d_model:
        cfg.d_head = cfg.d_model // cfg.n_heads
    if cfg.n_heads and cfg.n_kv_heads is None:
        cfg.n_kv_heads = cfg.n_heads
    if cfg.positional == "rotary" and cfg.rotary_dim is None and cfg.d_head:
        cfg.rotary_dim = cfg.d_head
    if cfg.n_heads is None:
        cfg.notes.append("The number of attention heads is not in the checkpoint (no config.json, no header "
                         "metadata, no known default for these shapes), so per-head views are unavailable. "
                         "Pass n_heads to open it with heads.")
    return cfg
