"""The full report vs the blog notebook's own pipeline, on GPT-2 small's exact shapes.

    python bench/report_bench.py [--repeat 2] [--folder bench/data/gpt2_small]

A GPT2Config() GPT2LMHeadModel (124M parameters, random init: real weights cannot be downloaded
here) is saved with save_pretrained to --folder once. Each case then runs in a fresh child process,
timed from its start to its exit (imports included on both sides), with its peak RSS: the largest sum
over its process tree (report.py's second process included), sampled every 20 ms, or its own VmHWM.
Cases are interleaved, so both see the same machine load; the best of --repeat is shown.

- notebook: from_pretrained, then what the notebook computed: a KS test of layer 0's c_attn against
  a fitted normal; StandardScaler + PCA of c_attn in layers 0-2 and 9-11; mean/std/min/max of c_attn
  per layer; per-row variances of c_attn per layer; Ward clustering of the 12 "heads" of those 6
  layers (c_attn cut into 12 blocks of 192 columns, flattened); Pearson r of each position
  embedding with the next.
- report, cold: `report.py FOLDER --out TMP` with no cached results: every analysis for every layer.
  The Vega script the HTML inlines is the same for every report, so it is installed already (built
  once per vl-convert release into the tool's assets, as on any machine that has made a report).
- report, cached: the same command again (every section read from the results cache).
- report --shuffled, cold: with the spectral topic's element-wise shuffled baselines (opt-in, as
  WeightWatcher's randomize), which take a second decomposition of every matrix and head.
- report, first run: cold, the Vega script not installed yet, so this report builds it (~1.5 s), and
  the statistics scan's numba kernel not compiled yet (an empty NUMBA_CACHE_DIR; ~0.3 s for float32).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _measure import ROOT, peak_rss_mb, table  # noqa: E402

NOTEBOOK_LAYERS = [0, 1, 2, 9, 10, 11]


def notebook(folder: str) -> dict:
    """The blog notebook's pipeline, as it did it (torch weights -> numpy, sklearn, scipy)."""
    import numpy as np
    from scipy import stats
    from scipy.cluster.hierarchy import linkage
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler
    from transformers import GPT2LMHeadModel

    model = GPT2LMHeadModel.from_pretrained(folder)
    sd = model.state_dict()
    c_attn = [sd[f"transformer.h.{l}.attn.c_attn.weight"].detach().numpy() for l in range(12)]  # (768, 2304)
    w0 = c_attn[0].ravel()
    mu, sigma = stats.norm.fit(w0)
    stats.kstest(w0, "norm", args=(mu, sigma))
    for l in NOTEBOOK_LAYERS:
        PCA().fit(StandardScaler().fit_transform(c_attn[l]))
    [(w.mean(), w.std(), w.min(), w.max()) for w in c_attn]
    [w.var(axis=1) for w in c_attn]
    heads = np.concatenate([np.stack([c_attn[l][:, h * 192:(h + 1) * 192].ravel() for h in range(12)])
                            for l in NOTEBOOK_LAYERS])  # (72, 147456)
    linkage(heads, "ward")
    wpe = sd["transformer.wpe.weight"].detach().numpy()
    [stats.pearsonr(wpe[i], wpe[i + 1]) for i in range(len(wpe) - 1)]
    return {"rss_mb": peak_rss_mb()}


def report(folder: str, out: str, *flags: str) -> dict:
    from report import main as report_main

    if report_main([folder, "--out", out, *flags]) != 0:
        raise SystemExit("report.py failed")
    return {"rss_mb": peak_rss_mb()}


