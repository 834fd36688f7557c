"""Hand-made safetensors bytes, valid or broken on purpose, for the bad-input and fuzz tests."""
from __future__ import annotations

import json
import struct

import numpy as np

ITEMSIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1,
            "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1}


def pack(header, data: bytes = b"") -> bytes:
    """8-byte little-endian length + header (a dict as JSON, or raw bytes) + data."""
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


def valid(tensors: dict[str, np.ndarray], metadata: dict | None = None) -> bytes:
    """A well-formed file holding float32/float16 arrays, laid out back to back."""
    codes = {np.dtype("float32"): "F32", np.dtype("float16"): "F16", np.dtype("int64"): "I64",
             np.dtype("uint8"): "U8"}
    header, data = {}, b""
    for name, arr in tensors.items():
        blob = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": codes[arr.dtype], "shape": list(arr.shape),
                        "data_offsets": [len(data), len(data) + len(blob)]}
        data += blob
    if metadata is not None:
        header["__metadata__"] = metadata
    return pack(header, data)


def sample() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {"a.weight": rng.standard_normal((4, 6)).astype(np.float32),
            "b.bias": rng.standard_normal(6).astype(np.float16),
            "c.weight": rng.standard_normal((3, 2, 2)).astype(np.float32)}


def header_length(blob: bytes) -> int:
    return struct.unpack("<Q", blob[:8])[0]
