"""One stack of a model with several (an encoder-decoder's encoder, a vision tower) seen as the main one.

Every page and topic reads the main stack (`blocks.{l}.*`); `StackView(model, "encoder")` answers for
`blocks.3.attn.W_Q` with the encoder's `encoder.3.attn.W_Q`, and for a global slot with the stack's own
(`encoder.ln_final.w`) or else the model's (a shared `embed.W_E`). So showing an encoder takes no change
to any topic, and its results are cached apart (`cache_key` names the stack).

`CROSS` is the decoder seen through its cross-attention: `attn.*` answers with `cross_attn.*` (and `ln1`
with `ln_cross`), so the heads and spectral pages show the heads that read the encoder's output.
"""
from __future__ import annotations

from dataclasses import replace

from . import schema
from .config import for_stack


CROSS = "cross"  # the main stack with its cross-attention in place of its self-attention
_CROSS_SLOTS = {"attn.": "cross_attn.", "ln1.": "ln_cross."}  # prefix in the view -> prefix in the model


def views(model) -> list[str]:
    """What `Model.view` accepts for this model: its stacks, and CROSS when the decoder has cross-attention."""
    return [*model.stacks(), *([CROSS] if model.layers("cross_attn.W_Q") else [])]


def _to_cross(slot: str) -> str | None:
    return next((to + slot[len(frm):] for frm, to in _CROSS_SLOTS.items() if slot.startswith(frm)), None)


def _from_cross(slot: str) -> str | None:
    return next((frm + slot[len(to):] for frm, to in _CROSS_SLOTS.items() if slot.startswith(to)), None)


class StackView:
    """A Model whose main stack is `stack` (or CROSS); everything not about names is the model's own."""

    def __init__(self, model, stack: str):
        if stack not in views(model):
            raise ValueError(f"{model.arch} model has no {stack!r} stack (it has {views(model)})")
        self._model, self.stack = model, stack
        self._stack = schema.MAIN if stack == CROSS else stack  # the model's stack the layers come from
        layers = max((k.layer for k in map(schema.parse, model.names()) if k.stack == self._stack
                      and k.layer is not None), default=-1) + 1
        self.cfg = replace(for_stack(model.cfg, self._stack), n_layers=layers)

    def __getattr__(self, attr):  # source, identity, checkpoint, raw, tensors, family, arch, ...
        return getattr(self._model, attr)

    def _inner(self, name: str) -> str | None:
        """The model's name for a name in this view; None for one the view hides (CROSS: self-attention)."""
        key = schema.parse(name)
        if key.stack != schema.MAIN:
            return name
        if self.stack == CROSS:
            if key.layer is None:
                return name
            cross = _to_cross(key.slot)
            if cross is None and _from_cross(key.slot) is None:
                return name  # the MLP and its norm: the decoder's own
            return str(schema.Key(cross, key.layer)) if cross else None
        own = str(schema.Key(key.slot, key.layer, self.stack))
        if key.layer is not None or self._model.has(own):
            return own
        return name  # a global slot the stack shares with the model (the token embedding)

    def names(self) -> list[str]:
        if self.stack == CROSS:
            return [self._outer(n) for n in self._model.names() if self._outer(n) is not None]
        out = []
        for n in self._model.names():
            key = schema.parse(n)
            if key.stack == self.stack:
                out.append(str(schema.Key(key.slot, key.layer)))
            elif key.stack == schema.MAIN and key.layer is None and not self._model.has(
                    str(schema.Key(key.slot, None, self.stack))):
                out.append(n)
        return out

    def _outer(self, name: str) -> str | None:
        """In the CROSS view: a model name's name here, None when hidden (self-attention, the encoder)."""
        key = schema.parse(name)
        if key.stack != schema.MAIN:
            return None
        if key.layer is None:
            return name
        if _to_cross(key.slot) is not None:  # self-attention and its norm
            return None
        return str(schema.Key(_from_cross(key.slot) or key.slot, key.layer))

    def _found(self, name: str) -> str:
        inner = self._inner(name)
        if inner is None:
            raise KeyError(f"{name!r} is not in the {self.stack} view of this {self.arch} model")
        return inner

    def has(self, name: str) -> bool:
        inner = self._inner(name)
        return inner is not None and self._model.has(inner)

    def weight(self, name: str, expert: int | None = None):
        return self._model.weight(self._found(name), expert)

    def sources(self, name: str):
        return self._model.sources(self._found(name))

    def plain_source(self, name: str):
        return self._model.plain_source(self._found(name))

    def plain_transposed(self, name: str) -> bool:
        return self._model.plain_transposed(self._found(name))

    def n_experts(self, name: str) -> int:
        return self._model.n_experts(self._found(name))

    def layers(self, slot: str, stack: str = schema.MAIN) -> list[int]:
        if stack != schema.MAIN:
            return self._model.layers(slot, stack)
        if self.stack == CROSS:
            cross = _to_cross(slot)
            return self._model.layers(cross) if cross else (
                [] if _from_cross(slot) else self._model.layers(slot))
        return self._model.layers(slot, self.stack)

    def layer_names(self, slot: str, stack: str = schema.MAIN) -> list[str]:
        return [schema.name(slot, l, stack) for l in self.layers(slot, stack)]

    def slots(self) -> list[str]:
        seen = {k.slot for k in map(schema.parse, self.names()) if k.layer is not None}
        return [s for s in schema.LAYER_SLOTS if s in seen]

    def stacks(self) -> list[str]:
        return self._model.stacks()

    def views(self) -> list[str]:
        return views(self._model)

    @property
    def has_heads(self) -> bool:
        return bool(self.layers("attn.W_Q"))

    @property
    def cache_key(self) -> str:
        return f"{self._model.cache_key}|stack={self.stack}"

    def __repr__(self) -> str:
        return f"StackView({self._model!r}, {self.stack!r})"
