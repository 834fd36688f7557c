"""Open any transformer checkpoint lazily and see it in one per-head schema.

    from adapters import open_model
    model = open_model("gpt2")                  # Hub id, folder, .safetensors file, or uploaded bytes
    model.weight("blocks.0.attn.W_Q")           # (n_heads, d_model, d_head) float32
"""
from __future__ import annotations

import importlib
import pkgutil

from .checkpoint import Checkpoint, TorchCheckpoint
from .config import ModelConfig
from .errors import LoadError
from .model import Model, TensorInfo
from .policy import Policy
from .registry import FAMILIES, find_family
from .sources import Located, locate

# Every module in this package that declares a family registers itself on import.
INFRASTRUCTURE = {"checkpoint", "config", "errors", "family", "model", "policy", "registry", "schema",
                  "sources", "transforms", "views"}
ADAPTER_MODULES = [m.name for m in pkgutil.iter_modules(__path__) if m.name not in INFRASTRUCTURE]
for _name in ADAPTER_MODULES:
    importlib.import_module(f"{__name__}.{_name}")

_HEAD_KEYS = ("n_heads", "num_attention_heads", "n_head", "num_heads")


def open_model(source, n_heads: int | None = None, policy: Policy | None = None) -> Model:
    """Open a checkpoint: Hub id ('gpt2', 'org/name@rev'), folder, weights file, or uploaded bytes.

    Reads only headers and config.json; tensors are read when asked for. `n_heads` supplies
    the head count when neither config.json nor the file's metadata gives it. `policy` says
    which sources and sizes are allowed (default: `Policy.from_env()`, see adapters/policy.py).
    Raises LoadError with a message that says what is wrong and what to do.
    """
    located = locate(source, policy)
    return open_located(located, n_heads)


def open_located(located: Located, n_heads: int | None = None) -> Model:
    checkpoint = (TorchCheckpoint if located.is_torch else Checkpoint)(located.files)
    if not checkpoint.entries:
        raise LoadError(f"{located.display} holds no tensors.")
    names = checkpoint.names()
    family_cls = find_family(located.config, names)
    if n_heads is None and located.config is None:
        n_heads = next((int(v) for k, v in checkpoint.metadata.items() if k in _HEAD_KEYS and str(v).isdigit()), None)
    try:
        family = family_cls(names, {n: e.shape for n, e in checkpoint.entries.items()})
        return Model(located, checkpoint, family, located.config, n_heads)
    except LoadError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, ZeroDivisionError) as e:
        # A config.json that names a family whose tensors or numbers do not fit it.
        raise LoadError(f"{located.display} looks like {family_cls.arch} but its config or shapes do not fit: "
                        f"{e}.") from e

__all__ = ["open_model", "open_located", "LoadError", "Policy", "Model", "ModelConfig", "TensorInfo", "FAMILIES"]
