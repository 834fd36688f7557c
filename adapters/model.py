"""`Model`: one opened checkpoint seen through its family's table, in the common schema."""
from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from . import schema, transforms
from .config import EXPLAINS_ABSENT_SLOTS, ModelConfig
from .errors import LoadError
from .family import Family, Table
from .layout import Tensors
from .sources import Located

_CACHE_BYTES = 64 * 1024 * 1024  # recently read raw tensors kept (fused qkv is read once for Q, K, V)
ALL_EXPERTS_BYTES = 2 * 2**30  # one layer's experts read at once beyond this are refused: read one expert


class Factors(tuple):
    """The stored tensors of a rule whose source is a tuple of templates, handed to its transform together:
    `transform(cfg, *arrays)` (DeepSeek's per-head W_Q is q_a_proj, q_a_layernorm and q_b_proj multiplied)."""


@dataclass(frozen=True)
class TensorInfo:
    """One checkpoint tensor as the architecture overview lists it."""
    name: str
    shape: tuple[int, ...]
    dtype: str
    params: int
    nbytes: int
    category: str  # a key of schema.CATEGORIES
    layer: int | None
    tied_to: str | None = None  # for a tied alias: the stored tensor it shares
    slots: tuple[str, ...] = ()  # the schema names built from it
    routed: bool = False  # part of a mixture of experts' routed experts (active for n_experts_per_token of them)
    stored: str = ""  # the stored type ('BF16', 'F8_E4M3', 'MXFP4', 'Q4_K'); nbytes is its real size on disk
    bits_per_weight: float = 0.0  # its scales included
    scales: str = ""  # how the stored values are scaled ('128x128 block scales (F32)'); '' when they are not


