"""Fallback for checkpoints no adapter knows: raw tensors only, sorted into categories by name.

Per-tensor analyses (distributions, heatmaps, spectra) work on every raw tensor; schema
slots are not guessed, because a wrong guess would be worse than none.
"""
from __future__ import annotations

from dataclasses import replace

from ..config import ModelConfig, Note
from ..family import Family
from ..layout import Tensors
from ..registry import register
from ..schema import guess_layer


@register
class Generic(Family):  # matches any layout; the registry falls back to it, never tries it in DETECTION_ORDER
    arch = "generic"
    ignored = {r"(inv_freq|position_ids|masked_bias|_cache)$": ("buffer", "a buffer, not a learned parameter")}

    @classmethod
    def count_layers(cls, tensors: Tensors) -> int:
        layers = [guess_layer(n) for n in tensors.shapes]
        return max((l for l in layers if l is not None), default=-1) + 1

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        model_type = f" (model_type {hf['model_type']!r})" if hf.get("model_type") else ""
        notes = [n for n in cfg.notes if n.kind != "heads-unknown"]  # no per-head views here anyway
        return replace(cfg, positional="unknown", notes=[*notes, Note(
            "no-adapter", f"No adapter fits this architecture{model_type}: raw tensors are shown, sorted by name, "
                          "without the per-head schema.")])
