"""Integer weights saved by compressed-tensors (llm-compressor's "w8a8" and "w4a16" checkpoints): folded into one
entry per weight when the header is read (adapters/quantized.py's `fold` calls `fold_int`), decoded to float32 as
value = (q - zero_point) * scale, a block of rows at a time.

- int-quantized / naive-quantized: `X.weight` I8 [R, C] holds q itself;
- pack-quantized: `X.weight_packed` I32 [R, ceil(C*b/32)] holds q + 2^(b-1) as b-bit unsigned fields, densely:
  value j of a row at bit j*b of the row's words read as one little-endian bit stream (4 bits: eight a word, low
  nibble first); `X.weight_shape` I64 [2] is the original [R, C]. The folded entry is `X.weight` [R, C].
- `X.weight_scale`: [1] or [] (strategy "tensor"), [R, 1] or [R] ("channel"), [R, C/group] ("group"), or a grid
  [ceil(R/bm), ceil(C/bn)] ("block", `block_structure` [bm, bn]).
- `X.weight_zero_point` (asymmetric only): the scale's shape, as integers; but pack-quantized's group and channel
  zero points are packed like the weight, along the output axis: I32 [ceil(R*b/32), G], column g's bit stream
  holding rows 0..R-1 (compressed-tensors >= 0.9; an unpacked one, the scale's shape, is read as it is).
The layout comes from config.json's `quantization_config.config_groups` (`weights.num_bits`, `strategy`,
`group_size`, `symmetric`) and is checked against the tensors' shapes; without a config it is read from the
shapes alone. Activation quantization tensors (`X.input_scale`, `X.input_zero_point`) stay with their weight.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np

from .dtypes import to_float32
from .errors import LoadError

METHOD = "compressed-tensors"
INT_FORMATS = ("int-quantized", "naive-quantized", "pack-quantized")
# formats whose weights are plain or FP8 (adapters/quantized.py reads FP8 + weight_scale, mxfp8: e8m0 U8 scales);
# mixed-precision: each group says its own
OTHER_READ = ("dense", "float-quantized", "mxfp8-quantized", "mixed-precision")
PACKABLE_BITS = (1, 2, 4, 8)  # divide 32: every compressed-tensors version packs them the same way
SCALE_DTYPES = ("F32", "BF16", "F16", "F64")
ZERO_DTYPES = ("I8", "I16", "I32", "I64", "U8", "F32", "BF16", "F16")
STRATEGIES = ("tensor", "channel", "group", "block")
ACTIVATION = ("input_scale", "input_zero_point", "input_global_scale")  # beside X.weight as X.<this>


@dataclass(frozen=True)
class Scheme:
    """One config group's weight quantization, as config.json declares it."""
    group: str  # its key in config_groups, to name it in messages
    format: str
    num_bits: int
    strategy: str
    group_size: int | None
    symmetric: bool
    block: tuple[int, int] | None
    targets: tuple[str, ...]

    def words(self) -> str:
        return (f"config_groups[{self.group!r}]: {self.num_bits} bits, {self.strategy}"
                + (f" {self.group_size}" if self.strategy == "group" else "")
                + ("" if self.symmetric else ", asymmetric"))


def schemes(config: dict | None) -> list[Scheme] | None:
    """The integer weight schemes of a compressed-tensors config.json; None when it is not one. Raises LoadError
    for a format this reader refuses (sparse, marlin, nvfp4, ...) or a scheme that is not a real one."""
    qc = config.get("quantization_config") if isinstance(config, dict) else None
    if not isinstance(qc, dict) or qc.get("quant_method") != METHOD:
        return None
    groups = qc.get("config_groups") or {}
    if not isinstance(groups, dict):
        raise LoadError("config.json's quantization_config.config_groups is not an object; the config is corrupt.")
    found = []
    for key, g in groups.items():
        fmt = (g.get("format") if isinstance(g, dict) else None) or qc.get("format") or "dense"
        _check_format(fmt)
        w = g.get("weights") if isinstance(g, dict) else None
        if not isinstance(w, dict) or w.get("type", "int") != "int" or fmt in OTHER_READ:
            continue  # float weights (FP8: adapters/quantized.py) or none quantized
        found.append(_scheme(str(key), fmt, w, g.get("targets") or ()))
    if not groups:
        _check_format(qc.get("format") or "dense")
    return found


