"""Spectral diagnostics: our cost against WeightWatcher's analyze() and against the bare eigenvalues.

    python bench/spectral_bench.py            # GPT-2 small's shapes (random init) and the bundled MiniLM

Every case runs in its own subprocess, so its peak RSS (VmHWM of that process) is its own.
Cases, on the matrices WeightWatcher analyses (stored 2-D tensors, >= 8 eigenvalues, <= 50,000 rows):
  weightwatcher    WeightWatcher(model).analyze() with its defaults (no randomisation), model already loaded
  bare eig         for each matrix: read it, its float32 Gram, its eigenvalues with LAPACK (scipy.linalg.eigh,
                   the solver ours uses: 2.5x numpy.linalg.eigvalsh in float32); nothing else
  bare eig pooled  the same on our thread pool (one BLAS thread per matrix): the best the bare cost can be
  ours metrics     every metric (power-law fit, norms, MP fit, effective rank) from one eigendecomposition
  ours + shuffled  the same plus the shuffled copy of each matrix (a second eigendecomposition, by definition)
  ours + heads     the above plus W_Q/W_K/W_V/W_O and the QK/OV circuits of every head, with shuffled copies
Needs weightwatcher (test-only dependency) and transformers for the WeightWatcher case.
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
CASES = ["weightwatcher", "bare eig", "bare eig pooled", "ours metrics", "ours + shuffled", "ours + heads"]


def _peak_mb() -> float:
    """This process's peak RSS. VmHWM, not ru_maxrss: Linux carries ru_maxrss across fork + exec, so a child
    would report the parent's size (the parent holds the GPT-2 it just built)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: kilobytes on Linux only


def _weightwatcher(folder: str) -> dict:
    import logging

    import weightwatcher as ww
    from transformers import AutoModel
    logging.getLogger("weightwatcher").setLevel(logging.ERROR)
    model = AutoModel.from_pretrained(folder).eval()
    start = time.perf_counter()
    details = ww.WeightWatcher(model=model).analyze()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "alphas": dict(zip(details["longname"], details["alpha"].astype(float)))}


def _ours(folder: str, case: str) -> dict:
    from scipy import linalg

    from adapters import open_model
    from topics import spectral_rows
    from topics.executor import LOCAL
    model = open_model(folder)
    names = spectral_rows.stored_names(model, max_rows=50_000)
    start = time.perf_counter()
    alphas = {}
    if case == "bare eig":
        for name in names:
            w = model.raw(name)
            linalg.eigh(w.T @ w if w.shape[0] >= w.shape[1] else w @ w.T, eigvals_only=True, check_finite=False)
    elif case == "bare eig pooled":
        def eig(w):
            return linalg.eigh(w.T @ w if w.shape[0] >= w.shape[1] else w @ w.T, eigvals_only=True,
                               check_finite=False)
        LOCAL.map(((eig, (model.raw(n),)) for n in names), len(names))
    else:
        rows = spectral_rows.stored_rows(model, names, with_shuffled=case != "ours metrics")
        alphas = {r["name"]: r["alpha"] for r in rows}
        if case == "ours + heads":
            spectral_rows.head_rows(model, with_shuffled=True)
    return {"seconds": time.perf_counter() - start, "alphas": alphas}


def _child(case: str, folder: str) -> None:
    out = _weightwatcher(folder) if case == "weightwatcher" else _ours(folder, case)
    out["peak_mb"] = _peak_mb()
    print(json.dumps(out))


def _run(case: str, folder: str) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", case, folder], check=False, capture_output=True, text=True,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONWARNINGS": "ignore"})
    if proc.returncode:
        raise RuntimeError(f"{case} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _gpt2_folder(tmp: str) -> str:
    import torch
    from transformers import GPT2Config, GPT2Model
    torch.manual_seed(0)
    GPT2Model(GPT2Config()).save_pretrained(tmp)
    return tmp


def _agreement(ww_alphas: dict, ours: dict) -> str:
    gaps = [abs(ours[n + ".weight"] - a) for n, a in ww_alphas.items() if n + ".weight" in ours]
    close = sum(g <= 0.05 for g in gaps)
    return f"alpha within 0.05 of WeightWatcher on {close}/{len(ww_alphas)} matrices"


def bench(label: str, folder: str) -> None:
    results = {case: _run(case, folder) for case in CASES}
    ww_s = results["weightwatcher"]["seconds"]
    bare_s = min(results["bare eig"]["seconds"], results["bare eig pooled"]["seconds"])
    print(f"\n{label}  ({len(results['ours metrics']['alphas'])} matrices; "
          f"{_agreement(results['weightwatcher']['alphas'], results['ours metrics']['alphas'])})")
    print(f"{'case':18s} {'seconds':>8s} {'vs WW':>7s} {'vs bare':>8s} {'peak RSS MB':>12s}")
    for case in CASES:
        r = results[case]
        print(f"{case:18s} {r['seconds']:8.2f} {ww_s / r['seconds']:6.1f}x {r['seconds'] / bare_s:7.2f}x "
              f"{r['peak_mb']:12.0f}")


def main() -> None:
    from bundled import minilm_path
    print("vs WW: how many times faster than WeightWatcher; vs bare: our time / the faster bare eigenvalue case")
    with tempfile.TemporaryDirectory() as tmp:
        bench("GPT-2 small shapes (GPT2Config(), random init)", _gpt2_folder(tmp))
    bench("all-MiniLM-L6-v2 (bundled)", minilm_path())


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3])
    else:
        main()
