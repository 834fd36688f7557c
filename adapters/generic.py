"""Fallback for checkpoints no adapter knows: raw tensors only, sorted into categories by name.

Per-tensor analyses (distributions, heatmaps, spectra) work on every raw tensor; schema
slots are not guessed, because a wrong guess would be worse than none.
"""
from __future__ import annotations

from .config import ModelConfig
from .family import Family
from .registry import register
from .schema import guess_layer


@register
class Generic(Family):
    arch = "generic"
    ignored = {r"(inv_freq|position_ids|masked_bias|_cache)$": ("buffer", "a buffer, not a learned parameter")}

    def count_layers(self) -> int:
        layers = [guess_layer(n) for n in self.shapes]
        return max((l for l in layers if l is not None), default=-1) + 1

    def adjust(self, cfg: ModelConfig, hf: dict | None) -> None:
        cfg.positional = "unknown"
        cfg.notes = [n for n in cfg.notes if "attention heads" not in n]  # no per-head views here anyway
        cfg.notes.append("No adapter knows this architecture"
                         + (f" (model_type {hf.get('model_type')!r})" if hf and hf.get("model_type") else "")
                         + ": raw tensors are shown, sorted by name, without the per-head schema.")
