"""What hybrid families share: softmax attention in some layers, another token mixer in the others.

Jamba, Bamba, Nemotron-H, LFM2, RecurrentGemma, Qwen3-Next ... interleave attention layers with state-space
(Mamba), linear-attention, short-convolution or recurrent mixers. The attention layers map onto the per-head
schema as any decoder's do; the other mixers have no heads, so their tensors stay outside the schema (listed,
with why), and `Model.layers('attn.W_Q')` is the attention layers only. Which layers attend is a layout fact,
said in a note.

Some tensors are stored in every layer under one name but mean a schema slot only in the attention layers
(the norm before the mixer is `ln1`, "the norm around attention", only where the mixer is attention): `only_in`
writes their rows for those layers by number, and `elsewhere` leaves the same name out in the others.
"""
from __future__ import annotations

import re

from .config import ModelConfig, Note
from .family import Ignored, Rules
from .layout import Tensors


def stored_in(tensors: Tensors, template: str, n_layers: int) -> tuple[int, ...]:
    """The layers that store a per-layer source template, ascending."""
    return tuple(l for l in range(n_layers) if tensors.has(template, l))


def first_shape(tensors: Tensors, template: str, n_layers: int) -> tuple[int, ...] | None:
    """The shape of a per-layer template in the first layer that stores it (attention need not be in layer 0)."""
    layers = stored_in(tensors, template, n_layers)
    return tensors.shape(template, layers[0]) if layers else None


def only_in(layers: tuple[int, ...], rows: Rules) -> Rules:
    """`rows` (slot template -> source template with {l}) written out for `layers` only, by number."""
    return {slot.replace("{l}", str(l)): (source.replace("{l}", str(l)), fn)
            for slot, (source, fn) in rows.items() for l in layers}


def elsewhere(layers: tuple[int, ...], n_layers: int, source: str, category: str, why: str) -> Ignored:
    """An ignored pattern for a per-layer source template in every layer but `layers`."""
    others = [str(l) for l in range(n_layers) if l not in layers]
    if not others:
        return {}
    pattern = re.escape(source).replace(r"\{l\}", "(?:" + "|".join(others) + ")")
    return {r"(?:^|\.)" + pattern + "$": (category, why)}


def mixer(module: str, what: str) -> Ignored:
    """Every tensor under a mixer module ('mamba', 'linear_attn'): outside the schema, as `what` has no heads."""
    return {r"\.layers\.\d+\." + re.escape(module) + r"\.": ("other", f"{what}: no attention heads")}


def with_layout_note(cfg: ModelConfig, attention: tuple[int, ...], what: str) -> ModelConfig:
    """cfg with a note saying which layers are softmax attention and what mixes tokens in the others."""
    n = cfg.n_layers or 0
    others = n - len(attention)
    if not attention:
        text = f"No layer has softmax attention: all {n} mix tokens with a {what}, outside the per-head schema."
    else:
        text = (f"Softmax attention in layer{'s' if len(attention) > 1 else ''} "
                f"{', '.join(map(str, attention))} of {n}" +
                (f"; the other {others} mix tokens with a {what}, whose tensors stay outside the schema."
                 if others else "."))
    return cfg.with_notes(Note("layout", text))
