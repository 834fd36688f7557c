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
    "n_experts": ("num_local_experts", "num_experts", "n_routed_experts", "moe_num_experts"),
    "n_experts_per_token": ("num_experts_per_tok", "num_experts_per_token", "moe_topk"),
    "n_shared_experts": ("n_shared_experts", "num_shared_experts"),
    "d_expert": ("moe_intermediate_size",),
    "q_lora_rank": ("q_lora_rank",),
    "kv_lora_rank": ("kv_lora_rank",),
    "d_head_rope": ("qk_rope_head_dim",),
    "d_head_v": ("v_head_dim",),
    "rel_buckets": ("relative_attention_num_buckets",),
    "rel_max_distance": ("relative_attention_max_distance",),
    "patch_size": ("patch_size",),
    "n_channels": ("num_channels",),
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
    positional: str = "learned"  # learned | rotary | alibi | sinusoidal (fixed, not stored: XGLM) | none
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
    value_scale: float = 1.0  # values are x @ W_V (+ b_V) times this (MiMo-V2-Flash's attention_value_scale)
    logit_scale: float = 1.0  # logits are the unembedding's output times this (Granite: 1 / logits_scaling)
    # A norm of q and k after projection: head (RMSNorm over each head: Qwen3, Gemma3) | projection (RMSNorm over
    # all heads at once: OLMo2) | head_layernorm (LayerNorm over each head, weight and bias: Persimmon) |
    # head_plain (RMSNorm over each head without a weight, so no slot: NanoChat)
    qk_norm: str | None = None
    attn_softcap: float | None = None  # scores capped as cap * tanh(s / cap) (Gemma2)
    logit_softcap: float | None = None  # logits capped likewise
    sliding_window: int | None = None  # a windowed layer attends to at most this many tokens back
    sliding_layers: tuple[int, ...] | None = None  # the windowed layers; None with a window: every layer
    attn_sinks: bool = False  # each head has a learned logit in its softmax's denominator (attn.sinks: gpt-oss)
    # gpt-oss's expert GLU: gate clamped to at most glu_limit, up to [-glu_limit, glu_limit], then
    # (up + 1) * gate * sigmoid(glu_alpha * gate) in place of act(gate) * up. None: the plain GLU.
    glu_limit: float | None = None
    glu_alpha: float | None = None
    # Mixture of experts (Mixtral, Qwen-MoE, OLMoE, gpt-oss, DeepSeek): every token goes to
    # n_experts_per_token of the n_experts routed experts, plus the n_shared_experts every token uses.
    n_experts: int | None = None
    n_experts_per_token: int | None = None
    n_shared_experts: int = 0
    d_expert: int | None = None  # one routed expert's hidden width (moe_intermediate_size); None: d_mlp
    moe_layers: tuple[int, ...] | None = None  # the layers with experts; None with n_experts: every layer
    # Multi-head latent attention (DeepSeek-V2/V3): low-rank q and kv factors; see schema's attn.*_a / *_b slots.
    q_lora_rank: int | None = None  # None: queries are a full projection (DeepSeek-V2-Lite)
    kv_lora_rank: int | None = None
    d_head_rope: int | None = None  # the part of each q/k head that gets rotary (shared by all heads for k)
    d_head_v: int | None = None  # value head width when it differs from d_head
    # More than one stack of layers (schema.STACKS): layer counts of the others (T5's encoder, a vision tower)
    n_encoder_layers: int | None = None
    rel_buckets: int | None = None  # T5's relative position bias: buckets of distance per head
    rel_max_distance: int | None = None  # distances beyond this share the last bucket
    # Vision transformers: an image cut into patch_grid = (rows, cols) patches of patch_size pixels, one token
    # each, after n_prefix_tokens learned tokens (the class token, registers) whose positions come first.
    patch_size: int | None = None
    n_channels: int | None = None
    patch_grid: tuple[int, int] | None = None
    n_prefix_tokens: int = 0
    # A vision tower beside the text stack (CLIP, SigLIP: `vision.{l}.*`, n_encoder_layers layers) has its own
    # width and head count; the fields above then describe the tower's patches.
    vision_d_model: int | None = None
    vision_n_heads: int | None = None

    def to_dict(self) -> dict:
        """Plain JSON-able values (each note as {'kind', 'text'}), for report.json and cache keys."""
        return asdict(self)

    def with_notes(self, *notes: Note) -> ModelConfig:
        return replace(self, notes=[*self.notes, *notes])


def per_stage(value) -> bool:
    """A config value given once per stage of a hierarchical vision model (Swin's num_heads [3, 6, 12, 24],
    PVT's hidden_sizes): a non-empty list of whole numbers, which no single ModelConfig field can hold."""
    return isinstance(value, list) and bool(value) and all(type(v) is int for v in value)


def read_common(hf: dict | None) -> dict:
    """The facts that config.json spells in one of the usual ways."""
    out: dict = {}
    for key, names in ALIASES.items():
        for name in names:
            if hf and hf.get(name) is not None:
                if not per_stage(hf[name]):  # a list per stage is no one model-wide value: left unknown
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
            "known default for these shapes), so per-head views are unavailable until a head count is given (n_heads).")))
    return cfg


def for_stack(cfg: ModelConfig, stack: str) -> ModelConfig:
    """The config a stack's layers are read with: a vision tower of its own width (CLIP beside its text
    tower) has its own d_model and heads; every other stack shares the model's."""
    if stack != "vision" or not cfg.vision_n_heads or not cfg.vision_d_model:
        return cfg
    return replace(cfg, d_model=cfg.vision_d_model, n_heads=cfg.vision_n_heads, n_kv_heads=cfg.vision_n_heads,
                   d_head=cfg.vision_d_model // cfg.vision_n_heads)
