"""A schema matrix's Gram matrix and its eigenvalues through torch: on the GPU when there is one.

    if gpu_linalg.active():                          # a CUDA device (or WEIGHTS_LINALG=torch: torch on the CPU)
        evals = gpu_linalg.eigenvalues(w)            # == analyses.spectral.eigenvalues(w), to float rounding

The precision rule is analyses.spectral's, so both paths compute the same thing: float64 for Gram matrices of
at most 192 columns or values too large for a float32 Gram, float32 (Gram and eigvalsh) otherwise, whose
error (~1e-6 of lambda_max) is far below the tail the power-law fit reads. A streamed matrix's block Grams are
float32 products summed in float64, as there. Everything else (the fit, the heads' small stacked problems)
stays on the CPU path, whose cost is the per-matrix decompositions this module takes.

WEIGHTS_LINALG chooses: "auto" (default: torch on CUDA when a device is present), "torch" (torch, on CUDA if
present, else on the CPU: how the tests run this path), "numpy" (never torch).
"""
from __future__ import annotations

import os
from functools import lru_cache

import numpy as np

from analyses.spectral import _F32_GRAM_LIMIT, _PRECISE_BELOW, _fits_float32_gram


@lru_cache(maxsize=1)
def device() -> str | None:
    """'cuda', 'cpu' (WEIGHTS_LINALG=torch without a GPU), or None: the numpy path."""
    mode = os.environ.get("WEIGHTS_LINALG", "auto")
    if mode == "numpy":
        return None
    # auto: torch is imported (~1 s) only where a GPU driver is, so a CPU machine's report does not pay for it
    if mode == "auto" and not (os.path.exists("/dev/nvidiactl") or os.path.exists("/dev/nvidia0")):
        return None
    import torch

    if torch.cuda.is_available():
        return "cuda"
    return "cpu" if mode == "torch" else None


def active() -> bool:
    return device() is not None


def _symmetric_eigenvalues(gram) -> np.ndarray:
    """Ascending eigenvalues of a torch symmetric matrix, as float64 numpy, clipped at 0 (as the numpy path)."""
    import torch

    return np.clip(torch.linalg.eigvalsh(gram).cpu().numpy().astype(np.float64), 0.0, None)


def eigenvalues(w: np.ndarray, precise: bool | None = None) -> np.ndarray:
    """analyses.spectral.eigenvalues(w, precise) computed by torch on device(): the min(N, M) values s^2, ascending."""
    import torch

    w = np.asarray(w)
    if precise is None:
        precise = min(w.shape) <= _PRECISE_BELOW or not _fits_float32_gram(w)
    # a copy (torch.tensor): the weights are read-only numpy arrays, which torch will not share
    t = torch.tensor(np.asarray(w, dtype=np.float64 if precise else np.float32), device=device())
    gram = t.T @ t if t.shape[0] >= t.shape[1] else t @ t.T  # (M, M), M the smaller side
    return _symmetric_eigenvalues(gram)


def streamed_eigenvalues(row_blocks, n_cols: int) -> np.ndarray:
    """analyses.spectral.streamed_eigenvalues on device(): blocks of rows of a tall matrix, one at a time."""
    import torch

    gram = torch.zeros((n_cols, n_cols), dtype=torch.float64, device=device())
    for block in row_blocks:
        block = np.asarray(block).reshape(-1, n_cols)  # (k, M)
        dtype = np.float32 if _fits_float32_gram(block) else np.float64
        t = torch.tensor(np.asarray(block, dtype=dtype), device=device())  # the block may be a reused buffer
        gram += (t.T @ t).to(torch.float64)
    small_entries = not n_cols or float(gram.abs().max()) < _F32_GRAM_LIMIT
    if n_cols > _PRECISE_BELOW and small_entries:
        gram = gram.to(torch.float32)
    return _symmetric_eigenvalues(gram)