def _check_format(fmt) -> None:
    if fmt not in INT_FORMATS + OTHER_READ:
        raise LoadError(f"config.json's compressed-tensors format {str(fmt)[:40]!r} is not supported (this reader "
                        f"takes {', '.join(INT_FORMATS + OTHER_READ)}). Open a dequantized copy of the model.")


def _scheme(key: str, fmt: str, w: dict, targets) -> Scheme:
    where = f"config.json's quantization_config.config_groups[{key!r}].weights"
    bits, strategy, size = w.get("num_bits"), w.get("strategy") or "tensor", w.get("group_size")
    if type(bits) is not int or not 1 <= bits <= 8:  # int-quantized stores every width as int8
        raise LoadError(f"{where}.num_bits is {str(bits)[:20]}; integer weights of 1 to 8 bits are read.")
    if fmt == "pack-quantized" and bits not in PACKABLE_BITS:
        raise LoadError(f"{where}.num_bits is {bits}: compressed-tensors packs {bits}-bit values differently from "
                        f"one version to another, so they are not read (packed widths read: {PACKABLE_BITS}).")
    if strategy not in STRATEGIES:
        raise LoadError(f"{where}.strategy is {str(strategy)[:30]!r}; integer weights are read for "
                        f"{', '.join(STRATEGIES)}.")
    if strategy == "group" and not (type(size) is int and size >= 1):
        raise LoadError(f"{where}.group_size is {str(size)[:20]} for the group strategy; it must be a positive "
                        "integer.")
    block = w.get("block_structure")
    if strategy == "block" and not (isinstance(block, list) and len(block) == 2
                                    and all(type(n) is int and n >= 1 for n in block)):
        raise LoadError(f"{where}.block_structure is {str(block)[:40]} for the block strategy; it must be two "
                        "sizes.")
    symmetric = w.get("symmetric", True) is not False  # compressed-tensors' default
    return Scheme(key, fmt, bits, strategy, size if strategy == "group" else None, symmetric,
                  tuple(block) if strategy == "block" else None, tuple(str(t) for t in targets))


# ---- folding -------------------------------------------------------------------------------------------------
def is_int_weight(name: str, e, entries: dict, found: list[Scheme] | None) -> bool:
    """Whether `name` is the stored part of a compressed-tensors integer weight: packed words, or int8 with a
    scale beside it or under a config declaring integer weights (where one without its scale is an error, not
    int8 values to show as they are)."""
    return ((name.endswith(".weight_packed") and e.dtype == "I32")
            or (name.endswith(".weight") and e.dtype == "I8" and (name + "_scale" in entries or bool(found))))


