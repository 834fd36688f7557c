"""A lazy view of the raw tensors in a GGUF file (llama.cpp), single or split, with `Checkpoint`'s interface.

    ckpt = GGUFCheckpoint(["model-Q4_K_M.gguf"])
    ckpt.entries["model.layers.0.self_attn.q_proj.weight"].stored   # 'Q4_K', 4.5 bits per weight
    ckpt.read("model.layers.0.self_attn.q_proj.weight")            # float32 [out, in], as Hugging Face stores it

The header (metadata and tensor index) is parsed with bounds on every count, length, dimension and offset
before anything large is allocated (adapters/gguf_header.py). A tensor is read
as its byte range (or a range of its rows, in whole quant blocks) into a fresh buffer and dequantized by
`gguf.quants.dequantize`. Names, the config and llama.cpp's Q/K row permutation: adapters/gguf_names.py.
"""
from __future__ import annotations

import math
import os
from dataclasses import replace

import numpy as np
from gguf import Keys
from gguf.quants import dequantize

from . import ggml_kernels
from .errors import LoadError
from .gguf_header import _NUMPY_TYPES, ArrayInfo, GGUFEntry, read_gguf_header
from .gguf_names import hf_view


DECODE_ELEMS = 1 << 20  # values dequantized per piece: gguf's numpy decoder has a per-call cost
# stored as plain numbers, so the statistics scan's kernel can take their bits (analyses.fused)
_STORED_BITS = {"F32": "<f4", "F16": "<f2", "BF16": "<u2"}


