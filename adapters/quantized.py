"""Weights stored quantized in safetensors, with their scales beside them: found when the header is read, folded
into their weight's entry (the scales are never listed as tensors of their own), and decoded to float32 with the
scales applied, a block of rows at a time.

    entries = fold(entries, config)       # in Checkpoint: X.weight + X.weight_scale_inv -> one entry X.weight
    values = decode_rows(entry.quant, read_stored, 0, 4)  # rows 0:4 of its first axis, float32, scaled

FP8 (F8_E4M3, F8_E5M2) with a scale tensor beside the weight; value = fp8 * scale:
- `X.weight_scale_inv` [..., ceil(R/bm), ceil(C/bn)] for `X.weight` [..., R, C]: DeepSeek-V3 and transformers'
  finegrained_fp8 (`quant_method: fp8`, `weight_block_size: [bm, bn]`); "inv" because the quantizer divided by it;
- `X.weight_scale` [] or [1] (per tensor), [R] or [R, 1] (per output row), or a grid as above: compressed-tensors'
  tensor / channel / group / block strategies and fbgemm_fp8's [R, 1];
- an expert stack `X` [E, R, C] with `X_scale_inv` or `X_scale` [E, ...] (transformers' fused FP8 experts).
The activations' scale (`X.input_scale`, `X.activation_scale`) is kept with its weight and counted in its bytes.
MXFP4 (OCP Microscaling Formats v1.0; gpt-oss's experts): `X_blocks` U8 [E, R, G, 16] (32 e2m1 values per block,
two a byte, low nibble first) with `X_scales` U8 [E, R, G] (e8m0: 2^(s-127)) -> `X` [E, G*32, R], transposed as
transformers' `convert_moe_packed_tensors` returns it (gpt-oss's gate_up_proj [E, d_model, 2*d_ff], the layout
the Hub's dequantized copies store). A 3-D `X_blocks` [R, G, 16] is a Linear's [out, in] -> `X` [R, G*32].
The block size is config.json's `quantization_config.weight_block_size` (for `weight_scale_inv` without one,
transformers' default, 128 x 128) where it tiles the weight as the scale grid does, else the grid's exact divisor.
Integers (compressed-tensors' int-quantized and pack-quantized, with zero points): adapters/quantized_int.py.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Callable

import numpy as np

from .dtypes import FP8_FORMATS, e2m1_pairs, e8m0_table, to_float32
from .errors import LoadError
from .quantized_int import fold_int, int_rows, is_int_weight, schemes

MAX_BLOCK = 1 << 20  # a declared block size past this is not a real one (DeepSeek's is 128)
# `weight_scale_inv` blocks when config.json declares none: transformers' FineGrainedFP8Config default, DeepSeek's
DEFAULT_INV_BLOCK = (128, 128)
SCALE_DTYPES = ("F32", "BF16", "F16", "F64", "U8")  # U8 scales are e8m0 bytes, as transformers reads them
_FP8_SCALES = ("_scale_inv", "_scale")  # the weight's name + this suffix
_ACTIVATION_SCALES = ("input_scale", "activation_scale")  # beside `X.weight` as `X.<this>`
MXFP4_BLOCK = 32  # values per scale
_MXFP4_BYTES = MXFP4_BLOCK // 2  # two e2m1 values a byte

# reads rows start:stop of a plain (unquantized) entry's first axis as stored: (entry, start, stop) -> bits
ReadStored = Callable[[Any, int, int], np.ndarray]


@dataclass(frozen=True)
class Scaled:
    """How one folded entry is stored: its values, their scales, and the block of values one scale covers."""
    kind: str  # "fp8", "mxfp4" or "int" (compressed-tensors' integers: adapters/quantized_int.py)
    data: Any  # the stored weight's (MXFP4: the blocks'; packed integers: the words') TensorEntry
    scale: Any  # the scale tensor's TensorEntry
    grid: tuple[int, ...]  # fp8, int: the scales as applied, weight.shape[:-2] + (rows, cols); () for one scale
    block: tuple[int, int]  # fp8, int: (rows, cols) of values one scale covers; mxfp4: (1, 32)
    kept: tuple = ()  # entries stored with the weight and counted in its bytes, not applied (activation scales)
    zero: Any = None  # int: the zero points' TensorEntry (asymmetric), shaped as the scales unless zero_packed
    bits: int = 0  # int: bits per value
    stored: str = ""  # int: the stored type in words, 'INT4 (pack-quantized, group 128)'
    zero_packed: bool = False  # int: zero points packed along the output axis as the weight is along its input
    columns: int = 0  # int: the weight's columns (packed words hold up to 32/bits - 1 more)

    @property
    def disk_bytes(self) -> int:
        zero = self.zero.nbytes if self.zero is not None else 0
        return self.data.nbytes + self.scale.nbytes + zero + sum(k.nbytes for k in self.kept)

    @property
    def layout(self) -> str:
        """The scales in words: '128x128 block scales (F32)', 'per-row scales (BF16)', 'e8m0 scale per 32 values'."""
        if self.kind == "mxfp4":
            return f"e8m0 scale per {MXFP4_BLOCK} values"
        rows, cols = self.block
        if not self.grid:
            what = "one scale"
        elif rows == 1 and cols >= (self.columns or self.data.shape[-1]):
            what = "per-row scales"
        else:
            what = f"{rows}x{cols} block scales" if rows > 1 or self.kind != "int" else f"group {cols} scales"
        zero = f", zero points ({self.zero.dtype})" if self.zero is not None else ""
        return f"{what} ({'e8m0' if self.scale.dtype == 'U8' else self.scale.dtype}){zero}"


def declared_block(config: dict | None) -> tuple[int, int] | None:
    """The FP8 block size config.json declares: `quantization_config.weight_block_size` (transformers' fp8), or
    a compressed-tensors group's `weights.block_structure`; None when it declares none."""
    qc = config.get("quantization_config") if isinstance(config, dict) else None
    if not isinstance(qc, dict):
        return None
    found = [("weight_block_size", qc.get("weight_block_size"))]
    groups = qc.get("config_groups")
    for group in (groups.values() if isinstance(groups, dict) else ()):
        weights = group.get("weights") if isinstance(group, dict) else None
        if isinstance(weights, dict):
            found.append(("config_groups' block_structure", weights.get("block_structure")))
    sizes = set()
    for where, b in found:
        if b is None:
            continue
        if not (isinstance(b, list) and len(b) == 2 and all(type(n) is int and 1 <= n <= MAX_BLOCK for n in b)):
            raise LoadError(f"config.json's quantization_config {where} is {str(b)[:60]}, not two block sizes from 1 "
                            f"to {MAX_BLOCK:,}; fix or remove it (the scale shapes give the block otherwise).")
        sizes.add(tuple(b))
    return sizes.pop() if len(sizes) == 1 else None  # several: each weight's grid says its own


def fold(entries: dict[str, Any], config: dict | None = None, read: ReadStored | None = None) -> dict[str, Any]:
    """Entries with every quantized weight's scales folded into it (see the module doc), in the same order; the
    scale tensors are gone from the names. Raises LoadError for scales that do not fit their weight. `read` reads
    a plain entry's rows: a packed integer weight's `weight_shape` is read when it is folded."""
    block = declared_block(config)
    int_schemes = schemes(config)  # compressed-tensors' integer groups; None: not its config
    folded: dict[str, Any] = {}  # the name the folded entry takes its place at -> the entry
    taken: set[str] = set()  # companions folded into a weight
    for name, e in entries.items():
        if e.dtype in FP8_FORMATS and (scale := _fp8_scale(name, entries)) is not None:
            kept = tuple(entries[k] for k in _activation_scales(name) if k in entries)
            folded[name] = replace(e, quant=_fp8(e, scale, block, kept))
            taken |= {scale.name, *(k.name for k in kept)}
        elif name.endswith("_blocks") and e.dtype == "U8":
            target = name.removesuffix("_blocks")
            scales = entries.get(target + "_scales")
            if target in entries:
                raise LoadError(f"{name!r} holds MXFP4 blocks of {target!r}, which is stored as well; the checkpoint "
                                "is inconsistent. Re-save it.")
            folded[name] = _mxfp4(target, e, scales)
            taken.add(scales.name)
        elif is_int_weight(name, e, entries, int_schemes):
            folded[name], companions = fold_int(name, e, entries, int_schemes, read)
            taken |= companions
    return {(folded[n].name if n in folded else n): folded.get(n, e) for n, e in entries.items() if n not in taken}


def _fp8_scale(name: str, entries: dict[str, Any]):
    found = [entries[name + s] for s in _FP8_SCALES if name + s in entries]
    if len(found) > 1:
        raise LoadError(f"FP8 weight {name!r} has both a scale_inv and a scale tensor; which one applies is "
                        "ambiguous. Re-save the checkpoint with one.")
    return found[0] if found else None


def _activation_scales(name: str) -> list[str]:
    base = name.removesuffix("weight") if name.endswith(".weight") else name + "_"
    return [base + a for a in _ACTIVATION_SCALES]


def _fp8(w, scale, declared: tuple[int, int] | None, kept: tuple) -> Scaled:
    """The FP8 layout of weight `w` [..., R, C] given its scale tensor's shape (module doc)."""
    where = f"FP8 weight {w.name!r} {list(w.shape)}: its scale {scale.name!r} {list(scale.shape)}"
    if scale.dtype not in SCALE_DTYPES:
        raise LoadError(f"{where} is {scale.dtype}; scales are stored as {', '.join(SCALE_DTYPES)}. The file is "
                        "corrupt or of an unknown quantization.")
    if not w.shape or math.prod(w.shape) == 0:
        raise LoadError(f"{where}: a scaled FP8 weight must have at least one value along at least one axis.")
    shape, s = tuple(w.shape), tuple(scale.shape)
    if math.prod(s) == 1 and len(s) <= max(len(shape), 1):
        return Scaled("fp8", w, scale, (), shape[-2:] if len(shape) >= 2 else (1, shape[0]), kept)
    if len(shape) < 2:
        raise LoadError(f"{where}: a 1-D weight takes one scale only.")
    lead, (rows, cols) = shape[:-2], shape[-2:]
    declared = declared or (DEFAULT_INV_BLOCK if scale.name.endswith("_scale_inv") else None)
    if s in (shape[:-1], shape[:-1] + (1,)):  # one per output row
        return Scaled("fp8", w, scale, lead + (rows, 1), (1, cols), kept)
    if lead and s == lead:  # one per matrix of a stack
        return Scaled("fp8", w, scale, lead + (1, 1), (rows, cols), kept)
    if len(s) == len(shape) and s[:-2] == lead and min(s) > 0:
        grid_rows, grid_cols = s[-2:]
        if declared and (-(-rows // declared[0]), -(-cols // declared[1])) == (grid_rows, grid_cols):
            return Scaled("fp8", w, scale, s, declared, kept)
        if rows % grid_rows == 0 and cols % grid_cols == 0:
            return Scaled("fp8", w, scale, s, (rows // grid_rows, cols // grid_cols), kept)
    need = (f"[{-(-rows // declared[0])}, {-(-cols // declared[1])}] for blocks of {list(declared)}, "
            if declared else "")
    raise LoadError(f"{where} does not fit it: expected one value, [{rows}] or [{rows}, 1] per row, or a grid of "
                    f"blocks that tiles it ({need}the last two axes dividing {rows} and {cols}). The file is corrupt, "
                    "or config.json's quantization_config.weight_block_size is missing or wrong.")


def _mxfp4(target: str, blocks, scales) -> Any:
    """The folded entry `target` of MXFP4 `blocks` [(E,) R, G, 16] and their `scales` [(E,) R, G]."""
    where = f"MXFP4 blocks {blocks.name!r} {list(blocks.shape)}"
    if scales is None:
        raise LoadError(f"{where} have no {target + '_scales'!r} beside them, so their values cannot be decoded; "
                        "the checkpoint is incomplete. Re-download it, with every shard.")
    if len(blocks.shape) not in (3, 4) or blocks.shape[-1] != _MXFP4_BYTES or 0 in blocks.shape:
        raise LoadError(f"{where}: MXFP4 blocks are [experts, rows, blocks, {_MXFP4_BYTES}] or "
                        f"[rows, blocks, {_MXFP4_BYTES}] bytes; the file is corrupt.")
    if scales.dtype != "U8" or tuple(scales.shape) != tuple(blocks.shape[:-1]):
        raise LoadError(f"{where}: their scales {scales.name!r} are {scales.dtype} {list(scales.shape)}, not U8 "
                        f"{list(blocks.shape[:-1])} (one e8m0 byte per block); the file is corrupt.")
    *lead, rows, groups, _ = blocks.shape
    shape = (lead[0], groups * MXFP4_BLOCK, rows) if lead else (rows, groups * MXFP4_BLOCK)
    quant = Scaled("mxfp4", blocks, scales, tuple(scales.shape), (1, MXFP4_BLOCK))
    return replace(blocks, name=target, dtype="MXFP4", shape=shape, quant=quant)


# ---- decoding ------------------------------------------------------------------------------------------------
def decode_rows(q: Scaled, read: ReadStored, start: int, stop: int, ordered: bool = True) -> np.ndarray:
    """Rows start:stop of the folded tensor's first axis as float32, scales applied; `read` reads a stored
    entry's rows (the checkpoint's byte ranges). Only those rows' values and scales are read. A product past
    float32's range is +-Inf, and a NaN scale makes its values NaN, as in transformers: the health check reports
    them. `ordered=False`: the same values, possibly in another order (MXFP4 experts untransposed), for
    order-free reductions such as statistics."""
    with np.errstate(over="ignore", invalid="ignore"):
        if q.kind == "mxfp4":
            return _mxfp4_rows(q, read, start, stop, ordered)
        if q.kind == "int":
            return int_rows(q, read, start, stop)
        return _fp8_rows(q, read, start, stop)


def _scale_values(bits: np.ndarray, dtype: str) -> np.ndarray:
    """Stored scales as float32 multipliers: e8m0 bytes as 2^(b-127) (transformers' Fp8Dequantize reads uint8
    scales so), any float type as its value."""
    return e8m0_table()[bits] if dtype == "U8" else to_float32(bits, dtype)


def _fp8_rows(q: Scaled, read: ReadStored, start: int, stop: int) -> np.ndarray:
    w, n = q.data, stop - start
    values = to_float32(read(w, start, stop), w.dtype)  # (n, *shape[1:]), a fresh array
    if not q.grid:  # one scale for all
        values *= _scale_values(read(q.scale, 0, q.scale.shape[0] if q.scale.shape else 1), q.scale.dtype).reshape(())
        return values
    block_rows, block_cols = q.block
    if len(w.shape) == 2:  # rows of the matrix: the scale rows that cover them
        first, last = start // block_rows, (stop - 1) // block_rows + 1
        scales = _scale_values(read(q.scale, first, last), q.scale.dtype).reshape(last - first, q.grid[-1])
        per_row = scales[np.arange(start, stop) // block_rows - first]  # (n, grid cols)
    else:  # matrices of a stack: their own scales, each scale row over its block of rows
        scales = _scale_values(read(q.scale, start, stop), q.scale.dtype).reshape(n, *q.grid[1:])
        per_row = scales[..., np.arange(w.shape[-2]) // block_rows, :]  # (n, ..., R, grid cols)
    _scale_columns(values, per_row, block_cols)
    return values


def _scale_columns(values: np.ndarray, per_row: np.ndarray, block_cols: int) -> None:
    """values[..., r, c] *= per_row[..., r, c // block_cols], in place; values is contiguous. (Scales are picked
    by index, never np.repeat-ed by the block size, which a header may make huge.)"""
    cols = values.shape[-1]
    if cols % block_cols == 0:  # a view of whole blocks: no weight-sized copy of the scales
        tiles = values.reshape(*values.shape[:-1], cols // block_cols, block_cols)
        np.multiply(tiles, per_row[..., None], out=tiles)
    else:  # a last, shorter block
        values *= per_row[..., np.arange(cols) // block_cols]


def _mxfp4_rows(q: Scaled, read: ReadStored, start: int, stop: int, ordered: bool = True) -> np.ndarray:
    blocks = read(q.data, start, stop)  # (n, [R,] G, 16) uint8
    scales = read(q.scale, start, stop)  # (n, [R,] G) uint8
    # each byte -> its two values (low nibble first) in one lookup of 8-byte pairs: ~2x numpy's fancy indexing
    values = np.take(_e2m1_pairs_as_u64(), blocks).view(np.float32)  # (n, [R,] G, 32)
    values *= e8m0_table()[scales][..., None]  # exact: an e2m1 value times a power of two
    values = values.reshape(*blocks.shape[:-2], blocks.shape[-2] * MXFP4_BLOCK)  # (n, [R,] G*32)
    if values.ndim == 3 and ordered:  # experts: [E, R, G*32] -> [E, G*32, R], as transformers returns them
        values = np.ascontiguousarray(values.transpose(0, 2, 1))  # (most of the decoding's time)
    return values


@lru_cache(maxsize=None)
def _e2m1_pairs_as_u64() -> np.ndarray:
    return np.ascontiguousarray(e2m1_pairs()).view(np.uint64).reshape(256)