def fold_int(name: str, e, entries: dict, found: list[Scheme] | None, read) -> tuple[Any, set[str]]:
    """(the folded entry of integer weight `name`, the names of the companions folded into it)."""
    from .quantized import Scaled  # (here, not above: adapters/quantized.py imports this module)

    packed = name.endswith(".weight_packed")
    target = name.removesuffix("_packed")
    module = target.removesuffix(".weight")
    scale, zero = entries.get(target + "_scale"), entries.get(target + "_zero_point")
    where = f"Integer weight {name!r} {list(e.shape)}"
    if scale is None:
        raise LoadError(f"{where} has no {target + '_scale'!r} beside it, so its values cannot be decoded; the "
                        "checkpoint is incomplete. Re-download it, with every shard.")
    if target + "_g_idx" in entries:
        raise LoadError(f"{where} has activation-ordered groups ({target + '_g_idx'!r}), which this reader does not "
                        "apply. Open a dequantized copy of the model.")
    if packed and target in entries:
        raise LoadError(f"{where} is stored packed and as {target!r} too; the checkpoint is inconsistent. Re-save it.")
    shape_entry = entries.get(target + "_shape") if packed else None
    if packed and shape_entry is None:
        raise LoadError(f"{where} has no {target + '_shape'!r} beside it, so its original shape is unknown; the "
                        "checkpoint is incomplete.")
    if len(e.shape) != 2 or 0 in e.shape:
        raise LoadError(f"{where}: integer weights are read as 2-D matrices [out, in] with values.")
    shape = _original_shape(where, shape_entry, read) if packed else tuple(e.shape)
    candidates = _candidates(module, packed, found)
    layouts, errors = [], []  # the first group whose layout fits the tensors is the one they were saved by
    for s in candidates:
        try:
            layouts.append((s, _layout(where, e, shape, scale, zero, s, packed)))
        except LoadError as err:
            errors.append(err)
    if not layouts:
        raise errors[0]
    scheme, (bits, strategy, grid, block, zero_packed) = layouts[0]
    if scale.dtype not in SCALE_DTYPES:
        raise LoadError(f"{where}: its scale {scale.name!r} is {scale.dtype}; scales are stored as "
                        f"{', '.join(SCALE_DTYPES)}. The file is corrupt or of an unknown quantization.")
    if zero is not None and zero.dtype not in ((("I32",) if zero_packed else ZERO_DTYPES)):
        raise LoadError(f"{where}: its zero point {zero.name!r} is {zero.dtype}; the file is corrupt.")
    kept = tuple(entries[module + "." + a] for a in ACTIVATION if module + "." + a in entries)
    fmt = scheme.format if scheme else ("pack-quantized" if packed else "int-quantized")
    quant = Scaled("int", e, scale, grid, block, kept + ((shape_entry,) if shape_entry else ()), zero=zero,
                   bits=bits, stored=f"INT{bits} ({fmt}, {_strategy_words(strategy, block)})",
                   zero_packed=zero_packed, columns=shape[1])
    taken = {scale.name, *(k.name for k in quant.kept), *((zero.name,) if zero is not None else ())}
    return replace(e, name=target, dtype=f"INT{bits}", shape=shape, quant=quant), taken


def _original_shape(where: str, s, read) -> tuple[int, int]:
    if s.dtype not in ("I64", "I32") or tuple(s.shape) != (2,):
        raise LoadError(f"{where}: its shape tensor {s.name!r} is {s.dtype} {list(s.shape)}, not two integers; "
                        "the file is corrupt.")
    rows, cols = (int(v) for v in read(s, 0, 2))
    if rows < 1 or cols < 1:
        raise LoadError(f"{where}: its shape tensor {s.name!r} says [{rows}, {cols}]; the file is corrupt.")
    return rows, cols


def _candidates(module: str, packed: bool, found: list[Scheme] | None) -> list[Scheme | None]:
    """The config groups that may hold `module`: those whose targets name it (`re:` patterns, matched from the
    name's start as compressed-tensors matches them, or its name), then those that target a module class
    (`Linear`); [None] without a config: the tensors' shapes say all."""
    if found is None:
        return [None]
    fits = [s for s in found if (s.format == "pack-quantized") == packed]
    named = [s for s in fits if any(_names(t, module) for t in s.targets)]
    by_class = [s for s in fits if s not in named and any(not t.startswith("re:") and "." not in t
                                                          for t in s.targets)]
    if not named + by_class:
        kind = "pack-quantized" if packed else "int-quantized"
        raise LoadError(f"Integer weight {module + '.weight'!r} is stored {kind}, but config.json's "
                        f"quantization_config declares no {kind} integer group for it; the config and the weights "
                        "do not belong together.")
    return named + by_class


def _names(target: str, module: str) -> bool:
    if not target.startswith("re:"):
        return target == module
    try:
        return re.match(target[3:], module) is not None
    except re.error as e:
        raise LoadError(f"config.json's quantization_config targets {target[:60]!r}, not a regular expression "
                        f"({e}); the config is corrupt.") from e


