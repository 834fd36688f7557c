"""LoRA adapters as the `peft` library saves them (adapter_config.json + adapter_model.safetensors), read
alone or merged into their base model tensor by tensor, never writing a merged copy.

    adapter = read_adapter("path/to/adapter")              # the modules, ranks, alphas and scales
    merged = merge(base_model, adapter)                     # a Model whose weights are W + scale * B @ A

For each target module peft stores lora_A [r, in] and lora_B [out, r] (an embedding: lora_embedding_A
[r, vocab] and lora_embedding_B [d, r], applied transposed). The merged weight is
W + scale * (B @ A), transposed where the base stores [in, out] (`fan_in_fan_out`, GPT-2's Conv1D), with
scale = alpha / r, or alpha / sqrt(r) with rsLoRA (Kalajdzievski, 2023), per-module r and alpha from
`rank_pattern` / `alpha_pattern` as peft matches them. Full tensors the adapter saves (`modules_to_save`,
an embedding's `base_layer`) replace the base's. Other PEFT methods and LoRA variants whose merge is not this
formula (DoRA, LoRA on expert parameters) are refused by name.
"""
from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, replace

import numpy as np

from .checkpoint import Checkpoint
from .errors import LoadError
from .sources import MAX_CONFIG_BYTES, file_identity

CONFIG = "adapter_config.json"
WEIGHTS = "adapter_model.safetensors"
PREFIX = "base_model.model."  # what peft puts before the base model's module names
# '<module>.lora_A.weight', '<module>.lora_B.bias', '<module>.lora_embedding_A' (an adapter name may follow the part)
_LORA = re.compile(r"^(?P<module>.+)\.(?P<part>lora_A|lora_B|lora_embedding_A|lora_embedding_B)(?P<rest>(?:\.[^.]+)*)$")


@dataclass(frozen=True)
class LoraModule:
    module: str  # the base module's name as peft saw it: 'model.layers.0.self_attn.q_proj'
    target: str  # the base checkpoint's tensor it changes: 'model.layers.0.self_attn.q_proj.weight'
    a: str  # adapter tensor lora_A [r, in] (an embedding's lora_embedding_A [r, vocab])
    b: str  # adapter tensor lora_B [out, r] (an embedding's lora_embedding_B [d, r])
    rank: int
    alpha: float
    scale: float  # alpha / rank, or alpha / sqrt(rank) with rsLoRA
    transposed: bool  # the delta is (B @ A)^T: an embedding, or a base stored [in, out] (fan_in_fan_out)
    bias: str | None = None  # lora_B's bias (peft's lora_bias): added to the module's bias times scale

    @property
    def kind(self) -> str:
        """The module's own name, what target_modules lists: 'q_proj'."""
        return self.module.rsplit(".", 1)[-1]


@dataclass
class Adapter:
    folder: str
    config: dict  # adapter_config.json, plain JSON
    checkpoint: Checkpoint  # adapter_model.safetensors
    modules: list[LoraModule]  # resolved against a base by `bind`; `target` is the module + '.weight' before
    replaced: dict[str, str]  # base tensor name -> adapter tensor holding its full replacement
    identity: str

    @property
    def base_name(self) -> str | None:
        return self.config.get("base_model_name_or_path") or None

    def factors(self, m: LoraModule) -> tuple[np.ndarray, np.ndarray]:
        """(B [out, r], A [r, in]) as float32, scale not applied."""
        return self.checkpoint.read(m.b), self.checkpoint.read(m.a)

    def delta(self, m: LoraModule) -> np.ndarray:
        """scale * B @ A in the base tensor's stored orientation, float32."""
        b, a = self.factors(m)
        d = (b.astype(np.float64) @ a) * m.scale
        return (d.T if m.transposed else d).astype(np.float32)


def _pattern_value(patterns: dict, module: str, default):
    """peft's rule for rank_pattern / alpha_pattern: the first key k with re.match(rf'(.*\\.)?({k})$', module)."""
    for key, value in (patterns or {}).items():
        if re.match(rf"(.*\.)?({key})$", module):
            return value
    return default


