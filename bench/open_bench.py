"""Opening GPT-2 small: adapters.open_model vs transformers' from_pretrained on the same files.

    python bench/open_bench.py [--repeat 3]

A GPT2Config() model (124M parameters, ~500 MB of float32 safetensors) is saved to a temporary
folder once; each open then runs in a fresh child process (imports done first, not timed) so
both sides start cold in Python and warm in the page cache, and each has its own peak RSS.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _measure import peak_rss_mb, table  # noqa: E402


def child(kind: str, folder: str) -> dict:
    if kind == "ours":
        from adapters import open_model
        t0 = time.perf_counter()
        model = open_model(folder)
        opened = time.perf_counter() - t0
        model.weight("blocks.0.attn.W_Q")  # then read one slot (fused qkv split into heads)
        return {"seconds": opened, "first_weight": time.perf_counter() - t0 - opened, "rss_mb": peak_rss_mb()}
    else:
        from transformers import GPT2LMHeadModel
        t0 = time.perf_counter()
        GPT2LMHeadModel.from_pretrained(folder)
    return {"seconds": time.perf_counter() - t0, "rss_mb": peak_rss_mb()}


def save_gpt2(folder: str) -> int:
    from transformers import GPT2Config, GPT2LMHeadModel
    GPT2LMHeadModel(GPT2Config()).save_pretrained(folder)
    return sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    with tempfile.TemporaryDirectory(prefix="gpt2_small_") as folder:
        size = save_gpt2(folder)
        runs = {"ours": [], "transformers": []}
        for _ in range(args.repeat):  # interleaved, so both see the same machine load
            for kind in runs:
                out = subprocess.run([sys.executable, __file__, "--child", kind, folder], check=True,
                                     capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
                runs[kind].append(json.loads(out.stdout.strip().splitlines()[-1]))
    ours, theirs = (min(runs[k], key=lambda r: r["seconds"]) for k in ("ours", "transformers"))
    print(table([{"case": f"open GPT-2 small ({size / 1e6:.0f} MB safetensors), best of {args.repeat}",
                  "ours": f"{ours['seconds'] * 1e3:.1f} ms", "baseline": f"from_pretrained {theirs['seconds'] * 1e3:.0f} ms",
                  "ratio": round(ours["seconds"] / theirs["seconds"], 4),
                  "peak RSS MB": f"{ours['rss_mb']:.0f} vs {theirs['rss_mb']:.0f}"}],
                ["case", "ours", "baseline", "ratio", "peak RSS MB"]))
    print(f"ours, then reading blocks.0.attn.W_Q (fused c_attn, split to heads): "
          f"{min(r['first_weight'] for r in runs['ours']) * 1e3:.1f} ms more")
    print("all runs (s): ours " + ", ".join(f"{r['seconds']:.4f}" for r in runs["ours"])
          + "; transformers " + ", ".join(f"{r['seconds']:.3f}" for r in runs["transformers"]))


if __name__ == "__main__":
    main()
