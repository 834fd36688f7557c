"""What an adapter declares: how its checkpoints look, and a table of schema slot -> source template + transform.

A family module (adapters/families/) subclasses `Family`, fills in the class attributes (data), and registers
it with `@register`. Opening a checkpoint (adapters/opening.py) then takes these steps, each a pure function:
    detect (adapters/registry.py: `layout`, config.json's model_type a hint)
    -> derive_config(hf, tensors, n_heads) -> ModelConfig   (defaults < shapes < config.json < the caller's n_heads)
    -> rules_for(cfg, tensors) -> Table                      (this checkpoint's slot table)
    -> Model
A family overrides `infer`, `facts` and `rules_for` only for what differs from its parent; nothing is stored
on the class or an instance while a checkpoint is opened.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import ClassVar, Mapping

from . import schema
from .config import HEAD_COUNT_KINDS, ModelConfig, Note, fill_in, merge
from .errors import LoadError
from .layout import Layout, Tensors
from .transforms import Transform

Rules = Mapping[str, tuple[str, Transform]]  # slot template -> (source template, transform)
Ignored = Mapping[str, tuple[str, str]]  # regex on raw names -> (category, why)


@dataclass(frozen=True)
class Table:
    """How one checkpoint maps onto the schema: what `rules_for` returns and `Model` reads."""
    rules: Rules
    ignored: Ignored  # tensors deliberately outside the schema
    tied: tuple[str, str] | None = None  # (alias raw name, the stored raw name it reads): a tied LM head not stored

    def why_ignored(self, raw_name: str) -> tuple[str, str] | None:
        """(category, why) if this raw tensor is deliberately left out of the schema."""
        for pattern, verdict in self.ignored.items():
            if re.search(pattern, raw_name):
                return verdict
        return None


class Family:
    arch: ClassVar[str] = "generic"
    model_types: ClassVar[tuple[str, ...]] = ()  # config.json model_type values: a hint, checked against `layout`
    layout: ClassVar[Layout] = Layout()  # the tensor names every checkpoint of the family has, and never has
    anchor: ClassVar[str | None] = None  # a tensor every checkpoint has; what precedes it is the prefix
    layer_anchor: ClassVar[str | None] = None  # a per-layer source template, to count layers without config
    rules: ClassVar[Rules] = {}
    ignored: ClassVar[Ignored] = {}
    tie: ClassVar[tuple[str, str] | None] = None  # (tied alias, the tensor it shares), as source templates
    defaults: ClassVar[dict] = {}  # ModelConfig values this family always has unless config.json says otherwise
    # d_model -> the usual head count, assumed (and said) when neither config.json nor the caller gives one
    KNOWN_HEADS: ClassVar[dict[int, int]] = {}
    encoder: ClassVar[bool] = False  # encoders have an LM head only when config.json names one
    stores_in_out: ClassVar[bool] = False  # GPT-2's Conv1D stores [in, out]; torch Linear stores [out, in]

    # ---- the two pure steps --------------------------------------------------------------
    @classmethod
    def derive_config(cls, hf: dict | None, tensors: Tensors, n_heads: int | None = None) -> ModelConfig:
        """The model's config: the family's defaults, overridden by facts read off the shapes, by config.json,
        and by the caller's `n_heads`; then the family's own facts. The head count is settled before those
        facts because they read it (NeoX's rotary_dim is a fraction of d_head; Falcon's kv heads follow n_heads).

        Raises LoadError when the caller's n_heads cannot split the attention weights.
        """
        inferred = {"n_layers": cls.count_layers(tensors), **cls.infer(tensors)}
        cfg = merge(hf, cls.defaults, inferred)
        if n_heads is not None:
            try:
                cfg = cls.with_heads(cfg, tensors, n_heads)
            except ValueError as e:
                raise LoadError(f"Cannot split this model into {n_heads} heads: {e}.") from e
        elif cfg.n_heads is None and not hf and cfg.d_model in cls.KNOWN_HEADS:
            cfg = cls._assume_heads(cfg, tensors)
        cfg = fill_in(cfg)
        if not cls.has_head(hf):
            cfg = replace(cfg, tied_embeddings=False)  # no LM head: nothing shares the embedding
        return cls.facts(cfg, hf or {}, tensors)

    @classmethod
    def rules_for(cls, cfg: ModelConfig, tensors: Tensors) -> Table:
        """This checkpoint's slot table: the declared rules and ignored patterns, and the tied LM head when
        cfg ties it and the checkpoint does not store it. Families whose table depends on what is stored
        (NeoX's head name, Falcon's norms, OPT's narrow embedding) override this."""
        return Table(cls.rules, cls.ignored, cls.tied_alias(cfg, tensors))

    # ---- hooks a family overrides --------------------------------------------------------
    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        """ModelConfig facts read off tensor shapes (d_model, d_vocab, d_mlp, ...), for when config.json is absent."""
        return {}

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        """cfg with this family's own facts (positional scheme, layout flags) and notes; hf is {} without
        config.json."""
        return cfg

    @classmethod
    def head_dims(cls, n_heads: int, cfg: ModelConfig, tensors: Tensors) -> tuple[int, int]:
        """(d_head, n_kv_heads) for a head count that config.json does not give; families with separate or
        grouped q/k projections read them off those shapes instead. Raises ValueError if they do not divide."""
        if not cfg.d_model or cfg.d_model % n_heads:
            raise ValueError(f"n_heads={n_heads} does not divide d_model={cfg.d_model}")
        return cfg.d_model // n_heads, n_heads

    @classmethod
    def layer_template(cls) -> str | None:
        """The per-layer source template layers are counted by; None for a family with no per-layer rules."""
        return cls.layer_anchor or next((s for s, _ in cls.rules.values() if "{l}" in s), None)

    @classmethod
    def count_layers(cls, tensors: Tensors) -> int:
        template = cls.layer_template()
        return tensors.count_layers(template) if template else 0

    @classmethod
    def stack_templates(cls, tensors: Tensors) -> dict[str, str]:
        """Schema stack -> the per-layer source template its stored layers are counted by, for every stack
        this checkpoint has: the main one only, unless the family has more (an encoder-decoder's encoder)."""
        template = cls.layer_template()
        return {schema.MAIN: template} if template else {}

    # ---- small pure helpers --------------------------------------------------------------
    @classmethod
    def tensors(cls, shapes: Mapping[str, tuple[int, ...]]) -> Tensors:
        """A checkpoint's shapes as this family's templates see them (under its prefix)."""
        return Tensors.under(shapes, cls.anchor)

    @classmethod
    def with_heads(cls, cfg: ModelConfig, tensors: Tensors, n_heads: int) -> ModelConfig:
        """cfg split into n_heads heads; notes about where the head count came from no longer apply."""
        d_head, n_kv_heads = cls.head_dims(n_heads, cfg, tensors)
        return replace(cfg, n_heads=n_heads, d_head=d_head, n_kv_heads=n_kv_heads,
                       notes=[n for n in cfg.notes if n.kind not in HEAD_COUNT_KINDS])

    @classmethod
    def _assume_heads(cls, cfg: ModelConfig, tensors: Tensors) -> ModelConfig:
        n_heads = cls.KNOWN_HEADS[cfg.d_model]
        try:
            cfg = cls.with_heads(cfg, tensors, n_heads)
        except ValueError:
            return cfg  # the usual count does not fit these shapes: leave it unknown
        return cfg.with_notes(Note("heads-assumed", f"No config.json: n_heads={n_heads} is assumed, {cls.arch}'s usual "
                                                    f"value for d_model={cfg.d_model}; pass n_heads to override."))

    @classmethod
    def has_head(cls, hf: dict | None) -> bool:
        """Whether the model has an LM head at all (a bare BertModel has none)."""
        archs = (hf or {}).get("architectures") or []
        if not archs:
            return not cls.encoder
        return any(a.endswith(("LMHeadModel", "ForCausalLM", "ForMaskedLM", "ForPreTraining",
                               "ForConditionalGeneration")) for a in archs)

    @classmethod
    def tied_alias(cls, cfg: ModelConfig, tensors: Tensors) -> tuple[str, str] | None:
        """(alias raw name, target raw name) when the alias is tied but not stored separately."""
        if not (cls.tie and cfg.tied_embeddings):
            return None
        alias, target = cls.tie
        target_name = tensors.resolve(target)
        if target_name is None or tensors.has(alias):
            return None
        return alias, target_name  # LM heads sit outside the body's prefix ('lm_head.weight')

    @classmethod
    def raw_axes(cls, raw_name: str, shape: tuple[int, ...]) -> tuple[str, str]:
        """What the rows and columns of a stored 2-D tensor are, for labelling heatmaps."""
        if "embed" in raw_name or "wte" in raw_name or "wpe" in raw_name or len(shape) != 2:
            return "dim 0", "dim 1"
        return ("input", "output") if cls.stores_in_out else ("output", "input")
