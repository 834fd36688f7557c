"""The bounded parse of a GGUF file's header (metadata and tensor index) into entries, before anything large is
allocated: every count, string and array length, dimension, type, alignment and offset is checked against the
file. gguf's own `GGUFReader` maps the whole file instead (mapped pages count as resident memory).

    kv, entries = read_gguf_header("model-Q4_K_M.gguf")    # metadata, {gguf name: GGUFEntry}
"""
from __future__ import annotations

import math
import os
import struct
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from gguf import GGML_QUANT_SIZES, GGUF_DEFAULT_ALIGNMENT, GGMLQuantizationType, GGUFValueType, Keys
from gguf.quants import dequantize

from .byte_range import ByteRange
from .checkpoint import MAX_TENSORS, check_shape
from .errors import LoadError

MAX_HEADER_BYTES = 64 << 20  # metadata + tensor index; a Llama-3 or Qwen3 GGUF's is under 10 MB (vocabulary, merges)
MAX_STRING_BYTES = 16 << 20  # a chat template is tens of kB; GGUF keys and tensor names are short
MAX_ITEMS = 4_000_000  # keys, tensors and array elements parsed in all: a bound on the parse's time
MAX_DIMS = 4  # GGML_MAX_DIMS
MAX_ALIGNMENT = 1 << 20
KEPT_ARRAY = 4096  # longer arrays (vocabularies, merges) are kept as their length only
# value type -> struct format; the type codes are gguf's (GGUFValueType), the formats little-endian
_SCALARS = {GGUFValueType.UINT8: "<B", GGUFValueType.INT8: "<b", GGUFValueType.UINT16: "<H",
            GGUFValueType.INT16: "<h", GGUFValueType.UINT32: "<I", GGUFValueType.INT32: "<i",
            GGUFValueType.FLOAT32: "<f", GGUFValueType.BOOL: "<?", GGUFValueType.UINT64: "<Q",
            GGUFValueType.INT64: "<q", GGUFValueType.FLOAT64: "<d"}
# ggml types gguf.quants does not decode but numpy can (integer tensors, float64)
_NUMPY_TYPES = {GGMLQuantizationType.I8: "i1", GGMLQuantizationType.I16: "<i2", GGMLQuantizationType.I32: "<i4",
                GGMLQuantizationType.I64: "<i8", GGMLQuantizationType.F64: "<f8"}
_U64 = struct.Struct("<Q")


@dataclass(frozen=True)
class ArrayInfo:
    """A metadata array too long to keep (a vocabulary): its element type and length."""
    type: int  # a GGUFValueType's value
    count: int


@dataclass(frozen=True)
class GGUFEntry(ByteRange):
    """One GGUF tensor: `name` as the families expect (Hugging Face's), or the GGUF name when the architecture is
    not mapped; `dtype` the ggml type's name ('Q4_K'); `shape` in numpy order (GGUF stores dims fastest first)."""
    gguf_name: str = ""
    heads: int | None = None  # rows permuted by llama.cpp's converter in groups of this many heads (undone on read)

    @property
    def stored(self) -> str:
        return self.dtype

    @property
    def disk_bytes(self) -> int:
        return self.end - self.start

    @property
    def bits_per_weight(self) -> float:
        block, size = GGML_QUANT_SIZES[GGMLQuantizationType[self.dtype]]
        return 8 * size / block

    @property
    def scales(self) -> str:
        """How the stored values are scaled, in words ('' for plain numbers), as `TensorEntry.scales` says it."""
        block = GGML_QUANT_SIZES[self.qtype][0]
        return f"scales inside each {block}-value block" if block > 1 else ""

    @property
    def qtype(self) -> GGMLQuantizationType:
        return GGMLQuantizationType[self.dtype]

    @property
    def row_bytes(self) -> int:
        """Bytes of one run of shape[-1] values (whole quant blocks: shape[-1] is a multiple of the block)."""
        block, size = GGML_QUANT_SIZES[self.qtype]
        return self.shape[-1] // block * size