def read_adapter(folder: str) -> Adapter:
    """An adapter folder's config and tensors, checked; LoadError with what is wrong otherwise."""
    cfg_path, weights = os.path.join(folder, CONFIG), os.path.join(folder, WEIGHTS)
    if os.path.getsize(cfg_path) > MAX_CONFIG_BYTES:
        raise LoadError(f"{cfg_path} is larger than any real adapter_config.json.")
    try:
        with open(cfg_path, encoding="utf-8") as f:
            cfg = json.load(f)
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as e:
        raise LoadError(f"{CONFIG} in {folder} is not valid JSON ({str(e)[:200]}).") from e
    if not isinstance(cfg, dict):
        raise LoadError(f"{CONFIG} in {folder} does not hold a JSON object.")
    kind = cfg.get("peft_type", "LORA")
    if kind != "LORA":
        raise LoadError(f"{folder} is a {kind} adapter; only LoRA adapters (peft_type LORA) can be merged and read.")
    if cfg.get("use_dora"):
        raise LoadError(f"{folder} is a DoRA adapter (use_dora): its merge rescales every column by a learned "
                        "magnitude, which is not read yet; only plain LoRA and rsLoRA adapters are.")
    if cfg.get("target_parameters"):
        raise LoadError(f"{folder} puts LoRA on parameters ({cfg['target_parameters']}), e.g. fused experts; "
                        "only LoRA on modules is read.")
    if not os.path.isfile(weights):
        found = [f for f in os.listdir(folder) if f.startswith("adapter_model")]
        hint = (" It holds a pickle (.bin) adapter: convert it to safetensors with peft first."
                if any(f.endswith(".bin") for f in found) else "")
        raise LoadError(f"{folder} has {CONFIG} but no {WEIGHTS}.{hint}")
    ckpt = Checkpoint([weights])
    modules, replaced = _modules(cfg, ckpt, folder)
    return Adapter(folder, cfg, ckpt, modules, replaced, "lora:" + file_identity([cfg_path, weights]))


def _modules(cfg: dict, ckpt: Checkpoint, folder: str) -> tuple[list[LoraModule], dict[str, str]]:
    parts: dict[str, dict[str, str]] = {}
    replaced = {}
    for name in ckpt.names():
        m = _LORA.match(name)
        if m is None:  # a full tensor: modules_to_save, or an embedding's base_layer saved beside its LoRA
            base = name.removeprefix(PREFIX).replace(".base_layer.", ".").replace(".modules_to_save.default.", ".")
            replaced[base] = name
            continue
        rest = m.group("rest")
        leaf = ".bias" if rest.endswith(".bias") else ".weight" if rest.endswith(".weight") else ""
        parts.setdefault(m.group("module").removeprefix(PREFIX), {})[m.group("part") + leaf] = name
    modules = []
    for module, p in parts.items():
        a = p.get("lora_A.weight") or p.get("lora_embedding_A")
        b = p.get("lora_B.weight") or p.get("lora_embedding_B")
        if a is None or b is None:
            raise LoadError(f"{folder}: {module} has only one of its two LoRA factors; the adapter file is incomplete.")
        sa, sb = ckpt.entries[a].shape, ckpt.entries[b].shape
        if len(sa) != 2 or len(sb) != 2 or sa[0] != sb[1] or sa[0] == 0:
            raise LoadError(f"{folder}: {module}'s LoRA factors are {list(sb)} and {list(sa)}, which do not "
                            "multiply (B [out, r] @ A [r, in]).")
        rank = sa[0]
        alpha = float(_pattern_value(cfg.get("alpha_pattern"), module, cfg.get("lora_alpha", 8)))
        r_cfg = int(_pattern_value(cfg.get("rank_pattern"), module, cfg.get("r", rank)))
        if r_cfg != rank:  # peft scales by the configured r, which is the factors' inner size
            raise LoadError(f"{folder}: {module} has rank {rank} in its tensors but r = {r_cfg} in {CONFIG}.")
        scale = alpha / math.sqrt(rank) if cfg.get("use_rslora") else alpha / rank
        embedding = "lora_embedding_A" in p
        modules.append(LoraModule(module, module + ".weight", a, b, rank, alpha, scale,
                                  embedding or bool(cfg.get("fan_in_fan_out")), p.get("lora_B.bias")))
    if not modules and not replaced:
        raise LoadError(f"{folder}/{WEIGHTS} holds no LoRA tensors.")
    return modules, replaced


def bind(adapter: Adapter, base_names: list[str]) -> Adapter:
    """The adapter with each module's `target` set to the base checkpoint's tensor name it changes.

    peft names modules as the model class it wrapped saw them ('model.layers.0...' for a causal LM); a base
    saved from another class may drop or add a leading component, so a unique suffix match is accepted."""
    names = set(base_names)

    def find(wanted: str) -> str:
        if wanted in names:
            return wanted
        tail = wanted.split(".", 1)[1] if "." in wanted else wanted
        hits = [n for n in names if n.endswith("." + wanted) or n == tail or n.endswith("." + tail)]
        if len(hits) != 1:
            raise LoadError(f"The adapter changes {wanted!r}, which the base checkpoint does not hold"
                            + (f" (or holds {len(hits)} times)" if hits else "")
                            + ": it was trained on another model. Open it on its own base.")
        return hits[0]

    modules = [replace(m, target=find(m.target)) for m in adapter.modules]
    return replace(adapter, modules=modules, replaced={find(k): v for k, v in adapter.replaced.items()})


