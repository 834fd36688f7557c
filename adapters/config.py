"""The architecture facts every analysis needs, in one dataclass, read from config.json or inferred."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

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


# What a note is about, so code can act on the sort of note and never on its words.
NOTE_KINDS = {
    "heads-unknown": "the head count is not known, so per-head slots are absent until the caller gives n_heads",
    "heads-assumed": "the head count is the family's usual one for this width, not read from the checkpoint",
    "assumed": "another fact the checkpoint does not state, taken from the family's usual checkpoints",
    "read-as": "which family the checkpoint was read as, when config.json does not say it or says otherwise",
    "no-adapter": "no family fits: raw tensors only",
    "absent": "schema slots this checkpoint cannot fill, and why",
    "layout": "how stored tensors were rearranged to fit the schema (rows dropped, offsets)",
    "positions": "how positions enter beyond the stored weights (rope scaling, relative positions)",
    "maths": "a computation the stored weights do not show (an input scale, a softcap, a window)",
}
HEAD_COUNT_KINDS = ("heads-unknown", "heads-assumed")  # void once the caller gives n_heads
EXPLAINS_ABSENT_SLOTS = ("no-adapter", "heads-unknown", "absent")  # said when a schema slot is asked for and missing


@dataclass(frozen=True)
class Note:
    """One thing a reader should know about how a model was read: `kind` (a key of NOTE_KINDS) for code,
    `text` for people."""
    kind: str
    text: str

    def __post_init__(self):
        if self.kind not in NOTE_KINDS:
            raise ValueError(f"unknown note kind {self.kind!r}; add it to NOTE_KINDS")


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
    norm_position: str = "pre"  # pre | post | output | sandwich: see below
    parallel_residual: bool = False
    tied_embeddings: bool = False
    pos_offset: int = 0  # rows stored before position 0 in the learned positions (OPT 2, RoBERTa pad + 1)
    notes: list[Note] = field(default_factory=list)  # what could not be read or inferred, said plainly
    # What changes the computation beyond the stored weights (Granite, Gemma, OLMo2, Phi). norm_position:
    # pre = a norm before each sublayer (ln1, ln2); post = after each residual add (BERT); output = on each
    # sublayer's output before it joins the residual (ln1_post, ln2_post: OLMo2); sandwich = both (Gemma2/3).
    attn_scale: float | None = None  # attention scores are q.k times this; None: 1/sqrt(d_head)
    embed_scale: float = 1.0  # token embeddings are multiplied by this on the way in (Gemma: sqrt(d_model))
    residual_scale: float = 1.0  # each sublayer's output is multiplied by this before it joins the residual
    logit_scale: float = 1.0  # logits are the unembedding's output times this (Granite: 1 / logits_scaling)
    qk_norm: str | None = None  # RMSNorm of q and k: head (over each head: Qwen3, Gemma3) | projection (OLMo2)
    attn_softcap: float | None = None  # scores capped as cap * tanh(s / cap) (Gemma2)
    logit_softcap: float | None = None  # logits capped likewise
    sliding_window: int | None = None  # a windowed layer attends to at most this many tokens back
    sliding_layers: tuple[int, ...] | None = None  # the windowed layers; None with a window: every layer

    def to_dict(self) -> dict:
        """Plain JSON-able values (each note as {'kind', 'text'}), for report.json and cache keys."""
        return asdict(self)

    def with_notes(self, *notes: Note) -> ModelConfig:
        return replace(self, notes=[*self.notes, *notes])


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


def merge(hf: dict | None, defaults: dict, inferred: dict) -> ModelConfig:
    """config.json first, then facts read off the shapes, then the family's defaults."""
    values = {**defaults, **{k: v for k, v in inferred.items() if v is not None}, **read_common(hf)}
    known = ModelConfig.__dataclass_fields__
    return ModelConfig(**{k: v for k, v in values.items() if k in known})


def fill_in(cfg: ModelConfig) -> ModelConfig:
    """What follows from the facts once the head count is settled: d_head, n_kv_heads, rotary_dim, or a
    heads-unknown note when there is no head count."""
    d_head = cfg.d_head or (cfg.d_model // cfg.n_heads if cfg.n_heads and cfg.d_model else None)
    cfg = replace(cfg, d_head=d_head, n_kv_heads=cfg.n_kv_heads or cfg.n_heads,
                  rotary_dim=cfg.rotary_dim or (d_head if cfg.positional == "rotary" else None))
    if cfg.n_heads is None:
        cfg = cfg.with_notes(Note("heads-unknown", (
            "The number of attention heads is not in the checkpoint (no config.json, no header metadata, no "
            "known default for these shapes), so per-head views are unavailable. Pass n_heads to open it with heads.")))
    return cfg
