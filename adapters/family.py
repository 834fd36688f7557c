"""What an adapter declares: a table of schema slot -> checkpoint name template + transform.

An adapter module subclasses `Family`, fills in the class attributes (mostly data), and
registers itself with `@register`. `Family` does the generic work: find the name prefix,
expand `{l}` over layers, and account for every checkpoint tensor.
"""
from __future__ import annotations

import re
from typing import ClassVar

from .config import ModelConfig, build_config
from .transforms import Transform


class Family:
    arch: ClassVar[str] = "generic"
    model_types: ClassVar[tuple[str, ...]] = ()  # config.json model_type values
    anchor: ClassVar[str | None] = None  # a tensor every checkpoint of the family has (no prefix)
    rules: ClassVar[dict[str, tuple[str, Transform]]] = {}  # slot template -> (source template, transform)
    # regex on raw names -> (category, why) for tensors deliberately outside the schema
    ignored: ClassVar[dict[str, tuple[str, str]]] = {}
    tie: ClassVar[tuple[str, str] | None] = None  # (tied alias, the tensor it shares), as source templates
    defaults: ClassVar[dict] = {}  # ModelConfig values this family always has unless config.json says otherwise
    encoder: ClassVar[bool] = False  # encoders have an LM head only when config.json names one
    layer_anchor: ClassVar[str | None] = None  # a per-layer source template, to count layers without config
    stores_in_out: ClassVar[bool] = False  # GPT-2's Conv1D stores [in, out]; torch Linear stores [out, in]

    def __init__(self, names: list[str], shapes: dict[str, tuple[int, ...]]):
        self.shapes = shapes
        self.prefix = self._find_prefix(names)

    @classmethod
    def detect(cls, names: list[str]) -> bool:
        """Whether a checkpoint with these tensor names belongs to this family (when config.json is absent)."""
        return cls.has_anchor(names)

    @classmethod
    def has_anchor(cls, names: list[str]) -> bool:
        return cls.anchor is not None and any(n == cls.anchor or n.endswith("." + cls.anchor) for n in names)

    def _find_prefix(self, names: list[str]) -> str:
        if self.anchor:
            for n in names:
                if n == self.anchor or n.endswith("." + self.anchor):
                    return n[: len(n) - len(self.anchor)]
        return ""

    def resolve(self, template: str, layer: int | None = None) -> str | None:
        """The raw name a source template refers to, with or without the family prefix; None if absent."""
        name = template.format(l=layer) if layer is not None else template
        for candidate in (self.prefix + name, name):
            if candidate in self.shapes:
                return candidate
        return None

    def count_layers(self) -> int:
        template = self.layer_anchor or next((s for s, _ in self.rules.values() if "{l}" in s), None)
        if template is None:
            return 0
        pattern = re.compile("^(?:" + re.escape(self.prefix) + ")?" +
                             re.escape(template).replace(r"\{l\}", r"(\d+)") + "$")
        found = [int(m.group(1)) for n in self.shapes if (m := pattern.match(n))]
        return max(found) + 1 if found else 0

    def infer(self) -> dict:
        """ModelConfig facts read off tensor shapes, for checkpoints without config.json."""
        return {"n_layers": self.count_layers()}

    def head_dims(self, n_heads: int, cfg: ModelConfig) -> tuple[int, int]:
        """(d_head, n_kv_heads) once the caller supplies n_heads; families with separate or
        grouped q/k projections read them off those shapes instead."""
        if not cfg.d_model or cfg.d_model % n_heads:
            raise ValueError(f"n_heads={n_heads} does not divide d_model={cfg.d_model}")
        return cfg.d_model // n_heads, n_heads

    def adjust(self, cfg: ModelConfig, hf: dict | None) -> None:
        """Family-specific config facts (positional scheme, activation, layout flags)."""

    def has_head(self, hf: dict | None) -> bool:
        """Whether the model has an LM head at all (a bare BertModel has none)."""
        archs = (hf or {}).get("architectures") or []
        if not archs:
            return not self.encoder
        return any(a.endswith(("LMHeadModel", "ForCausalLM", "ForMaskedLM", "ForPreTraining",
                               "ForConditionalGeneration")) for a in archs)

    def config(self, hf: dict | None) -> ModelConfig:
        cfg = build_config(hf, dict(self.defaults), self.infer())
        self.adjust(cfg, hf)
        return cfg

    def tied_alias(self, cfg: ModelConfig, hf: dict | None) -> tuple[str, str] | None:
        """(alias raw name, target raw name) when the alias is tied but not stored separately."""
        if not (self.tie and cfg.tied_embeddings and self.has_head(hf)):
            return None
        alias, target = self.tie
        target_name = self.resolve(target)
        if target_name is None or self.resolve(alias) is not None:
            return None
        return alias, target_name  # LM heads sit outside the body's prefix ('lm_head.weight')

    def raw_axes(self, raw_name: str, shape: tuple[int, ...]) -> tuple[str, str]:
        """What the rows and columns of a stored 2-D tensor are, for labelling heatmaps."""
        if "embed" in raw_name or "wte" in raw_name or "wpe" in raw_name or len(shape) != 2:
            return "dim 0", "dim 1"
        return ("input", "output") if self.stores_in_out else ("output", "input")

    def is_ignored(self, raw_name: str) -> tuple[str, str] | None:
        """(category, why) if this raw tensor is deliberately left out of the schema."""
        for pattern, verdict in self.ignored.items():
            if re.search(pattern, raw_name):
                return verdict
        return None