class MergedCheckpoint:
    """A base checkpoint seen with an adapter merged in: the changed tensors read as float32 W + delta (their
    entries say F32), every other tensor exactly as the base reads it. Each merge is made when its tensor is read."""

    def __init__(self, base, adapter: Adapter):
        self.base, self.adapter = base, adapter
        self.paths, self.metadata = list(base.paths), dict(base.metadata)
        self._delta = {m.target: m for m in adapter.modules}
        self._bias = {m.target.removesuffix(".weight") + ".bias": m for m in adapter.modules if m.bias}
        self.changed = set(self._delta) | set(self._bias) | set(adapter.replaced)
        # a merged tensor is float32, whatever the base stored (bf16, fp8 with scales): its entry says so
        as_f32 = {"quant": None} if "quant" in getattr(next(iter(base.entries.values()), None),
                                                        "__dataclass_fields__", {}) else {}
        self.entries = {n: (replace(e, dtype="F32", end=e.start + e.numel * 4, **as_f32) if n in self.changed else e)
                        for n, e in base.entries.items()}
        for name in self._delta:
            self._check(name)

    def _check(self, name: str) -> None:
        m = self._delta[name]
        b, a = (self.adapter.checkpoint.entries[x].shape for x in (m.b, m.a))
        want = (a[1], b[0]) if m.transposed else (b[0], a[1])
        have = tuple(self.base.entries[name].shape)
        if have != want:
            raise LoadError(f"The adapter's update of {name!r} is {want[0]} x {want[1]}, but the base holds it as "
                            f"{' x '.join(map(str, have))}: it was trained on another model.")

    def names(self) -> list[str]:
        return list(self.entries)

    def read(self, name: str) -> np.ndarray:
        if name in self.adapter.replaced:  # modules_to_save, or a LoRA embedding's saved base layer
            w = self.adapter.checkpoint.read(self.adapter.replaced[name])
            if w.shape != tuple(self.base.entries[name].shape):
                raise LoadError(f"The adapter replaces {name!r} with a tensor of shape {list(w.shape)}, but the "
                                f"base holds {list(self.base.entries[name].shape)} (a resized vocabulary?).")
        else:
            w = self.base.read(name)
        if name in self._delta:
            w = w + self.adapter.delta(self._delta[name])
        if name in self._bias:
            m = self._bias[name]
            w = w + self.adapter.checkpoint.read(m.bias) * np.float32(m.scale)
        return w

    def read_rows(self, name: str, start: int, stop: int) -> np.ndarray:
        if name not in self.changed:
            return self.base.read_rows(name, start, stop)
        return self.read(name)[start:stop]

    def iter_chunks(self, name: str, chunk_elems: int = 1 << 20, ordered: bool = True):
        if name not in self.changed and hasattr(self.base, "iter_chunks"):
            yield from self.base.iter_chunks(name, chunk_elems, ordered)
            return
        flat = self.read(name).ravel()
        for i in range(0, flat.size, chunk_elems):
            yield flat[i:i + chunk_elems]



class MergedStoredCheckpoint(MergedCheckpoint):
    """A MergedCheckpoint over a base that hands out stored chunks (safetensors), for the compiled scan."""

    def iter_stored_chunks(self, name: str, chunk_elems: int = 1 << 20):
        """As stored: the base's bits for an unchanged tensor; float32 for a merged one (its entry says F32)."""
        if name not in self.changed:
            yield from self.base.iter_stored_chunks(name, chunk_elems)
            return
        yield from self.iter_chunks(name, chunk_elems)


def merged_checkpoint(base, folder: str) -> MergedCheckpoint:
    """The base checkpoint with the adapter in `folder` merged in (checked against the base's tensors)."""
    kind = MergedStoredCheckpoint if hasattr(base, "iter_stored_chunks") else MergedCheckpoint
    return kind(base, bind(read_adapter(folder), base.names()))


def over(located, folder: str):
    """`located` (a base's files) with the adapter in `folder` to merge when opened: its own identity, so every
    cache tells the merged model from its base."""
    adapter_files = [os.path.join(folder, CONFIG), os.path.join(folder, WEIGHTS)]
    return replace(located, adapter=folder, identity=f"{located.identity}+lora:{file_identity(adapter_files)}",
                   display=f"{located.display} + {os.path.basename(os.path.normpath(folder))}")


def locate_adapter(folder: str, locate_base):
    """An adapter folder opened as a model: its base (adapter_config.json's base_model_name_or_path, found by
    `locate_base`, a Hub id or a path) with the adapter merged."""
    base = read_adapter(folder).base_name
    if not base:
        raise LoadError(f"{folder} is a LoRA adapter that does not name its base model (base_model_name_or_path). "
                        "Open the base model, then the adapter on the Compare page as B.")
    if not os.path.isabs(base) and os.path.exists(os.path.join(folder, base)):
        base = os.path.join(folder, base)  # a base named relative to the adapter
    try:
        located = locate_base(base)
    except LoadError as e:  # said as the adapter's problem (same class: a cancelled download stays one)
        raise type(e)(f"This LoRA adapter's base model {base!r} (adapter_config.json's base_model_name_or_path) "
                      f"could not be opened: {e}") from e
    return over(located, folder)
