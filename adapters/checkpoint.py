"""A lazy view of the raw tensors in one or more safetensors files (or a torch .bin, safely).

Opening parses and validates only the JSON header. A tensor is read when asked for, by
reading its byte range into a fresh buffer (not through one long-lived memory map: mapped
pages count as resident memory while mapped, so a whole-model scan would grow to the
file's size), and converted to float32.
"""
from __future__ import annotations

import itertools
import json
import math
import os
import struct
from dataclasses import dataclass

import numpy as np

from . import quantized
from .byte_range import ByteRange
from .dtypes import DTYPES, chunk_decoder, from_torch, to_float32
from .errors import LoadError

# The safetensors library itself refuses headers over 100 MB; real ones are under 5 MB (a header
# entry is ~100 bytes, so 25 MB already holds more than MAX_TENSORS). Parsing JSON costs several
# times its size in Python objects, so the bound is kept well below the library's.
MAX_HEADER_BYTES = 25 * 1024 * 1024
MAX_TENSORS = 200_000
MAX_DIMS = 32  # numpy stops at 64; no real tensor has more than a handful
MAX_ELEMENTS = 2**40  # no real tensor is this large; it guards products that overflow int64
# An empty tensor stores nothing, but code that sizes arrays by its other dims would allocate their product:
# real empty tensors ([0], [0, d_model]) are far below this.
MAX_EMPTY_SPAN = 2**24


def check_shape(where: str, shape) -> None:
    """Refuse a shape no real tensor has: over MAX_DIMS dims, over MAX_ELEMENTS elements (counting a zero dim
    as 1, since numpy still multiplies the others), or empty with other dims over MAX_EMPTY_SPAN."""
    if len(shape) > MAX_DIMS:
        raise LoadError(f"{where}: {len(shape)} dimensions (limit {MAX_DIMS}); the file is corrupt.")
    numel, span = 1, 1
    for d in shape:  # Python ints do not overflow; check before trusting the product
        numel, span = numel * d, span * max(d, 1)
    if span > MAX_ELEMENTS or (numel == 0 and span > MAX_EMPTY_SPAN):
        raise LoadError(f"{where}: shape {str(list(shape))[:80]} is larger than any real tensor; the file is "
                        "corrupt.")


@dataclass(frozen=True)
class TensorEntry(ByteRange):
    """Where one tensor lives: file, dtype, shape and absolute byte range.

    Every format's entries answer `stored` (the stored type's name: 'BF16', 'F8_E4M3', 'MXFP4', a GGUF 'Q4_K'),
    `bits_per_weight` and `disk_bytes` (what the tensor really takes on disk, its scales included), which the
    architecture page and report show. A weight stored with scales (adapters/quantized.py) has them in `quant`;
    its shape is then the decoded tensor's, and reading it applies them.
    """
    # dtype: a DTYPES key, or a quantized format's name ("MXFP4") for a folded entry
    quant: quantized.Scaled | None = None  # scales folded in: how the values are stored

    @property
    def stored(self) -> str:
        return (self.quant.stored if self.quant else "") or self.dtype

    @property
    def disk_bytes(self) -> int:
        return self.quant.disk_bytes if self.quant else self.nbytes

    @property
    def bits_per_weight(self) -> float:
        return 8 * self.disk_bytes / max(self.numel, 1)

    @property
    def scales(self) -> str:
        """How the stored values are scaled, in words ('128x128 block scales (F32)'); '' when they are not."""
        return self.quant.layout if self.quant else ""


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
                raise LoadError(f"{name} is empty or shorter than a safetensors header ({size} bytes). "
                                "Check that the file was saved or copied completely.")
            (n,) = struct.unpack("<Q", head)
            if n > MAX_HEADER_BYTES or 8 + n > size:
                raise _bad_length(name, head, n, size)
            raw = f.read(n)
    except OSError as e:
        raise LoadError(f"Cannot read {path}: {e.strerror or e}.") from e
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates(name))
    except LoadError:
        raise
    except (UnicodeDecodeError, ValueError, RecursionError) as e:  # ValueError: also ints of 4300+ digits
        raise LoadError(f"{name}: the header is not valid JSON, so this is not a safetensors file "
                        "(or it is corrupt). Re-download or re-save it.") from e
    if not isinstance(header, dict):
        raise LoadError(f"{name}: the header is not a JSON object; not a safetensors file.")
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict):
        raise LoadError(f"{name}: __metadata__ must be a JSON object; the file is corrupt.")
    if len(header) > MAX_TENSORS:
        raise LoadError(f"{name} lists {len(header):,} tensors (limit {MAX_TENSORS:,}); "
                        "this is not a checkpoint this app can open.")
    data_start, data_len = 8 + n, size - 8 - n
    entries = {key: _entry(name, key, info, path, data_start, data_len) for key, info in header.items()}
    _check_no_overlap(name, entries.values())
    return entries, {str(k): str(v) for k, v in meta.items()}