class Model:
    """A lazily read checkpoint: `.weight(schema_name)`, `.raw(raw_name)`, `.cfg`, `.arch`.

    Built by adapters/opening.py from what the lifecycle's steps decided: the family, its config and its slot
    table for this checkpoint. `Model` only expands the table over layers and reads tensors.
    """

    def __init__(self, located: Located, checkpoint, family: type[Family], cfg: ModelConfig, table: Table,
                 tensors: Tensors, requested_heads: int | None = None):
        self.located = located
        self.source = located.display
        self.identity = located.identity
        self.checkpoint = checkpoint
        self.family = family
        self.arch = family.arch
        self.hf_config = located.config
        self.cfg = cfg
        self.requested_heads = requested_heads  # the caller's head count, to open the same model again elsewhere
        self.tied: list[tuple[str, str]] = [table.tied] if table.tied else []  # (alias, stored tensor)
        self._virtual = dict(self.tied)  # alias raw name -> stored raw name it reads
        self._slots: dict[str, tuple[str, object]] = {}  # schema name -> (raw name, transform)
        self._build(table, tensors)
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()

    # ---- mapping -------------------------------------------------------------------------
    def _build(self, table: Table, tensors: Tensors) -> None:
        cfg = self.cfg
        n_layers = max(cfg.n_layers or 0, cfg.n_encoder_layers or 0)  # every stack's layers
        if n_layers > len(tensors.shapes):  # opening checks the count against the tensors; never loop past them
            raise LoadError(f"{self.source}: {n_layers:,} layers declared, but only {len(tensors.shapes):,} "
                            "tensors are stored.")
        self.raw_slots: dict[str, list[str]] = {}  # raw name -> schema names built from it
        for template, (source, transform) in table.rules.items():
            layers = range(n_layers) if "{l}" in template else [None]
            for layer in layers:
                raw = self._resolve(tensors, source, layer)
                if raw is None:
                    continue
                name = schema.expand(template, layer)
                for r in (raw if isinstance(raw, tuple) else (raw,)):
                    self.raw_slots.setdefault(r, []).append(name)
                if cfg.n_heads is None and schema.split_layer(name)[1] in schema.HEAD_SLOTS:
                    continue  # kept in raw_slots for its category; no per-head view without n_heads
                self._slots[name] = (raw, transform)
        left = [n for n in self.checkpoint.names() if n not in self.raw_slots]
        self.ignored = {n: verdict for n in left if (verdict := table.why_ignored(n))}  # name -> (category, why)
        self.unmapped = [n for n in left if n not in self.ignored]

    def _resolve(self, tensors: Tensors, source: str, layer: int | None) -> str | tuple[str, ...] | None:
        """The stored name of a rule's source; for a per-expert source (`{e}`: Mixtral's experts.{e}.w1), the
        tuple of every expert's stored name, in expert order (None unless all n_experts are stored)."""
        if isinstance(source, tuple):  # a slot computed from several stored tensors (MLA's per-head products)
            raws = tuple(self._resolve(tensors, s, layer) for s in source)
            return Factors(raws) if None not in raws else None
        if "{e}" not in source:
            raw = tensors.resolve(source, layer)
            return source if raw is None and source in self._virtual else raw
        n = self.cfg.n_experts or 0
        raws = tuple(tensors.resolve(source.replace("{e}", str(e)), layer) for e in range(n))
        return raws if n and None not in raws else None

    # ---- the schema ----------------------------------------------------------------------
    def names(self) -> list[str]:
        """Schema names this model has, in checkpoint order of layers."""
        return list(self._slots)

    def has(self, name: str) -> bool:
        """Whether the schema name exists (one expert, 'blocks.0.mlp.experts.3.W_in', when its expert does)."""
        if name in self._slots:
            return True
        base, e = self._one_expert(name, None)
        return e is not None and base in self._slots and 0 <= e < self.n_experts(base)

    def sources(self, name: str) -> tuple[str, ...]:
        base, expert = self._one_expert(name, None)
        raw = self._slots[base][0]
        if isinstance(raw, tuple):
            return raw if expert is None else (raw[expert],)
        return (raw, self._virtual[raw]) if raw in self._virtual else (raw,)

    def weight(self, name: str, expert: int | None = None) -> np.ndarray:
        """A schema slot as float32, e.g. weight('blocks.0.attn.W_Q') -> (n_heads, d_model, d_head).

        For an expert slot (schema.EXPERT_SLOTS), `expert=e` reads that one expert only ([d_model, d_expert]
        for W_in), never the whole stack: a large MoE layer's experts do not fit in memory at once."""
        name, expert = self._one_expert(name, expert)
        if name not in self._slots:
            why = [n.text for n in self.cfg.notes if n.kind in EXPLAINS_ABSENT_SLOTS]
            raise KeyError(f"{self.arch} model has no {name!r}" + (f" ({' '.join(why)})" if why else ""))
        raw, transform = self._slots[name]
        if expert is None and schema.parse(name).slot in schema.EXPERT_SLOTS:
            self._check_all_experts_fit(name)
        if isinstance(raw, Factors):  # the transform combines them (a product of factors)
            return transform(self.cfg, *map(self.raw, raw))
        if isinstance(raw, tuple):  # one stored tensor per expert
            if expert is not None:
                return transform(self.cfg, self.raw(raw[expert]))
            return np.stack([transform(self.cfg, self.raw(r)) for r in raw])
        if expert is not None:  # experts fused into one stored tensor, expert index first
            return transform(self.cfg, self.raw_rows(raw, expert, expert + 1))[0]
        return transform(self.cfg, self.raw(raw))

    @staticmethod
    def _one_expert(name: str, expert: int | None) -> tuple[str, int | None]:
        """A one-expert name ('blocks.0.mlp.experts.3.W_in') as (its expert slot's name, 3)."""
        key = schema.parse(name)
        slot, e = schema.split_expert(key.slot)
        return (name, expert) if e is None else (str(schema.Key(slot, key.layer, key.stack)), e)

    def _check_all_experts_fit(self, name: str) -> None:
        raws = {self._virtual.get(r, r) for r in self.sources(name)}
        nbytes = sum(self.checkpoint.entries[r].numel for r in raws) * 4
        if nbytes > ALL_EXPERTS_BYTES:
            raise LoadError(f"All {self.n_experts(name)} experts of {name} at once would take "
                            f"{nbytes / 2**30:.1f} GiB as float32; choose one expert.")

    def n_experts(self, name: str) -> int:
        """How many experts an expert slot holds (0 for any other slot)."""
        if schema.parse(name).slot not in schema.EXPERT_SLOTS or name not in self._slots:
            return 0
        raw = self._slots[name][0]
        return len(raw) if isinstance(raw, tuple) else self.checkpoint.entries[self._virtual.get(raw, raw)].shape[0]

    def stacks(self) -> list[str]:
        """The stacks of layers this model has (schema.STACKS), the main one first."""
        found = {k.stack for k in map(schema.parse, self._slots) if k.layer is not None}
        return [s for s in schema.STACKS if s in found]

    def view(self, stack: str):
        """This model with `stack`'s layers as its main ones, or "cross" for the decoder's cross-attention
        (adapters/stack_view.py); itself for the main stack."""
        from .stack_view import StackView
        return self if stack == schema.MAIN else StackView(self, stack)

    def views(self) -> list[str]:
        """What `view` accepts: the stacks, and "cross" when the decoder has cross-attention."""
        from .stack_view import views
        return views(self)

    def plain_source(self, name: str) -> str | None:
        """The stored tensor a 2-D slot is, as is or transposed (so it has the same singular values and can
        be read piece by piece); None when the slot is rearranged, rescaled or cut from a fused tensor."""
        if name not in self._slots:
            return None  # one expert of an expert slot: cut from a stack
        raw, transform = self._slots[name]
        if isinstance(raw, tuple) or transform not in (transforms.same, transforms.transpose):
            return None
        return self._virtual.get(raw, raw)

    def plain_transposed(self, name: str) -> bool:
        """Whether the slot is its plain_source transposed (stored [out, in] for a schema [in, out])."""
        return self._slots[name][1] is transforms.transpose

    def layer_names(self, slot: str, stack: str = schema.MAIN) -> list[str]:
        """'attn.W_Q' -> ['blocks.0.attn.W_Q', ...] for the layers that have it."""
        return [schema.name(slot, l, stack) for l in self.layers(slot, stack)]

    def layers(self, slot: str, stack: str = schema.MAIN) -> list[int]:
        """The layers of `stack` that have `slot`, ascending: layers('attn.W_Q') -> [0, 1, ...]."""
        slot = schema.split_expert(slot)[0]  # one expert is where its experts are
        keys = (schema.parse(n) for n in self._slots)
        return sorted(k.layer for k in keys if k.slot == slot and k.stack == stack and k.layer is not None)

    @property
    def has_heads(self) -> bool:
        """Whether the per-head attention view exists (the head count is known and an adapter maps the heads)."""
        return bool(self.layers("attn.W_Q"))

    @property
    def cache_key(self) -> str:
        """Everything a computed result depends on besides the caller's options: the files (identity) and the
        head count the caller supplied (which changes cfg and so every per-head slot)."""
        return f"{self.identity}|n_heads={self.requested_heads}"

    def slots(self) -> list[str]:
        """Distinct per-layer slot names ('attn.W_Q', 'mlp.W_in', ...), in schema order."""
        seen = {k.slot for k in map(schema.parse, self._slots) if k.layer is not None}
        return [s for s in schema.LAYER_SLOTS if s in seen]

    # ---- raw tensors ---------------------------------------------------------------------
    def raw_names(self) -> list[str]:
        return self.checkpoint.names()

    def raw(self, name: str) -> np.ndarray:
        """A checkpoint tensor as float32 (read-only; a tied alias reads the tensor it shares)."""
        name = self._virtual.get(name, name)
        if name in self._recent:
            self._recent.move_to_end(name)
            return self._recent[name]
        if name not in self.checkpoint.entries:
            raise KeyError(f"No tensor {name!r} in {self.source}")
        arr = self.checkpoint.read(name)
        arr.flags.writeable = False  # shared with the cache: nobody may edit it in place
        if arr.nbytes <= _CACHE_BYTES // 4:
            self._recent[name] = arr
            while sum(a.nbytes for a in self._recent.values()) > _CACHE_BYTES:
                self._recent.popitem(last=False)
        return arr

    def raw_rows(self, name: str, start: int, stop: int) -> np.ndarray:
        """Rows start:stop of a stored tensor's first axis as float32, reading only their bytes (one expert of
        a fused expert tensor); not cached."""
        name = self._virtual.get(name, name)
        if name in self._recent:
            return self._recent[name][start:stop]
        return self.checkpoint.read_rows(name, start, stop)

    def tensors(self) -> list[TensorInfo]:
        """Every stored tensor with its category and layer; tied aliases listed with `tied_to`."""
        out = []
        for name, e in self.checkpoint.entries.items():
            out.append(self._info(name, e))
        for alias, target in self.tied:
            out.append(self._info(alias, self.checkpoint.entries[target], tied_to=target))
        return out

    def _info(self, name, e, tied_to=None) -> TensorInfo:
        slots = tuple(self.raw_slots.get(name, ()))
        if name in self.ignored:
            cat, layer = self.ignored[name][0], schema.guess_layer(name)
        elif slots:
            cat, layer = schema.category(slots[0]), schema.split_layer(slots[0])[0]
        else:
            cat, layer = schema.guess_category(name), schema.guess_layer(name)
        routed = any(schema.parse(s).slot in schema.EXPERT_SLOTS for s in slots)
        return TensorInfo(name, tuple(e.shape), e.dtype, math.prod(e.shape), e.disk_bytes, cat, layer, tied_to, slots,
                          routed, e.stored, e.bits_per_weight, e.scales)

    def param_counts(self) -> tuple[int, int]:
        """(as stored in the state dict, unique): tied aliases count once in 'unique'; buffers never."""
        infos = [t for t in self.tensors() if t.category != "buffer"]
        stored = sum(t.params for t in infos)
        return stored, stored - sum(t.params for t in infos if t.tied_to)

    def __repr__(self) -> str:
        c = self.cfg
        return (f"Model({self.source!r}, arch={self.arch}, layers={c.n_layers}, d_model={c.d_model}, "
                f"heads={c.n_heads})")
