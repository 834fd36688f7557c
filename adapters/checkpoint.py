"""A lazy view of the raw tensors in one or more safetensors files (or a torch .bin, safely).

Opening parses and validates only the JSON header. A tensor is read when asked for, by
reading its byte range into a fresh buffer (not through one long-lived memory map: mapped
pages count as resident memory while mapped, so a whole-model scan would grow to the
file's size), and converted to float32.
"""
from __future__ import annotations

import json
import math
import os
import struct
from dataclasses import dataclass

import numpy as np

from .errors import LoadError

MAX_HEADER_BYTES = 100 * 1024 * 1024  # the Hub's viewer stops at 25 MB; real headers are < 5 MB
MAX_TENSORS = 200_000
MAX_ELEMENTS = 2**40  # no real tensor is this large; it guards products that overflow int64


def _fp8_table(exp_bits: int, man_bits: int, bias: int, e4m3fn: bool) -> np.ndarray:
    """All 256 values of an 8-bit float format, so decoding is one table lookup."""
    table = np.empty(256, dtype=np.float32)
    for byte in range(256):
        sign = -1.0 if byte & 0x80 else 1.0
        exp = (byte >> man_bits) & ((1 << exp_bits) - 1)
        man = byte & ((1 << man_bits) - 1)
        if e4m3fn and exp == 0xF and man == 0x7:
            table[byte] = np.nan
        elif not e4m3fn and exp == (1 << exp_bits) - 1:
            table[byte] = sign * np.inf if man == 0 else np.nan
        elif exp == 0:
            table[byte] = sign * man / (1 << man_bits) * 2.0 ** (1 - bias)
        else:
            table[byte] = sign * (1 + man / (1 << man_bits)) * 2.0 ** (exp - bias)
    return table


# safetensors dtype name -> (bytes per element, numpy dtype of the stored bits)
DTYPES: dict[str, tuple[int, str]] = {
    "F64": (8, "<f8"), "F32": (4, "<f4"), "F16": (2, "<f2"), "BF16": (2, "<u2"),
    "I64": (8, "<i8"), "I32": (4, "<i4"), "I16": (2, "<i2"), "I8": (1, "i1"),
    "U64": (8, "<u8"), "U32": (4, "<u4"), "U16": (2, "<u2"), "U8": (1, "u1"),
    "BOOL": (1, "u1"), "F8_E4M3": (1, "u1"), "F8_E5M2": (1, "u1"),
}
_FP8 = {"F8_E4M3": (4, 3, 7, True), "F8_E5M2": (5, 2, 15, False)}
_fp8_tables: dict[str, np.ndarray] = {}


def to_float32(bits: np.ndarray, dtype: str) -> np.ndarray:
    """Decode stored bits of a safetensors dtype to float32 (bf16 and fp8 without torch)."""
    if dtype == "BF16":
        # bf16 is the top half of a float32: shift the 16 bits up and reinterpret.
        return (bits.astype(np.uint32) << 16).view(np.float32)
    if dtype in _FP8:
        if dtype not in _fp8_tables:
            _fp8_tables[dtype] = _fp8_table(*_FP8[dtype])
        return _fp8_tables[dtype][bits]
    return bits.astype(np.float32, copy=False)


@dataclass(frozen=True)
class TensorEntry:
    """Where one tensor lives: file, dtype, shape and absolute byte range."""
    name: str
    dtype: str
    shape: tuple[int, ...]
    path: str
    start: int  # absolute offset in the file
    end: int

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.end - self.start


def read_header(path: str) -> tuple[dict[str, TensorEntry], dict[str, str]]:
    """Parse and validate one safetensors file's header.

    Returns (entries by name, the header's `__metadata__`). Raises LoadError for anything
    that is not a well-formed safetensors file, before allocating anything large.
    """
    name = os.path.basename(path)
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise LoadError(f"{name} is empty or shorter than a safetensors header ({size} bytes).")
            if head[:1] == b"\x80" or head[:2] == b"PK":  # pickle protocol byte / zip of torch.save
                raise LoadError(f"{name} is a pickle / torch.save file, not safetensors. "
                                "Convert it to .safetensors, or open the folder so the safe .bin loader is used.")
            (n,) = struct.unpack("<Q", head)
            if n > MAX_HEADER_BYTES:
                raise LoadError(f"{name}: the header claims {n:,} bytes (limit {MAX_HEADER_BYTES:,}); "
                                "this is not a valid safetensors file.")
            if 8 + n > size:
                raise LoadError(f"{name} is truncated: its header needs {8 + n:,} bytes, the file has {size:,}.")
            raw = f.read(n)
    except OSError as e:
        raise LoadError(f"Cannot read {path}: {e.strerror or e}.") from e
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise LoadError(f"{name}: the header is not valid JSON, so this is not a safetensors file "
                        "(or it is corrupt).") from e
    if not isinstance(header, dict):
        raise LoadError(f"{name}: the header is not a JSON object; not a safetensors file.")
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict):
        raise LoadError(f"{name}: __metadata__ must be a JSON object.")
    if len(header) > MAX_TENSORS:
        raise LoadError(f"{name} lists {len(header):,} tensors (limit {MAX_TENSORS:,}).")
    data_start, data_len = 8 + n, size - 8 - n
    entries = {key: _entry(name, key, info, path, data_start, data_len) for key, info in header.items()}
    _check_no_overlap(name, entries.values())
    return entries, {str(k): str(v) for k, v in meta.items()}