class GGUFCheckpoint:
    """Raw tensors of a GGUF model (one file, or the parts of a split one), under the names the families read.

    `hf_config`: the metadata as a config.json-like dict (None for an architecture not mapped); `notes`: what
    a reader should know about how it was read; `kv`: the metadata itself.
    """

    def __init__(self, paths: list[str]):
        self.paths = list(paths)
        missing = [os.path.basename(p) for p in self.paths if not os.path.exists(p)]
        if missing:
            raise LoadError(f"Part {missing[0][:100]} of this split GGUF is missing ({len(missing)} of "
                            f"{len(self.paths)} parts are). Put every part in one folder and open the first.")
        parts = [(path, *read_gguf_header(path)) for path in self.paths]
        parts.sort(key=lambda part: _split_no(part[1]))
        self.kv = parts[0][1]
        _check_split(parts)
        stored: dict[str, GGUFEntry] = {}
        for _, _, entries in parts:
            stored.update(entries)
        renamed, heads, self.hf_config, self.notes = hf_view(self.kv, {n: e.shape for n, e in stored.items()})
        self.entries: dict[str, GGUFEntry] = {}
        for gname, e in stored.items():
            name = renamed.get(gname, gname)
            if name in self.entries:  # a stored name that is also another tensor's Hugging Face name
                raise LoadError(f"{os.path.basename(e.path)}: two tensors read as {name[:100]!r}; the file is "
                                "corrupt.")
            self.entries[name] = replace(e, name=name, heads=heads.get(name))
        self.metadata = {k: str(v)[:200] for k, v in self.kv.items() if not isinstance(v, (list, ArrayInfo))}

    def names(self) -> list[str]:
        return list(self.entries)

    def read(self, name: str) -> np.ndarray:
        """One tensor as float32 in Hugging Face's layout ([out, in]), Q/K rows unpermuted."""
        e = self.entries[name]
        if len(e.shape) == 1:
            x = _decode(self._bytes(e, e.start, e.nbytes), e).reshape(e.shape)
            return _unpermute(x, e.heads) if e.heads else x
        return self._rows(e, 0, e.shape[0])

    def read_rows(self, name: str, start: int, stop: int) -> np.ndarray:
        """Rows start:stop of the first axis as float32, read from their own bytes (one expert of a fused tensor)."""
        e = self.entries[name]
        if not (0 <= start < stop <= e.shape[0]):
            raise IndexError(f"rows {start}:{stop} of {name!r}, which has {e.shape[0]}")
        if len(e.shape) == 1:
            return self.read(name)[start:stop]
        group = e.shape[0] // e.heads if e.heads else 1  # a permuted tensor is read in whole heads
        first, last = start // group * group, -(-stop // group) * group
        return self._rows(e, first, last)[start - first:stop - first].copy()

    def iter_chunks(self, name: str, chunk_elems: int = 1 << 20, ordered: bool = True):
        """Yield one tensor's values, flat, in order, as float32 chunks of at most `chunk_elems`.

        Rows are dequantized DECODE_ELEMS values at a time (fewer calls into gguf's decoder, whose
        per-call cost dominates small pieces), so memory stays at one such piece. `ordered` is accepted
        for `Checkpoint`'s interface: the order is always the tensor's own.
        """
        e = self.entries[name]
        chunk_elems = max(1, int(chunk_elems))
        if len(e.shape) == 1:
            pieces = iter([self.read(name)])
        else:
            group = e.shape[0] // e.heads if e.heads else 1
            per_row = math.prod(e.shape[1:])
            rows = max(group, max(chunk_elems, DECODE_ELEMS) // per_row // group * group)
            pieces = (self._rows(e, r, min(r + rows, e.shape[0])) for r in range(0, e.shape[0], rows))
        for piece in pieces:
            flat = piece.reshape(-1)
            for i in range(0, flat.size, chunk_elems):
                yield flat[i:i + chunk_elems]

    def iter_stored_chunks(self, name: str, chunk_elems: int = 1 << 20):
        """As `iter_chunks`, but F32, F16 and BF16 as stored (their bits, in file order: a permuted tensor's rows
        stay permuted, which order-free statistics do not see); quantized types come dequantized."""
        e = self.entries[name]
        if e.dtype not in _STORED_BITS:
            yield from self.iter_chunks(name, chunk_elems)
            return
        itemsize = np.dtype(_STORED_BITS[e.dtype]).itemsize
        step = max(1, int(chunk_elems)) * itemsize
        for at in range(e.start, e.end, step):
            yield self._bytes(e, at, min(step, e.end - at)).view(_STORED_BITS[e.dtype])

    def _rows(self, e: GGUFEntry, start: int, stop: int) -> np.ndarray:
        """Rows start:stop (whole heads for a permuted tensor) of a tensor of 2+ dims as float32."""
        per_row = e.nbytes // e.shape[0]
        raw = self._bytes(e, e.start + start * per_row, (stop - start) * per_row)
        x = _decode(raw.reshape(-1, e.row_bytes), e).reshape((stop - start, *e.shape[1:]))
        return _unpermute(x, (stop - start) // (e.shape[0] // e.heads)) if e.heads else x

    def _bytes(self, e: GGUFEntry, at: int, n: int) -> np.ndarray:
        buf = np.empty(n, np.uint8)
        try:
            with open(e.path, "rb", buffering=0) as f:
                f.seek(at)
                got = f.readinto(memoryview(buf))
                while got < n and (more := f.readinto(memoryview(buf)[got:])):
                    got += more
        except OSError as err:
            raise LoadError(f"Cannot read {e.name!r} from {os.path.basename(e.path)}: {err.strerror or err}. "
                            "Was the file moved or deleted? Open it again.") from err
        if got != n:
            raise LoadError(f"{os.path.basename(e.path)} ended while reading {e.name!r}; the file was truncated "
                            "after it was opened. Open it again.")
        return buf


def _decode(raw: np.ndarray, e: GGUFEntry) -> np.ndarray:
    """Stored bytes (whole quant blocks) -> float32 values, by gguf's own dequantizer."""
    if e.qtype in _NUMPY_TYPES:
        return raw.view(_NUMPY_TYPES[e.qtype]).astype(np.float32)
    compiled = ggml_kernels.decode(raw, e.qtype.name)  # Q4_K, Q6_K, Q8_0: one compiled pass (same values)
    if compiled is not None:
        return compiled.reshape(raw.shape[0], -1) if raw.ndim == 2 else compiled
    with np.errstate(all="ignore"):  # a NaN or Inf scale decodes to non-finite values: the health topic counts them
        return np.asarray(dequantize(raw, e.qtype), dtype=np.float32)


def _unpermute(x: np.ndarray, heads: int) -> np.ndarray:
    """Undo llama.cpp's `LlamaModel.permute` on rows of whole heads: its converter stores each head's rows
    as (d_head/2, 2) pairs interleaved for its rotary; Hugging Face's order is (2, d_head/2), halves apart."""
    rows = x.shape[0]
    # (heads, d_head/2, 2, ...) -> (heads, 2, d_head/2, ...)
    return np.ascontiguousarray(x.reshape(heads, rows // heads // 2, 2, *x.shape[1:]).swapaxes(1, 2)).reshape(x.shape)


def _split_no(kv: dict) -> int:
    no = kv.get(Keys.Split.LLM_KV_SPLIT_NO, 0)
    return no if type(no) is int else -1


def _check_split(parts: list[tuple[str, dict, dict]]) -> None:
    """The parts of a split GGUF: all there, each once, in order, with the tensor count the first one states."""
    first = parts[0][1]
    count = first.get(Keys.Split.LLM_KV_SPLIT_COUNT, 1)
    nos = [_split_no(p[1]) for p in parts]
    names = ", ".join(os.path.basename(p[0])[:80] for p in parts)
    if not isinstance(count, int) or nos != list(range(len(parts))) or count != len(parts):
        raise LoadError(f"{names[:300]}: a GGUF split into {str(count)[:20]} parts needs all of them, numbered in "
                        f"order ({len(parts)} given). Put every part in one folder and open the first.")
    total = first.get(Keys.Split.LLM_KV_SPLIT_TENSORS_COUNT)
    seen: set[str] = set()
    for path, _, entries in parts:
        dup = seen & entries.keys()
        if dup:
            raise LoadError(f"Tensor {min(dup)[:100]!r} appears in more than one part of {names}; the split is "
                            "corrupt.")
        seen |= entries.keys()
    if len(parts) > 1 and total is not None and total != len(seen):
        raise LoadError(f"{names}: the first part says the model has {total} tensors, the parts hold "
                        f"{len(seen)}; a part is missing or corrupt.")
