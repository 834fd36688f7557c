"""The full report vs the blog notebook's own pipeline, on GPT-2 small's exact shapes.

    python bench/report_bench.py [--repeat 2] [--folder bench/data/gpt2_small]

A GPT2Config() GPT2LMHeadModel (124M parameters, random init: real weights cannot be downloaded
here) is saved with save_pretrained to --folder once. Each case then runs in a fresh child process,
timed from its start to its exit (imports included on both sides), with the child's own peak RSS
(VmHWM). Cases are interleaved, so both see the same machine load; the best of --repeat is shown.

- notebook: from_pretrained, then what the notebook computed: a KS test of layer 0's c_attn against
  a fitted normal; StandardScaler + PCA of c_attn in layers 0-2 and 9-11; mean/std/min/max of c_attn
  per layer; per-row variances of c_attn per layer; Ward clustering of the 12 "heads" of those 6
  layers (c_attn cut into 12 blocks of 192 columns, flattened); Pearson r of each position
  embedding with the next.
- report, cold: `report.py FOLDER --out TMP` with an empty cache: every analysis for every layer.
- report, cached: the same command again (sections and the Vega bundle read from the cache).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _measure import ROOT, peak_rss_mb, table  # noqa: E402
from report import TOPICS  # noqa: E402

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


def report(folder: str, out: str, only: str | None) -> dict:
    from report import main as report_main

    argv = [folder, "--out", out] + (["--only", only] if only else [])
    if report_main(argv) != 0:
        raise SystemExit("report.py failed")
    return {"rss_mb": peak_rss_mb()}


def run_child(args: list[str], env: dict) -> dict:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, "--child", *args], check=True, capture_output=True,
                         text=True, env={**os.environ, "HF_HUB_OFFLINE": "1", **env}, cwd=ROOT)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["seconds"] = time.perf_counter() - start
    result["topics"] = dict(re.findall(r"^(\S+(?: topics\))?)\s+([\d.]+) s", out.stderr, re.M))
    return result


def save_gpt2(folder: str) -> None:
    if os.path.exists(os.path.join(folder, "model.safetensors")):
        return
    from transformers import GPT2Config, GPT2LMHeadModel
    GPT2LMHeadModel(GPT2Config()).save_pretrained(folder)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--folder", default=os.path.join(ROOT, "bench", "data", "gpt2_small"))
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, *rest = args.child
        result = notebook(*rest) if kind == "notebook" else report(rest[0], rest[1], rest[2] if len(rest) > 2 else None)
        print(json.dumps(result))
        return
    save_gpt2(args.folder)
    cases = ["notebook", "report, cold", "report, cached", "report minus spectral, cold"]
    runs = {c: [] for c in cases}
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="report_bench_") as tmp:
            env = {"XDG_CACHE_HOME": os.path.join(tmp, "cache")}  # empty: a cold report
            out = os.path.join(tmp, "out")
            runs["notebook"].append(run_child(["notebook", args.folder], {}))
            runs["report, cold"].append(run_child(["report", args.folder, out], env))
            runs["report, cached"].append(run_child(["report", args.folder, out], env))
            other = ",".join(t for t in TOPICS if t != "spectral")
            env2 = {"XDG_CACHE_HOME": os.path.join(tmp, "cache2")}
            runs["report minus spectral, cold"].append(run_child(["report", args.folder, out, other], env2))
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