def _entry(fname: str, key: str, info, path: str, data_start: int, data_len: int) -> TensorEntry:
    where = f"{fname}, tensor {key!r}"
    if not isinstance(info, dict):
        raise LoadError(f"{where}: entry is not an object.")
    dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    if dtype not in DTYPES:
        raise LoadError(f"{where}: unsupported dtype {dtype!r} (supported: {', '.join(DTYPES)}).")
    if not (isinstance(shape, list) and all(type(d) is int and d >= 0 for d in shape)):
        raise LoadError(f"{where}: shape {shape!r} is not a list of non-negative integers.")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int for o in offsets)):
        raise LoadError(f"{where}: data_offsets {offsets!r} is not a pair of integers.")
    numel = 1
    for d in shape:  # Python ints do not overflow; check before trusting the product
        numel *= d
    if numel > MAX_ELEMENTS:
        raise LoadError(f"{where}: shape {shape} has {numel:,} elements, which no real tensor has.")
    begin, end = offsets
    if not 0 <= begin <= end <= data_len:
        raise LoadError(f"{where}: byte range {begin}..{end} lies outside the file's data "
                        f"({data_len:,} bytes); the file is truncated or corrupt.")
    if end - begin != numel * DTYPES[dtype][0]:
        raise LoadError(f"{where}: {end - begin:,} bytes do not hold shape {shape} of {dtype}.")
    return TensorEntry(key, dtype, tuple(shape), path, data_start + begin, data_start + end)


def _check_no_overlap(fname: str, entries) -> None:
    spans = sorted((e.start, e.end, e.name) for e in entries if e.end > e.start)
    for (s0, e0, n0), (s1, _, n1) in zip(spans, spans[1:]):
        if s1 < e0:
            raise LoadError(f"{fname}: tensors {n0!r} and {n1!r} overlap; the file is corrupt.")


class Checkpoint:
    """Raw tensors of one checkpoint, possibly sharded over several safetensors files."""

    def __init__(self, paths: list[str]):
        self.paths = list(paths)
        self.entries: dict[str, TensorEntry] = {}
        self.metadata: dict[str, str] = {}
        for path in self.paths:
            entries, meta = read_header(path)
            dup = self.entries.keys() & entries.keys()
            if dup:
                raise LoadError(f"Tensor {sorted(dup)[0]!r} appears in more than one shard.")
            self.entries.update(entries)
            self.metadata.update(meta)

    def names(self) -> list[str]:
        return list(self.entries)

    def read(self, name: str) -> np.ndarray:
        """One tensor as float32, read from its byte range only."""
        e = self.entries[name]
        itemsize, np_dtype = DTYPES[e.dtype]
        bits = np.empty(e.numel, dtype=np_dtype)
        with open(e.path, "rb") as f:
            f.seek(e.start)
            got = f.readinto(memoryview(bits).cast("B"))
        if got != e.nbytes:
            raise LoadError(f"{os.path.basename(e.path)} ended while reading {name!r}; the file is truncated.")
        return to_float32(bits, e.dtype).reshape(e.shape)


class TorchCheckpoint:
    """A pickle-format checkpoint opened with torch's safe loader only (weights_only=True)."""

    def __init__(self, paths: list[str]):
        import torch  # only this fallback needs torch

        self.paths = list(paths)
        self.metadata: dict[str, str] = {}
        self._tensors: dict = {}
        for path in self.paths:
            try:
                state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
            except Exception as e:  # torch raises many types for refused or broken pickles
                raise LoadError(f"{os.path.basename(path)} could not be loaded safely "
                                f"(torch.load with weights_only=True refused it: {str(e).splitlines()[0][:200]}). "
                                "Only plain tensor checkpoints are opened; use a .safetensors file.") from e
            if not isinstance(state, dict):
                raise LoadError(f"{os.path.basename(path)} does not hold a dict of tensors.")
            state = state.get("state_dict", state) if isinstance(state.get("state_dict"), dict) else state
            for key, t in state.items():
                if isinstance(t, torch.Tensor):
                    self._tensors[str(key)] = t
        self.entries = {k: TensorEntry(k, _torch_dtype_name(t), tuple(t.shape), "", 0,
                                       t.numel() * t.element_size()) for k, t in self._tensors.items()}

    def names(self) -> list[str]:
        return list(self._tensors)

    def read(self, name: str) -> np.ndarray:
        import torch

        t = self._tensors[name]
        if t.is_floating_point() and t.dtype != torch.float32:
            t = t.float()
        return t.numpy().astype(np.float32, copy=True)


def _torch_dtype_name(t) -> str:
    return {"float32": "F32", "float16": "F16", "bfloat16": "BF16", "float64": "F64", "int64": "I64",
            "int32": "I32", "int16": "I16", "int8": "I8", "uint8": "U8", "bool": "BOOL"}.get(
        str(t.dtype).removeprefix("torch."), "F32")
