"""Fallback for checkpoints no adapter knows: raw tensors only, sorted into categories by name.

Per-tensor analyses (distributions, heatmaps, spectra) work on every raw tensor; schema
slots are not guessed, because a wrong guess would be worse than none.
"""
from __future__ import annotations

from dataclasses import replace

from ..config import ALIASES, ModelConfig, Note, per_stage
from ..family import Family
from ..layout import Tensors
from ..registry import register
from ..schema import guess_layer

_STAGE_KEYS = {*ALIASES['n_heads'], *ALIASES['d_model'], 'depths', 'depth', 'hidden_sizes', 'embed_dim'}
# model_type -> how its config's num_hidden_layers exceeds the stored layers (the model runs them more than once);
# any other config declaring more layers than are stored is refused as a truncated checkpoint
REPEATS_LAYERS = {
    "dory": "each stored layer holds an attention and an MLP that layer_types counts as two layers;",
    "hrm_text": "the high- and low-level modules' layers are run in nested cycles, each pass counted;",
}


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
        notes.append(Note("no-adapter", f"No adapter fits this architecture{model_type}: raw tensors are shown, "
                                        "sorted by name, without the per-head schema."))
        stages = {k: v for k, v in hf.items() if k in _STAGE_KEYS and per_stage(v)}
        if stages:
            notes.append(Note("no-adapter", "A hierarchical model: config.json gives a value per stage (" + ", ".join(
                f"{k} {v[:8]}" for k, v in stages.items()) + "), and the per-head schema holds one width and "
                "one head count for the whole model."))
        stored = cls.count_layers(tensors)
        if hf.get("model_type") in REPEATS_LAYERS and cfg.n_layers and cfg.n_layers > stored:
            notes.append(Note("maths", f"config.json's layer count ({cfg.n_layers}) counts passes, not stored "
                                       f"layers: {REPEATS_LAYERS[hf['model_type']]} {stored} layers are stored."))
            cfg = replace(cfg, n_layers=stored)
        return replace(cfg, positional="unknown", notes=notes)