def run_child(args: list[str], env: dict) -> dict:
    """Run one case in a fresh process; its peak RSS is its whole process tree's (the report's worker too)."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--child", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1", **env},
                            cwd=ROOT)
    peak = [0.0]
    sampler = threading.Thread(target=_sample_tree_rss, args=(proc.pid, peak), daemon=True)
    sampler.start()
    stdout, stderr = proc.communicate()
    seconds = time.perf_counter() - start
    sampler.join()
    if proc.returncode:
        raise SystemExit(f"case {args[0]} failed:\n{stderr}")
    result = json.loads(stdout.strip().splitlines()[-1])
    result["seconds"] = seconds
    # the sum of the tree's RSS, sampled every 20 ms, or the main process's own VmHWM if higher
    result["rss_mb"] = max(result["rss_mb"], peak[0])
    result["topics"] = dict(re.findall(r"^(\S+(?: topics\))?)\s+([\d.]+) s", stderr, re.M))
    return result


def _sample_tree_rss(pid: int, peak: list) -> None:
    import psutil

    try:
        root = psutil.Process(pid)
        while root.is_running() and root.status() != psutil.STATUS_ZOMBIE:
            total = 0
            for p in [root, *root.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            peak[0] = max(peak[0], total / 2**20)
            time.sleep(0.02)
    except psutil.Error:
        pass


def save_gpt2(folder: str) -> None:
    if os.path.exists(os.path.join(folder, "model.safetensors")):
        return
    from transformers import GPT2Config, GPT2LMHeadModel
    GPT2LMHeadModel(GPT2Config()).save_pretrained(folder)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--folder", default=os.path.join(ROOT, "bench", "data", "gpt2_small"))
    ap.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, *rest = args.child
        result = notebook(*rest) if kind == "notebook" else report(*rest)
        print(json.dumps(result))
        return
    save_gpt2(args.folder)
    cases = ["notebook", "report, cold", "report, cached", "report --shuffled, cold", "report, first run"]
    runs = {c: [] for c in cases}
    from reporting.html import bundle_name, vega_bundle
    bundle = vega_bundle()
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="report_bench_") as tmp:
            caches = {c: os.path.join(tmp, f"cache{i}") for i, c in enumerate(cases)}
            for case, cache in caches.items():  # no results; the Vega bundle installed, except on a first run
                if case != "report, first run":
                    os.makedirs(os.path.join(cache, "weights-explorer", "assets"))
                    with open(os.path.join(cache, "weights-explorer", "assets", bundle_name()), "w") as f:
                        f.write(bundle)
            env = {c: {"XDG_CACHE_HOME": cache} for c, cache in caches.items()}
            env["report, first run"]["NUMBA_CACHE_DIR"] = os.path.join(tmp, "numba")  # empty: compiles
            out = os.path.join(tmp, "out")
            runs["notebook"].append(run_child(["notebook", args.folder], {}))
            runs["report, cold"].append(run_child(["report", args.folder, out], env["report, cold"]))
            runs["report, cached"].append(run_child(["report", args.folder, out], env["report, cold"]))
            runs["report --shuffled, cold"].append(run_child(["report", args.folder, out, "--shuffled"],
                                                             env["report --shuffled, cold"]))
            runs["report, first run"].append(run_child(["report", args.folder, out], env["report, first run"]))
    best = {c: min(runs[c], key=lambda r: r["seconds"]) for c in cases}
    base = best["notebook"]
    rows = [{"case": c, "ours": f"{best[c]['seconds']:.2f} s",
             "baseline": f"notebook {base['seconds']:.2f} s" if c != "notebook" else "",
             "ratio": round(best[c]["seconds"] / base["seconds"], 3) if c != "notebook" else None,
             "peak RSS MB": f"{best[c]['rss_mb']:.0f} vs {base['rss_mb']:.0f}" if c != "notebook"
             else f"{base['rss_mb']:.0f}"} for c in cases]
    print(f"GPT-2 small shapes ({args.folder}), each case a fresh process timed start to exit, best of {args.repeat}")
    print(table(rows, ["case", "ours", "baseline", "ratio", "peak RSS MB"]))
    print("\nper-topic seconds of the best cold report (report.py's stderr):")
    print("  " + ", ".join(f"{k} {v}" for k, v in best["report, cold"]["topics"].items()))
    print("all runs (s): " + "; ".join(f"{c} " + ", ".join(f"{r['seconds']:.2f}" for r in runs[c]) for c in cases))


if __name__ == "__main__":
    main()