def _no_duplicates(fname: str):
    """A json object hook that refuses a key given twice (json.loads would silently keep the last)."""
    def build(pairs: list) -> dict:
        out = dict(pairs)
        if len(out) != len(pairs):
            seen: set = set()
            dup = next(k for k, _ in pairs if k in seen or seen.add(k))
            raise LoadError(f"{fname}: the header names {dup[:100]!r} twice; the file is corrupt or was "
                            "tampered with. Re-download it.")
        return out
    return build


def _bad_length(name: str, head: bytes, n: int, size: int) -> LoadError:
    """Why the first 8 bytes are not a usable header length, said for people."""
    if n > MAX_HEADER_BYTES:
        # Only now look for other formats: a real header length this large cannot be one of them.
        if head[:1] == b"\x80" or head[:4] == b"PK\x03\x04":  # pickle protocol byte / zip of torch.save
            return LoadError(f"{name} is a pickle / torch.save file, not safetensors. Convert it to "
                             ".safetensors, or open it as a .bin file (or a folder holding pytorch_model.bin) "
                             "so the safe loader is used.")
        return LoadError(f"{name} is not a safetensors file: its first 8 bytes give a header of {n:,} bytes "
                         f"(limit {MAX_HEADER_BYTES:,}). Give a .safetensors file or a folder holding one.")
    return LoadError(f"{name} is truncated: its header needs {8 + n:,} bytes, the file has {size:,}. "
                     "Re-download or re-copy it.")


def _entry(fname: str, key: str, info, path: str, data_start: int, data_len: int) -> TensorEntry:
    where = f"{fname}, tensor {key[:100]!r}"
    if not isinstance(info, dict):
        raise LoadError(f"{where}: entry is not an object.")
    dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    if not isinstance(dtype, str) or dtype not in DTYPES:
        raise LoadError(f"{where}: unsupported dtype {str(dtype)[:40]!r} (supported: {', '.join(DTYPES)}). "
                        "Convert the checkpoint to one of these (e.g. with torch, to float16).")
    if not (isinstance(shape, list) and len(shape) <= MAX_DIMS and all(type(d) is int and d >= 0 for d in shape)):
        raise LoadError(f"{where}: shape {str(shape)[:80]} is not a list of at most {MAX_DIMS} non-negative "
                        "integers; the file is corrupt.")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int for o in offsets)):
        raise LoadError(f"{where}: data_offsets {str(offsets)[:80]} is not a pair of integers; the file is corrupt.")
    check_shape(where, shape)
    numel = math.prod(shape)
    begin, end = offsets
    if not 0 <= begin <= end <= data_len:
        raise LoadError(f"{where}: byte range {begin}..{end} lies outside the file's data "
                        f"({data_len:,} bytes); the file is truncated or corrupt. Re-download it.")
    if end - begin != numel * DTYPES[dtype].itemsize:
        raise LoadError(f"{where}: {end - begin:,} bytes do not hold shape {shape} of {dtype}; "
                        "the file is corrupt.")
    return TensorEntry(key, dtype, tuple(shape), path, data_start + begin, data_start + end)


