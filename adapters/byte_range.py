"""Where one stored tensor lives: its name, stored type, shape and byte range in a file. The entries of every
format (safetensors' TensorEntry, GGUF's GGUFEntry) are one of these with what their format adds."""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class ByteRange:
    name: str
    dtype: str  # the stored type's name: 'F32', 'BF16', a quantized format ('MXFP4', 'Q4_K')
    shape: tuple[int, ...]  # numpy order
    path: str
    start: int  # absolute offset in the file
    end: int

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.end - self.start