def _layout(where, e, shape, scale, zero, s: Scheme | None, packed: bool):
    """(bits, strategy, grid, block, zero_packed) of a weight as scheme `s` declares it (None: the shapes'),
    checked against its tensors; LoadError naming both where they disagree."""
    rows, cols = shape
    says = f" but {s.words()}" if s else ""
    bits = s.num_bits if s else _bits_from_shapes(where, e, cols, packed)
    if packed and e.shape != (rows, -(-cols * bits // 32)):
        raise LoadError(f"{where}: its shape tensor says [{rows}, {cols}], which packs {bits}-bit values into "
                        f"[{rows}, {-(-cols * bits // 32)}] words, not {list(e.shape)}{says}; the file is corrupt.")
    sc = tuple(scale.shape)
    if s is None:
        strategy = ("tensor" if math.prod(sc) == 1 else "channel" if sc in ((rows,), (rows, 1))
                    else "group" if len(sc) == 2 and sc[0] == rows else "block")
    else:
        strategy = s.strategy
    if strategy == "tensor":
        grid, block, ok = (), (rows, cols), math.prod(sc) == 1 and len(sc) <= 1
    elif strategy == "channel":
        grid, block, ok = (rows, 1), (1, cols), sc in ((rows,), (rows, 1))
    elif strategy == "group":
        size = s.group_size if s else (cols // sc[1] if sc[1] and cols % sc[1] == 0 else 0)
        if not size or cols % size:
            what = (f"a group size of {size} does not divide" if size else
                    f"its scale {scale.name!r} {list(sc)} has {sc[1]} groups a row, which do not split")
            raise LoadError(f"{where}: {what} its {cols} input columns{says}; the checkpoint is inconsistent.")
        grid, block, ok = (rows, cols // size), (1, size), sc == (rows, cols // size)
    else:
        bm, bn = s.block if s else ((rows // sc[0], cols // sc[1]) if len(sc) == 2 and 0 not in sc else (0, 0))
        grid = (-(-rows // bm), -(-cols // bn)) if bm and bn else ()
        block, ok = (bm, bn), bool(grid) and sc == grid
    if not ok:
        raise LoadError(f"{where}: its scale {scale.name!r} is {list(sc)}{says} (a {strategy} layout needs "
                        f"{list(grid) or [1]}); the config and the weights do not belong together.")
    zero_packed = packed and zero is not None and strategy in ("channel", "group") and zero.dtype == "I32" \
        and tuple(zero.shape) == (-(-rows * bits // 32), grid[1])
    if s and s.symmetric and zero is not None:
        raise LoadError(f"{where} has a zero point {zero.name!r}{says}, which is symmetric "
                        "(no zero point); the config and the weights do not belong together.")
    if s and not s.symmetric and zero is None:
        raise LoadError(f"{where} has no zero point {e.name.removesuffix('_packed') + '_zero_point'!r}{says}; the "
                        "checkpoint is incomplete.")
    if zero is not None and not zero_packed and math.prod(zero.shape) != math.prod(sc):
        raise LoadError(f"{where}: its zero point {zero.name!r} is {list(zero.shape)}, fitting neither its scale "
                        f"{list(sc)} nor a packed [{-(-rows * bits // 32)}, {grid[1] if grid else 1}]; the file is "
                        "corrupt.")
    return bits, strategy, grid, block, zero_packed


def _bits_from_shapes(where: str, e, cols: int, packed: bool) -> int:
    if not packed:
        return 8
    fits = [b for b in PACKABLE_BITS if -(-cols * b // 32) == e.shape[1]]
    if len(fits) != 1:
        raise LoadError(f"{where}: {cols} columns in {e.shape[1]} words fit no one packed width of "
                        f"{PACKABLE_BITS} bits; give the model's config.json (its quantization_config says).")
    return fits[0]


def _strategy_words(strategy: str, block: tuple[int, int]) -> str:
    return {"tensor": "per-tensor", "channel": "per-channel", "group": f"group {block[1]}"}.get(
        strategy, f"{block[0]}x{block[1]} blocks")


# ---- decoding ------------------------------------------------------------------------------------------------
def int_rows(q, read: Callable, start: int, stop: int) -> np.ndarray:
    """Rows start:stop [n, C] of an integer weight as float32: (q - zero point) * scale, each block of columns by
    its own scale (groups), only these rows' values, scales and zero points read."""
    values = _values(q, read, start, stop)  # (n, C) float32 of exact integers
    if q.zero is not None:  # (n, grid cols), as the scales
        zero = _packed_zero_rows(q, read, start, stop) if q.zero_packed else _grid_rows(q, q.zero, read, start, stop)
        _by_block(values, zero, q.block[1], np.subtract)
    _by_block(values, _grid_rows(q, q.scale, read, start, stop), q.block[1], np.multiply)
    return values


def _values(q, read, start: int, stop: int) -> np.ndarray:
    stored = read(q.data, start, stop)  # (n, C) int8, or (n, words) int32 packed
    if q.data.dtype == "I8":
        return stored.astype(np.float32)
    return unpack(stored, q.bits, 0, q.columns).astype(np.float32)


def unpack(words: np.ndarray, bits: int, skip: int, count: int) -> np.ndarray:
    """`count` signed `bits`-bit values [..., count] (int16) from each row of int32 `words` [..., W], the row read
    as one little-endian bit stream from bit skip*bits: stored unsigned, offset by 2^(bits-1)."""
    raw = np.ascontiguousarray(words, dtype="<i4").view(np.uint8)  # (..., W*4), little-endian bytes
    if bits == 8:
        fields = raw[..., skip:skip + count]
    elif bits == 4:  # two a byte, low nibble first
        fields = np.stack((raw & 0xF, raw >> 4), axis=-1).reshape(*raw.shape[:-1], -1)[..., skip:skip + count]
    else:
        stream = np.unpackbits(raw, axis=-1, bitorder="little")[..., skip * bits:(skip + count) * bits]
        fields = stream.reshape(*raw.shape[:-1], count, bits) @ (1 << np.arange(bits, dtype=np.uint16))
    return fields.astype(np.int16) - (1 << (bits - 1))


def _grid_rows(q, t, read, start: int, stop: int) -> np.ndarray:
    """The scales (or zero points) `t` that cover rows start:stop, one row each: (n, grid cols) float32."""
    if not q.grid:
        return to_float32(read(t, 0, t.shape[0] if t.shape else 1), t.dtype).reshape(1, 1)
    block_rows = q.block[0]
    first, last = start // block_rows, (stop - 1) // block_rows + 1
    grid = to_float32(read(t, first, last), t.dtype).reshape(last - first, q.grid[1])
    return grid[np.arange(start, stop) // block_rows - first]


def _packed_zero_rows(q, read, start: int, stop: int) -> np.ndarray:
    """Zero points packed along the output axis [ceil(R*b/32), G]: the words holding rows start:stop, each
    column's bit stream unpacked -> (n, G) float32."""
    first, last = start * q.bits // 32, -(-stop * q.bits // 32)
    words = read(q.zero, first, last)  # (w, G) int32
    skip = start - first * 32 // q.bits
    return unpack(words.T, q.bits, skip, stop - start).T.astype(np.float32)


def _by_block(values: np.ndarray, per_row: np.ndarray, block_cols: int, op) -> None:
    """values[r, c] = op(values[r, c], per_row[r, c // block_cols]) in place, by a view of whole blocks."""
    rows, cols = values.shape
    tiles = values.reshape(rows, cols // block_cols, block_cols) if cols % block_cols == 0 else None
    if tiles is not None:
        op(tiles, per_row[..., None], out=tiles)
    else:  # a last, shorter block (the block strategy's ragged edge)
        op(values, per_row[:, np.arange(cols) // block_cols], out=values)