def _check_no_overlap(fname: str, entries) -> None:
    spans = sorted((e.start, e.end, e.name) for e in entries if e.end > e.start)
    for (_, e0, n0), (s1, _, n1) in itertools.pairwise(spans):
        if s1 < e0:
            raise LoadError(f"{fname}: tensors {n0!r} and {n1!r} overlap; the file is corrupt.")


class Checkpoint:
    """Raw tensors of one checkpoint, possibly sharded over several safetensors files.

    `config` (config.json) gives the FP8 block size where a scale grid alone cannot; weights stored with scales
    are folded into one entry each (adapters/quantized.py) and read with their scales applied.
    """

    def __init__(self, paths: list[str], config: dict | None = None):
        self.paths = list(paths)
        self.entries: dict[str, TensorEntry] = {}
        self.metadata: dict[str, str] = {}
        for path in self.paths:
            entries, meta = read_header(path)
            dup = self.entries.keys() & entries.keys()
            if dup:
                raise LoadError(f"Tensor {min(dup)!r} appears in more than one shard; the shard index is wrong.")
            self.entries.update(entries)
            self.metadata.update(meta)
        self.entries = quantized.fold(self.entries, config, _stored_rows)

    def names(self) -> list[str]:
        return list(self.entries)

    def read(self, name: str) -> np.ndarray:
        """One tensor as float32, read from its byte range only (a quantized one with its scales applied)."""
        e = self.entries[name]
        if e.quant is not None:
            return quantized.decode_rows(e.quant, _stored_rows, 0, e.shape[0])
        return to_float32(_stored_rows(e), e.dtype).reshape(e.shape)

    def read_rows(self, name: str, start: int, stop: int) -> np.ndarray:
        """Rows start:stop of a tensor's first axis as float32, read from their own bytes only (one expert of
        a fused [n_experts, ...] tensor; of a quantized one, its rows' scales only)."""
        e = self.entries[name]
        if not (0 <= start < stop <= e.shape[0]):
            raise IndexError(f"rows {start}:{stop} of {name!r}, which has {e.shape[0]}")
        if e.quant is not None:
            return quantized.decode_rows(e.quant, _stored_rows, start, stop)
        return to_float32(_stored_rows(e, start, stop), e.dtype)

    def iter_chunks(self, name: str, chunk_elems: int = 1 << 20, ordered: bool = True):
        """Yield one tensor's values, flat, as float32 chunks of at most `chunk_elems`.

        The byte range is read piece by piece into one buffer reused for every chunk, so memory
        stays at one chunk whatever the tensor's size; each yielded array is overwritten by the
        next, so copy it to keep it. Example: `sum(c.sum() for c in ckpt.iter_chunks("wte.weight"))`.
        With `ordered=False` each chunk holds the same values in another order (bf16: the even
        positions, then the odd ones, decoded by one pass each over the bits read as uint32 pairs,
        ~30% faster than in order): for order-free reductions such as statistics.
        (Decoding straight from a memory map instead of a read buffer was measured too: 17% faster
        alone, no faster with two readers at once, and a file truncated while mapped is a SIGBUS.)
        """
        e = self.entries[name]
        if e.quant is not None:
            yield from self._decoded_chunks(name, int(chunk_elems), ordered)
            return
        out = np.empty(max(1, min(int(chunk_elems), e.numel)), dtype=np.float32)
        bits = out if e.dtype == "F32" else np.empty(out.size, dtype=DTYPES[e.dtype].bits)
        decode = chunk_decoder(bits, e.dtype, out, ordered)
        for n in self._fill(name, bits):
            yield decode(n)

    def iter_stored_chunks(self, name: str, chunk_elems: int = 1 << 20):
        """As `iter_chunks`, in order, but each chunk as stored: bf16 as its uint16 bits, F16 as float16, ...

        For a consumer that decodes as it goes (`analyses.fused`), so no float32 copy is made. A quantized entry
        has no such chunks (its stored values mean nothing without their scales): use `iter_chunks`.
        """
        e = self.entries[name]
        if e.quant is not None:
            raise ValueError(f"{name!r} is stored {e.stored} with scales; read it with iter_chunks")
        bits = np.empty(max(1, min(int(chunk_elems), e.numel)), dtype=DTYPES[e.dtype].bits)
        for n in self._fill(name, bits):
            yield bits[:n]

    def _decoded_chunks(self, name: str, chunk_elems: int, ordered: bool):
        """A quantized tensor's values, flat (in order unless `ordered` is False), at most `chunk_elems` a chunk:
        whole rows of its first axis are decoded together (one expert, or a block of a matrix's rows), so a chunk
        of rows (what spectral streaming asks for) stays rows."""
        e = self.entries[name]
        per_row = max(1, math.prod(e.shape[1:]))
        step = max(1, chunk_elems // per_row)
        for first in range(0, e.shape[0], step):
            flat = quantized.decode_rows(e.quant, _stored_rows, first, min(first + step, e.shape[0]), ordered)
            flat = flat.reshape(-1)
            for at in range(0, flat.size, max(1, chunk_elems)):
                yield flat[at:at + chunk_elems]

    def _fill(self, name: str, bits: np.ndarray):
        """Read tensor `name`'s bytes into `bits` a buffer at a time, yielding the values read each time."""
        e = self.entries[name]
        itemsize = DTYPES[e.dtype].itemsize
        raw = memoryview(bits).cast("B")
        try:
            with open(e.path, "rb", buffering=0) as f:
                f.seek(e.start)
                for first in range(0, e.numel, bits.size):
                    n = min(bits.size, e.numel - first)
                    want = n * itemsize
                    got = f.readinto(raw[:want])
                    while got < want and (step := f.readinto(raw[got:want])):
                        got += step
                    if got != want:
                        raise LoadError(f"{os.path.basename(e.path)} ended while reading {name!r}; the file "
                                        "was truncated after it was opened. Open it again.")
                    yield n
        except OSError as err:
            raise LoadError(f"Cannot read {name!r} from {os.path.basename(e.path)}: {err.strerror or err}. "
                            "Was the file moved or deleted? Open it again.") from err


def _stored_rows(e: TensorEntry, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Rows start:stop of a plain entry's first axis (all of it by default) as stored, [stop - start, *shape[1:]]:
    bf16 as uint16 bits, fp8 as bytes, ..."""
    stop = (e.shape[0] if e.shape else 1) if stop is None else stop
    per_row = math.prod(e.shape[1:])
    itemsize = DTYPES[e.dtype].itemsize
    bits = np.empty((stop - start) * per_row, dtype=DTYPES[e.dtype].bits)
    try:
        with open(e.path, "rb") as f:
            f.seek(e.start + start * per_row * itemsize)
            got = f.readinto(memoryview(bits).cast("B"))
    except OSError as err:
        raise LoadError(f"Cannot read {e.name!r} from {os.path.basename(e.path)}: {err.strerror or err}. "
                        "Was the file moved or deleted? Open it again.") from err
    if got != bits.nbytes:
        raise LoadError(f"{os.path.basename(e.path)} ended while reading {e.name!r}; the file was truncated "
                        "after it was opened. Open it again.")
    return bits.reshape((stop - start, *e.shape[1:]) if e.shape else ())


def _check_torch_tensor(where: str, t, file_size: int) -> None:
    """The safetensors limits, from a torch tensor's metadata only (its storage is memory-mapped, unread):
    dtype, dims, elements, and the bytes it would read as against the bytes its storage holds. A view with
    stride 0 or overlapping strides reads as more than it stores (a 4-byte storage can read as 4 TiB)."""
    import torch

    if from_torch(t.dtype) is None:
        raise LoadError(f"{where}: unsupported dtype {t.dtype} (supported: {', '.join(DTYPES)}).")
    if t.layout is not torch.strided:
        raise LoadError(f"{where}: a {t.layout} tensor; only dense tensors are opened.")
    shape = tuple(t.shape)
    check_shape(where, shape)
    numel, itemsize = math.prod(shape), t.element_size()
    stored = t.untyped_storage().nbytes()
    if stored > file_size:
        raise LoadError(f"{where}: its storage claims {stored:,} bytes, more than the file's {file_size:,}; "
                        "the file is corrupt.")
    if numel == 0:
        return
    if any(st < 0 for st in t.stride()):
        raise LoadError(f"{where}: negative strides; the file is corrupt.")
    last = t.storage_offset() + sum((d - 1) * st for d, st in zip(shape, t.stride()))
    if (last + 1) * itemsize > stored or numel * itemsize > stored:
        raise LoadError(f"{where}: shape {list(shape)} with strides {list(t.stride())} reads as "
                        f"{numel * itemsize:,} bytes from a storage of {stored:,} (a stride-0 or overlapping view). "
                        "Save the tensor with .contiguous().clone(), or convert the checkpoint to .safetensors.")


class TorchCheckpoint:
    """A pickle-format checkpoint opened with torch's safe loader only (weights_only=True).

    weights_only=True unpickles nothing but tensors, containers and primitives: a pickle that
    asks for any other callable (os.system, open, ...) is refused before it runs.
    """

    def __init__(self, paths: list[str]):
        import torch  # only this fallback needs torch

        self.paths = list(paths)
        self.metadata: dict[str, str] = {}
        self._tensors: dict = {}
        for path in self.paths:
            fname = os.path.basename(path)
            try:
                state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
            except Exception as e:  # torch raises many types for refused or broken pickles
                first = (str(e).splitlines() or [type(e).__name__])[0][:200]
                raise LoadError(f"{fname} could not be loaded safely (torch.load with weights_only=True "
                                f"refused it: {first}). Only plain tensor checkpoints are opened; "
                                "convert it to .safetensors.") from e
            if isinstance(state, dict):
                state = next((state[k] for k in ("state_dict", "model") if isinstance(state.get(k), dict)), state)
            if not isinstance(state, dict):
                raise LoadError(f"{fname} does not hold a dict of tensors; save a state dict instead.")
            if len(self._tensors) + len(state) > MAX_TENSORS:
                raise LoadError(f"{fname} holds {len(self._tensors) + len(state):,} entries (limit "
                                f"{MAX_TENSORS:,}); this is not a checkpoint this app can open.")
            seen: set = set()
            for key, t in state.items():
                if isinstance(t, torch.Tensor):
                    _check_torch_tensor(f"{fname}, tensor {str(key)[:100]!r}", t, os.path.getsize(path))
                    view = (t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape), t.stride())
                    if t.numel() and view in seen:
                        # A second name for the same memory (a tied lm_head saved by torch.save): left out, as
                        # transformers' safetensors files leave it out, so the family sees it as tied.
                        continue
                    seen.add(view)
                    self._tensors[str(key)] = t
        self.entries = {k: TensorEntry(k, from_torch(t.dtype), tuple(t.shape), "", 0,
                                       t.numel() * t.element_size()) for k, t in self._tensors.items()}

    def names(self) -> list[str]:
        return list(self._tensors)

    def read_rows(self, name: str, start: int, stop: int) -> np.ndarray:
        return self.read(name, slice(start, stop))  # the memory map reads only the pages the slice touches

    def read(self, name: str, rows: slice | None = None) -> np.ndarray:
        import torch

        t = self._tensors[name] if rows is None else self._tensors[name][rows]
        if t.is_floating_point() and t.dtype != torch.float32:
            t = t.float()  # bf16 and fp8 have no numpy dtype
        return t.numpy().astype(np.float32, copy=True)
