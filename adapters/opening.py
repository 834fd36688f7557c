"""Opening a checkpoint, top to bottom: find the bytes, read the headers, choose the family by its tensor
layout, derive the config, take the family's slot table for this checkpoint, and wrap it all in a `Model`.

Each step is a pure function of what the steps before it returned; `open_located` runs them in order.
"""
from __future__ import annotations

import re
from dataclasses import replace

from .checkpoint import Checkpoint, TorchCheckpoint
from .errors import LoadError
from .lora import merged_checkpoint
from .model import Model
from .policy import Policy
from .registry import detect
from .sources import Located, locate
from .validation import check_against_tensors, check_config, check_derived, check_requested_heads

_HEAD_KEYS = ("n_heads", "num_attention_heads", "n_head", "num_heads")  # header metadata that may give it
_ASCII_COUNT = re.compile(r"[0-9]{1,5}")  # str.isdigit would take '²' and other non-ASCII digits


def open_model(source, n_heads: int | None = None, policy: Policy | None = None) -> Model:
    """Open a checkpoint: Hub id ('gpt2', 'org/name@rev'), folder, weights file, or uploaded bytes.

    Reads only headers and config.json; tensors are read when asked for. `n_heads` supplies
    the head count when neither config.json nor the file's metadata gives it. `policy` says
    which sources and sizes are allowed (default: `Policy.from_env()`, see adapters/policy.py).
    Raises LoadError with a message that says what is wrong and what to do.
    """
    return open_located(locate(source, policy), n_heads)


def open_located(located: Located, n_heads: int | None = None) -> Model:
    """Open checkpoint files already found by `locate`: model = open_located(locate('gpt2')).

    config.json and the caller's n_heads are checked (adapters/validation.py) before anything loops or
    allocates on them; every failure is a LoadError.
    """
    check_requested_heads(n_heads)
    checkpoint = read_headers(located)
    gguf_file = checkpoint if hasattr(checkpoint, "hf_config") else None  # a GGUF file states its own config
    if located.adapter:  # a LoRA adapter over these files: the merged tensors, read one at a time
        checkpoint = merged_checkpoint(checkpoint, located.adapter)
    hf = gguf_file.hf_config if gguf_file else located.config
    check_config(hf)
    if n_heads is None and hf is None:
        n_heads = heads_in_metadata(checkpoint.metadata)
    detected = detect(hf, checkpoint.names())  # 1. the family, by layout; model_type a hint
    family = detected.family
    tensors = family.tensors({n: e.shape for n, e in checkpoint.entries.items()})
    try:
        cfg = family.derive_config(hf, tensors, n_heads)  # 2. defaults < shapes < config.json < n_heads
        # how the file was read and the family chosen, said first
        cfg = replace(cfg, notes=[*(gguf_file.notes if gguf_file else ()), *detected.notes, *cfg.notes])
        check_derived(cfg, hf, n_heads)
        table = family.rules_for(cfg, tensors)  # 3. this checkpoint's slot table
        check_against_tensors(family, cfg, hf, tensors, table.rules, n_heads)
        return Model(located, checkpoint, family, cfg, table, tensors, n_heads)  # 4. expanded over layers
    except LoadError:
        raise
    except Exception as e:  # noqa: BLE001 - a family's facts read config.json freely: whatever it trips on is a refusal
        raise LoadError(f"{located.display} looks like {family.arch} but its config or shapes do not fit: "
                        f"{type(e).__name__}: {str(e)[:200]}.") from e


def read_headers(located: Located) -> Checkpoint:
    """The checkpoint's tensor index (names, shapes, dtypes, byte ranges); no tensor data is read. Weights stored
    with scales are folded with them (config.json's quantization_config gives the block size, where needed)."""
    if located.files and all(f.endswith(".gguf") for f in located.files):
        from .gguf_file import GGUFCheckpoint  # imports the gguf package (~0.2 s): only for GGUF files

        checkpoint = GGUFCheckpoint(located.files)
    else:
        checkpoint = TorchCheckpoint(located.files) if located.is_torch else Checkpoint(located.files, located.config)
    if not checkpoint.entries:
        raise LoadError(f"{located.display} holds no tensors.")
    return checkpoint


def heads_in_metadata(metadata: dict[str, str]) -> int | None:
    """A head count some writers put in the safetensors header (used only without config.json)."""
    found = next((int(v) for k, v in metadata.items() if k in _HEAD_KEYS and _ASCII_COUNT.fullmatch(str(v))), None)
    return found or None  # '0' says nothing

