"""Broken variants of a safetensors model folder: NaN, +-Inf, float32-max, all-zero and constant
matrices, one zeroed layer; each is a copy of the folder with `model.safetensors` rewritten.

    path = inject(minilm_dir, tmp_path / "nan", "nan")       # -> the folder to open
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

from adapters import open_model

F32_MAX = np.finfo(np.float32).max
FAULTS = ("nan", "inf", "f32max", "zero", "constant", "zero_layer")


def _layer_matrices(folder: Path, layer: int) -> list[str]:
    """The stored 2-D tensors behind layer `layer`'s schema matrices, in schema order."""
    model = open_model(str(folder))
    out = []
    for name in model.names():
        key = model_key(name)
        if key is not None and key.layer == layer:
            for raw in model.sources(name):
                if raw not in out and len(model.checkpoint.entries[raw].shape) == 2:
                    out.append(raw)
    return out


def model_key(name: str):
    from adapters import schema
    try:
        return schema.parse(name)
    except ValueError:
        return None


def target(folder: Path) -> str:
    """The stored tensor a single-matrix fault goes into: layer 0's first attention or MLP matrix."""
    return _layer_matrices(folder, 0)[0]


def stored(folder, schema_name: str) -> str:
    """The stored tensor behind a schema matrix (the first, for a fused one): where to put a fault into it."""
    return open_model(str(folder)).sources(schema_name)[0]


def inject(source, dest, fault: str, layer: int = 0, into: str | None = None) -> str:
    """A copy of the model folder `source` at `dest` with `fault` (one of FAULTS) written into it: into the
    stored tensor `into` when given, else into `target`'s matrix (or, for zero_layer, all of `layer`'s)."""
    source, dest = Path(source), Path(dest)
    shutil.copytree(source, dest)
    weights = dest / "model.safetensors"
    tensors = {k: np.array(v) for k, v in load_file(weights).items()}  # writable copies
    names = _layer_matrices(dest, layer) if fault == "zero_layer" else [into or target(dest)]
    for name in names:
        w = tensors[name]
        if fault == "nan":
            w.flat[[7, 11, w.size // 2]] = np.nan
        elif fault == "inf":
            w.flat[3], w.flat[w.size - 1] = np.inf, -np.inf
        elif fault == "f32max":
            w.flat[::97] = F32_MAX
            w.flat[1::193] = -F32_MAX
        elif fault in ("zero", "zero_layer"):
            w[...] = 0
        elif fault == "constant":
            w[...] = 0.5
        else:
            raise ValueError(f"unknown fault {fault!r}; choose one of {FAULTS}")
    save_file(tensors, str(weights), metadata={"format": "pt"})
    return str(dest)