class _Cursor:
    """Bounded reads through a file's header: every length is checked against the file before it is read."""

    def __init__(self, f, fname: str, size: int):
        self.f, self.fname, self.size = f, fname, size
        self.pos, self.items = 0, 0
        self._buf, self._base = b"", 0

    def take(self, n: int, what: str) -> memoryview:
        local = self._window(n, what)
        self.pos += n
        return memoryview(self._buf)[local:local + n]

    def skip(self, n: int, what: str) -> None:
        """Step over n bytes without reading them (a long array's elements)."""
        self._check_end(self.pos + n, what)
        self.pos += n

    def skip_strings(self, n: int, what: str) -> None:
        """Step over n strings reading only their lengths: a vocabulary's 150k tokens in a fraction of a second."""
        length = _U64.unpack_from
        for _ in range(n):
            local = self._window(8, what)  # first: it may read the buffer afresh
            (k,) = length(self._buf, local)
            if k > MAX_STRING_BYTES:
                self._too_long(what, k, MAX_STRING_BYTES)
            self.pos += 8 + k
        self._check_end(self.pos, what)

    def _window(self, n: int, what: str) -> int:
        """Where the n bytes at `pos` start in the buffer, reading the file on from `pos` when they are not in it."""
        self._check_end(self.pos + n, what)
        local = self.pos - self._base
        if local + n > len(self._buf):
            self.f.seek(self.pos)
            self._buf, self._base, local = self.f.read(max(n, 1 << 20)), self.pos, 0
            if len(self._buf) < n:
                raise LoadError(f"{self.fname} ended while its header was read; it was truncated. Open it again.")
        return local

    def _check_end(self, end: int, what: str) -> None:
        if end > self.size:
            raise LoadError(f"{self.fname} is truncated: it ends inside its header ({what}). Re-download it.")
        if end > MAX_HEADER_BYTES:
            raise LoadError(f"{self.fname}: its header runs past {MAX_HEADER_BYTES >> 20} MB ({what}); no real GGUF "
                            "header is that large, so the file is corrupt.")

    def _too_long(self, what: str, n: int, limit: int):
        raise LoadError(f"{self.fname}: {what} claims a string of {n:,} bytes (limit {limit:,}); the file is corrupt.")

    def scalar(self, vtype: GGUFValueType, what: str):
        fmt = _SCALARS[vtype]
        return struct.unpack(fmt, self.take(struct.calcsize(fmt), what))[0]

    def string(self, what: str, limit: int = MAX_STRING_BYTES, keep: bool = True) -> str | None:
        n = self.scalar(GGUFValueType.UINT64, what)
        if n > limit:
            self._too_long(what, n, limit)
        if not keep:
            return self.skip(n, what)
        return bytes(self.take(n, what)).decode("utf-8", errors="replace")

    def count(self, n: int, min_bytes: int, what: str) -> None:
        """Refuse `n` items of at least `min_bytes` each that cannot fit in the rest of the file, or that would
        take the parse past its work budget."""
        self.items += n
        if n * min_bytes > self.size - self.pos or self.items > MAX_ITEMS:
            raise LoadError(f"{self.fname}: {what} claims {n:,} entries, more than the file can hold; the file is "
                            "truncated or corrupt. Re-download it.")


def _value(cur: _Cursor, vtype: int, what: str, depth: int = 0, keep: bool = True):
    """One metadata value: a scalar, a string, a short array as a list, a long one as `ArrayInfo` (its elements
    stepped over, not kept: a vocabulary); None when not `keep`."""
    if vtype in _SCALARS:
        return cur.scalar(GGUFValueType(vtype), what)
    if vtype == GGUFValueType.STRING:
        return cur.string(what, keep=keep)
    if vtype != GGUFValueType.ARRAY or depth > 1:
        raise LoadError(f"{cur.fname}: {what} has value type {vtype}, which GGUF does not define; the file is "
                        "corrupt or from a newer GGUF version.")
    etype = cur.scalar(GGUFValueType.UINT32, what)
    n = cur.scalar(GGUFValueType.UINT64, what)
    keep = keep and n <= KEPT_ARRAY
    if etype in _SCALARS:
        size = struct.calcsize(_SCALARS[GGUFValueType(etype)])
        cur.count(1, n * size, what)  # one bulk step: the elements are not parsed one by one
        if not keep:
            cur.skip(n * size, what)
            return ArrayInfo(etype, n)
        return np.frombuffer(cur.take(n * size, what), _SCALARS[GGUFValueType(etype)]).tolist()
    cur.count(n, 8, what)  # a string is at least its 8-byte length; an array at least 12 bytes
    if etype == GGUFValueType.STRING and not keep:
        cur.skip_strings(n, what)
        return ArrayInfo(etype, n)
    values = [_value(cur, etype, what, depth + 1, keep) for _ in range(n)]  # a bad etype has raised if n > 0
    return values if keep else ArrayInfo(etype, n)


