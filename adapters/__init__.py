"""Open any transformer checkpoint lazily and see it in one per-head schema.

    from adapters import open_model
    model = open_model("gpt2")                  # Hub id, folder, .safetensors file, or uploaded bytes
    model.weight("blocks.0.attn.W_Q")           # (n_heads, d_model, d_head) float32

How a checkpoint is opened, step by step: adapters/opening.py. The families: adapters/families/.
"""
from __future__ import annotations

from . import families  # noqa: F401 - registers every family
from .config import ModelConfig, Note
from .errors import LoadError
from .model import Model, TensorInfo
from .opening import open_located, open_model
from .policy import Policy
from .registry import FAMILIES

__all__ = ["open_model", "open_located", "LoadError", "Policy", "Model", "ModelConfig", "Note", "TensorInfo",
           "FAMILIES"]
