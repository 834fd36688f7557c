"""What a family's checkpoints look like (`Layout`), and a checkpoint's tensors as a family's templates see them.

Patterns and templates are written the way adapters' rules write source names: `layers.{l}.mlp.up_proj.weight`.
A pattern matches a tensor name that is it, or ends with it after a dot, with `{l}` standing for any number,
so the prefix a checkpoint puts before the body ('model.', 'transformer.', 'gpt_neox.') does not matter.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping

_NUMBER = re.compile(r"(?<=\.)\d+(?=\.)|^\d+(?=\.)")  # a whole numeric part of a dotted name


def suffixes(names: Iterable[str]) -> frozenset[str]:
    """Every ending (after a dot) of every name, numbers written `{l}`: what layout patterns are looked up in.

    suffixes(['model.layers.3.mlp.w']) -> {'model.layers.{l}.mlp.w', 'layers.{l}.mlp.w', '{l}.mlp.w', 'mlp.w', 'w'}
    Per-layer names collapse to one template, so a checkpoint of 90k tensors gives a few hundred endings.
    """
    templates = {_NUMBER.sub("{l}", n) for n in names}
    out = set()
    for t in templates:
        parts = t.split(".")
        out.update(".".join(parts[i:]) for i in range(len(parts)))
    return frozenset(out)


@dataclass(frozen=True)
class Layout:
    """The tensor names that tell a family's checkpoints apart, as data.

    requires: patterns every checkpoint of the family has.
    forbids: patterns none of them has (what marks a look-alike family instead).
    forbids_config: config.json keys none of its configs has (checked only when there is a config.json that
        does not name the family: what rules out a look-alike with the same names and another model_type).
    marks: when config.json does not name the family, one of these must be present too: what tells it
        from a family with the same names (RoBERTa's 'roberta.' prefix beside BERT's names).
    """
    requires: tuple[str, ...] = ()
    forbids: tuple[str, ...] = ()
    forbids_config: tuple[str, ...] = ()
    marks: tuple[str, ...] = ()

    def mismatch(self, seen: frozenset[str], hf: dict | None, named: bool = False) -> str | None:
        """Why a checkpoint does not fit this layout, in words; None when it fits.

        seen: `suffixes(names)` of the checkpoint. named: config.json's model_type names this family,
        so `marks` are not needed.
        """
        missing = [p for p in self.requires if p not in seen]
        if missing:
            return f"no tensor named like {missing[0]!r}"
        present = [p for p in self.forbids if p in seen]
        if present:
            return f"a tensor named like {present[0]!r}"
        # a config that names the family is its own, whatever keys it sets (gpt_bigcode's multi_query)
        keys = [] if named else [k for k in self.forbids_config if k in (hf or {})]
        if keys:
            return f"config.json sets {keys[0]!r}"
        if self.marks and not named and not any(p in seen for p in self.marks):
            return f"none of {', '.join(map(repr, self.marks))}"
        return None


@dataclass(frozen=True)
class Tensors:
    """A checkpoint's tensor shapes, looked up by source template with or without the family's prefix."""
    shapes: Mapping[str, tuple[int, ...]]
    prefix: str = ""  # what precedes the family's names in this checkpoint ('model.', 'transformer.')

    @classmethod
    def under(cls, shapes: Mapping[str, tuple[int, ...]], anchor: str | None) -> Tensors:
        """The shapes, with the prefix found before `anchor` (a name every checkpoint of the family has)."""
        if anchor:
            for n in shapes:
                if n == anchor or n.endswith("." + anchor):
                    return cls(shapes, n[: len(n) - len(anchor)])
        return cls(shapes)

    def resolve(self, template: str, layer: int | None = None) -> str | None:
        """The stored name a source template refers to, with or without the prefix; None if absent.
        LM heads sit outside the body's prefix ('lm_head.weight' beside 'model.embed_tokens.weight')."""
        name = template.format(l=layer) if layer is not None else template
        for candidate in (self.prefix + name, name):
            if candidate in self.shapes:
                return candidate
        return None

    def has(self, template: str, layer: int | None = None) -> bool:
        """Whether a source template is stored (layer 0 when the template has `{l}` and no layer is given)."""
        return self.shape(template, layer) is not None

    def shape(self, template: str, layer: int | None = None) -> tuple[int, ...] | None:
        """The stored shape of a source template (layer 0 when the template has `{l}` and no layer is given)."""
        if layer is None and "{l}" in template:
            layer = 0
        name = self.resolve(template, layer)
        return tuple(self.shapes[name]) if name is not None else None

    def count_layers(self, template: str) -> int:
        """1 + the highest layer number a per-layer template is stored for; 0 when it is stored for none."""
        pattern = re.compile("^(?:" + re.escape(self.prefix) + ")?" +
                             re.escape(template).replace(r"\{l\}", r"(\d+)") + "$")
        found = [int(m.group(1)) for n in self.shapes if (m := pattern.match(n))]
        return max(found) + 1 if found else 0