def read_gguf_header(path: str) -> tuple[dict, dict[str, GGUFEntry]]:
    """Parse and validate one GGUF file's header: (metadata by key, entries by GGUF tensor name).

    Raises LoadError for anything that is not a well-formed GGUF file, before allocating anything large.
    """
    fname = os.path.basename(path)
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            cur = _Cursor(f, fname, size)
            if not f.read(4).startswith(b"GGUF"[:min(size, 4)]) or size == 0:
                raise LoadError(f"{fname} is not a GGUF file (it does not start with 'GGUF'). Give a .gguf file "
                                "written by llama.cpp or the gguf package.")
            cur.take(4, "magic")
            version = cur.scalar(GGUFValueType.UINT32, "version")
            if version not in (2, 3):
                raise LoadError(f"{fname} is GGUF version {version}" + (" in big-endian byte order" if
                                version & 0xFFFF == 0 else "") + "; versions 2 and 3, little-endian, are read. "
                                "Re-convert it with a current llama.cpp.")
            n_tensors = cur.scalar(GGUFValueType.UINT64, "tensor count")
            n_kv = cur.scalar(GGUFValueType.UINT64, "metadata count")
            if n_tensors > MAX_TENSORS:
                raise LoadError(f"{fname} lists {n_tensors:,} tensors (limit {MAX_TENSORS:,}); the file is corrupt.")
            cur.count(n_kv, 13, "the metadata")  # key length 8 + one character + type 4 + a 1-byte value
            kv: dict = {}
            for _ in range(n_kv):
                key = cur.string("a metadata key", 65535)
                if key in kv:
                    raise LoadError(f"{fname}: metadata key {key[:100]!r} appears twice; the file is corrupt.")
                kv[key] = _value(cur, cur.scalar(GGUFValueType.UINT32, key[:100]), f"metadata {key[:100]!r}")
            cur.count(n_tensors, 24, "the tensor index")  # name length 8 + n_dims 4 + type 4 + offset 8
            infos = [_tensor_info(cur) for _ in range(n_tensors)]
            header_end = cur.pos
    except OSError as e:
        raise LoadError(f"Cannot read {path}: {e.strerror or e}.") from e
    alignment = kv.get(Keys.General.ALIGNMENT, GGUF_DEFAULT_ALIGNMENT)
    if type(alignment) is not int or not 0 < alignment <= MAX_ALIGNMENT or alignment & (alignment - 1):
        raise LoadError(f"{fname}: general.alignment {str(alignment)[:40]} is not a power of two up to "
                        f"{MAX_ALIGNMENT:,}; the file is corrupt.")
    data_start = -(-header_end // alignment) * alignment
    entries: dict[str, GGUFEntry] = {}
    for name, ne, type_id, offset in infos:
        if name in entries:
            raise LoadError(f"{fname}: tensor {name[:100]!r} is listed twice; the file is corrupt.")
        entries[name] = _entry(fname, path, name, ne, type_id, offset, alignment, data_start, size)
    spans = sorted((e.start, e.end, e.name) for e in entries.values() if e.end > e.start)
    for (_, end0, n0), (start1, _, n1) in zip(spans, spans[1:]):
        if start1 < end0:
            raise LoadError(f"{fname}: tensors {n0[:100]!r} and {n1[:100]!r} overlap; the file is corrupt.")
    return kv, entries


def _tensor_info(cur: _Cursor) -> tuple[str, tuple[int, ...], int, int]:
    name = cur.string("a tensor name", 1024)
    n_dims = cur.scalar(GGUFValueType.UINT32, f"tensor {name[:100]!r}")
    if not 1 <= n_dims <= MAX_DIMS:
        raise LoadError(f"{cur.fname}: tensor {name[:100]!r} has {n_dims:,} dimensions (GGUF allows 1 to "
                        f"{MAX_DIMS}); the file is corrupt.")
    ne = tuple(cur.scalar(GGUFValueType.UINT64, f"tensor {name[:100]!r}") for _ in range(n_dims))
    type_id = cur.scalar(GGUFValueType.UINT32, f"tensor {name[:100]!r}")
    return name, ne, type_id, cur.scalar(GGUFValueType.UINT64, f"tensor {name[:100]!r}")


def _entry(fname: str, path: str, name: str, ne: tuple[int, ...], type_id: int, offset: int, alignment: int,
           data_start: int, size: int) -> GGUFEntry:
    where = f"{fname}, tensor {name[:100]!r}"
    shape = tuple(reversed(ne))  # GGUF: fastest dimension first; numpy: last
    check_shape(where, shape)
    if 0 in shape:  # ggml has no empty tensors
        raise LoadError(f"{where}: shape {list(shape)} has a dimension of 0; the file is corrupt.")
    try:
        qtype = GGMLQuantizationType(type_id)
    except ValueError:
        raise LoadError(f"{where}: ggml type {type_id} is not one the gguf package knows; the file is corrupt or "
                        "from a newer llama.cpp (upgrade the gguf package).") from None
    if not _decodable(qtype):
        raise LoadError(f"{where} is stored as {qtype.name}, which the gguf package cannot dequantize; "
                        "re-quantize the model to another type (Q8_0, Q4_K, ...).")
    block, type_size = GGML_QUANT_SIZES[qtype]
    if ne[0] % block:
        raise LoadError(f"{where}: rows of {ne[0]:,} values are not whole {qtype.name} blocks of {block}; the file "
                        "is corrupt.")
    nbytes = ne[0] // block * type_size * math.prod(ne[1:])
    start = data_start + offset
    if offset % alignment or start + nbytes > size:
        raise LoadError(f"{where}: its data at offset {offset:,} ({nbytes:,} bytes) is "
                        + ("not aligned" if offset % alignment else f"past the end of the file ({size:,} bytes)")
                        + "; the file is truncated or corrupt. Re-download it.")
    return GGUFEntry(name, qtype.name, shape, path, start, start + nbytes, gguf_name=name)


@lru_cache(maxsize=None)
def _decodable(qtype: GGMLQuantizationType) -> bool:
    """Whether a type can be turned into float32: numpy's own types, or one block through gguf.quants."""
    if qtype in _NUMPY_TYPES:
        return True
    try:
        dequantize(np.zeros((1, GGML_QUANT_SIZES[qtype][1]), np.uint8), qtype)
        return True
    except (NotImplementedError, ValueError, KeyError):
        return False
