"""Scan a Llama-2-7B-shaped checkpoint: open time, per-tensor statistics vs `cat`, spectra exact vs fast.

    python bench/make_7b.py && python bench/scan_7b.py            # the full 13.5 GB model
    python bench/scan_7b.py --path /tmp/tiny --exact-layers 0     # any checkpoint folder

Each phase runs in a child process so its peak RSS is its own. Baselines are measured in the
same run: `cat shards > /dev/null` on a warm page cache for the scan (run twice: once to warm,
once timed), and the exact Gram + eigvalsh spectrum for the fast top-k path.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _measure import ROOT, peak_rss_mb, table  # noqa: E402

DEFAULT = os.path.join(ROOT, "bench", "data", "llama7b")


def shard_files(path: str) -> list[str]:
    return sorted(os.path.join(path, f) for f in os.listdir(path) if f.endswith(".safetensors"))


def cat_files(files: list[str]) -> dict:
    """Time `cat files > /dev/null`; its peak RSS from wait4."""
    t0 = time.perf_counter()
    with open(os.devnull, "wb") as null:
        proc = subprocess.Popen(["cat", *files], stdout=null)
        _, status, usage = os.wait4(proc.pid, 0)
    dt = time.perf_counter() - t0
    if status:
        raise SystemExit(f"cat failed with status {status}")
    return {"seconds": dt, "rss_mb": usage.ru_maxrss / 1024}


def phase_open(path: str) -> dict:
    from adapters import open_model
    t0 = time.perf_counter()
    model = open_model(path)
    dt = time.perf_counter() - t0
    return {"seconds": dt, "tensors": len(model.raw_names()), "rss_mb": peak_rss_mb()}


def phase_stats(path: str, workers: int, numpy_only: bool = False) -> dict:
    import numpy as np
    from adapters import open_model
    from analyses import fused
    from topics.scan import PROCESSES, scan, scan_path
    if numpy_only:
        fused._kernels = {}  # as where numba is missing
    model = open_model(path)
    base = peak_rss_mb()
    t0 = time.perf_counter()
    stats = scan(model, workers=workers)
    dt = time.perf_counter() - t0
    nbytes = sum(e.nbytes for e in model.checkpoint.entries.values())
    worst = max(stats, key=lambda s: abs(s.kurtosis or 0))
    # spot check one matrix against numpy (it is read whole here, after the peak was taken)
    import resource
    rss = peak_rss_mb()
    how = scan_path(model.checkpoint)
    # worker processes (large models without numba): each one's peak counts too, as the largest child's,
    # times workers
    child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 if how == PROCESSES else 0.0
    rss += workers * child_mb
    name = model.raw_names()[1]
    x = model.raw(name).astype(np.float64)
    s = next(s for s in stats if s.name == name)
    err = max(abs(s.mean - x.mean()) / x.std(), abs(s.std / x.std() - 1))
    return {"seconds": dt, "bytes": nbytes, "path": how, "values": sum(s.count for s in stats), "rss_mb": rss,
            "rss_before_mb": base, "worker_rss_mb": child_mb, "check_name": name, "check_rel_err": err,
            "max_abs_kurtosis": worst.kurtosis, "tensors": len(stats)}


def _exact_sv(w):
    import numpy as np
    w = w.astype(np.float64)
    g = w.T @ w if w.shape[0] >= w.shape[1] else w @ w.T  # the smaller Gram matrix
    return np.sqrt(np.clip(np.linalg.eigvalsh(g), 0, None))[::-1]


def _top_sv(w, k: int, oversample: int = 16, power: int = 2, seed: int = 0):
    """Randomized range finder (Halko, Martinsson & Tropp 2011, alg. 4.4) for the top-k singular values."""
    import numpy as np
    a = w if w.shape[0] >= w.shape[1] else w.T  # (m, n), m >= n
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(a @ rng.standard_normal((a.shape[1], k + oversample), dtype=np.float32))
    for _ in range(power):
        z, _ = np.linalg.qr(a.T @ q)
        q, _ = np.linalg.qr(a @ z)
    return np.linalg.svd(q.T @ a, compute_uv=False)[:k]


def phase_spectral(path: str, exact_layers: list[int], k: int) -> dict:
    """Top-k singular values of every matrix of `exact_layers`: exact, Lanczos (svds), randomized."""
    import numpy as np
    from scipy.sparse.linalg import svds
    from threadpoolctl import threadpool_limits
    from adapters import open_model
    model = open_model(path)
    mats = [n for n in model.raw_names() if len(model.checkpoint.entries[n].shape) == 2]
    subset = [n for n in mats if any(f".layers.{l}." in n for l in exact_layers)]
    seconds = {"exact": 0.0, "svds": 0.0, "rsvd": 0.0}
    errs = {"svds": [], "rsvd": []}
    with threadpool_limits(1, user_api="blas"):  # 2 shared cores: one BLAS thread is the steadier choice
        for n in subset:
            w = model.raw(n)
            kk = min(k, min(w.shape) - 1)
            for method, fn in (("exact", lambda: _exact_sv(w)[:kk]),
                               ("svds", lambda: np.sort(svds(w, k=kk, return_singular_vectors=False,
                                                             tol=1e-6, random_state=0))[::-1]),
                               ("rsvd", lambda: _top_sv(w, kk))):
                t0 = time.perf_counter()
                got = fn()
                seconds[method] += time.perf_counter() - t0
                if method == "exact":
                    exact = got
                else:
                    errs[method].append(float(np.max(np.abs(got - exact) / exact)))
    return {"matrices": len(mats), "subset": len(subset), "k": k, "seconds": seconds,
            "max_rel_err": {m: max(e, default=None) for m, e in errs.items()}, "rss_mb": peak_rss_mb()}


def child(phase: str, args, numpy_only: bool = False) -> dict:
    cmd = [sys.executable, __file__, "--path", args.path, "--phase", phase, "--workers", str(args.workers),
           "--exact-layers", args.exact_layers, "--k", str(args.k)] + (["--numpy-only"] if numpy_only else [])
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--path", default=DEFAULT)
    ap.add_argument("--phase", choices=["open", "stats", "spectral"], help=argparse.SUPPRESS)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--exact-layers", default="0", help="comma-separated layers for the exact spectra")
    ap.add_argument("--k", type=int, default=64, help="top singular values of the fast path")
    ap.add_argument("--skip-spectral", action="store_true")
    ap.add_argument("--numpy-only", action="store_true", help=argparse.SUPPRESS)  # the stats phase without numba
    args = ap.parse_args()
    layers = [int(l) for l in args.exact_layers.split(",") if l]
    if args.phase:
        fn = {"open": lambda: phase_open(args.path), "stats": lambda: phase_stats(args.path, args.workers, args.numpy_only),
              "spectral": lambda: phase_spectral(args.path, layers, args.k)}[args.phase]
        print(json.dumps(fn()))
        return
    if not os.path.isdir(args.path):
        raise SystemExit(f"{args.path} is missing: run `python bench/make_7b.py` first.")
    files = shard_files(args.path)
    size = sum(os.path.getsize(f) for f in files)
    cat_files(files)  # warm the page cache
    cat = cat_files(files)
    opened = child("open", args)
    stats = child("stats", args)
    numpy_stats = child("stats", args, numpy_only=True)  # the same scan where numba is missing
    cat2 = cat_files(files)  # again after the scans: the cache may have been squeezed meanwhile
    cat_s = min(cat["seconds"], cat2["seconds"])
    rows = [
        {"case": "open (headers + config)", "ours": f"{opened['seconds'] * 1e3:.1f} ms", "baseline": "",
         "ratio": "", "peak RSS MB": opened["rss_mb"]},
        *({"case": f"stats scan{label}, {run['tensors']} tensors, {size / 1e9:.2f} GB",
           "ours": f"{run['bytes'] / run['seconds'] / 1e9:.2f} GB/s ({run['seconds']:.1f} s)",
           "baseline": f"cat: {size / cat_s / 1e9:.2f} GB/s ({cat_s:.1f} s)",
           "ratio": round(cat_s / run["seconds"], 3), "peak RSS MB": run["rss_mb"]}
          for run, label in ((stats, ""), (numpy_stats, " without numba"))),
    ]
    if not args.skip_spectral:
        sp = child("spectral", args)
        ex = sp["seconds"]["exact"]
        for method, label in (("svds", "Lanczos (scipy svds, tol 1e-6)"),
                              ("rsvd", "randomized (16 oversamples, 2 power its)")):
            rows.append({"case": f"top-{sp['k']} singular values, {sp['subset']} matrices of layer(s) "
                                 f"{args.exact_layers}: {label}",
                         "ours": f"{sp['seconds'][method]:.1f} s, max rel err {sp['max_rel_err'][method]:.1e}",
                         "baseline": f"exact Gram+eigvalsh {ex:.1f} s",
                         "ratio": round(sp["seconds"][method] / max(ex, 1e-9), 3), "peak RSS MB": sp["rss_mb"]})
    print(table(rows, ["case", "ours", "baseline", "ratio", "peak RSS MB"]))
    print("ratio: for the scan, our throughput / cat's (target >= 0.5, peak RSS target < 2048 MB); "
          "for spectra, fast time / exact time")
    print(f"scan spot check ({stats['check_name']} vs numpy): max relative error {stats['check_rel_err']:.2e}; "
          f"scan path: {stats['path']} (without numba: {numpy_stats['path']}); RSS before the scan {stats['rss_before_mb']:.0f} MB; "
          + "".join(f"peak RSS{label} = parent + {args.workers} x {run['worker_rss_mb']:.0f} MB (largest worker "
                    "process); " for run, label in ((stats, ""), (numpy_stats, " without numba"))
                    if run["worker_rss_mb"]) + f"cat peak RSS {cat['rss_mb']:.1f} MB; "
          f"cat runs {cat['seconds']:.1f} s / {cat2['seconds']:.1f} s (before / after the scan)")
    if not args.skip_spectral:
        print(f"spectra: {sp['matrices']} matrices in all; exact and fast paths timed on the {sp['subset']} of "
              f"layer(s) {args.exact_layers} only (the exact pass over all would take hours on 2 shared cores); "
              "BLAS on one thread.")

if __name__ == "__main__":
    main()
