"""Comparing two GPT-2-small-sized checkpoints (548 MB of float32 each) streams tensor by tensor.

    python bench/compare_bench.py [--keep DIR]

Writes two GPT2Config() checkpoints (random weights; B = A plus a rank-8 change of every layer's c_attn and
noise on one MLP), then times topics.compare.compute and prints its peak RSS beside a baseline measured in the
same run: reading every tensor of both files once (the I/O floor). Memory is compared with one model's size.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench._measure import peak_rss_mb  # noqa: E402


def make(folder: str) -> tuple[str, str]:
    import numpy as np
    import torch
    from safetensors.numpy import load_file, save_file
    from transformers import GPT2Config, GPT2LMHeadModel

    a, b = os.path.join(folder, "a"), os.path.join(folder, "b")
    if not os.path.exists(os.path.join(b, "model.safetensors")):
        torch.manual_seed(0)
        GPT2LMHeadModel(GPT2Config()).save_pretrained(a)
        tensors = load_file(os.path.join(a, "model.safetensors"))
        rng = np.random.default_rng(0)
        for l in range(12):
            w = tensors[f"transformer.h.{l}.attn.c_attn.weight"]  # Conv1D [768, 2304]
            w += (rng.normal(size=(768, 8)) @ rng.normal(size=(8, 2304)) * 1e-3).astype(np.float32)
        tensors["transformer.h.5.mlp.c_fc.weight"] += rng.normal(size=(768, 3072)).astype(np.float32) * 1e-3
        os.makedirs(b, exist_ok=True)
        save_file(tensors, os.path.join(b, "model.safetensors"), metadata={"format": "pt"})
        del tensors
        import shutil
        shutil.copy(os.path.join(a, "config.json"), b)
    return a, b


def child(kind: str, a: str, b: str) -> None:
    """One measurement in a fresh process, so each peak RSS is its own."""
    from adapters import open_model
    from topics import compare

    ma, mb = open_model(a), open_model(b)
    start = time.perf_counter()
    if kind == "read":
        for m in (ma, mb):
            for name in m.raw_names():
                m.checkpoint.read(name)
        detail = ""
    else:
        result = compare.compute(ma, mb)
        low = result.low_rank()
        detail = f"{len(result.diffs)} tensors, {len(result.heads)} head rows, {len(low)} low-rank changes"
    print(f"{kind}\t{time.perf_counter() - start:.2f}\t{peak_rss_mb():.0f}\t{detail}")


def main() -> None:
    import subprocess

    parser = argparse.ArgumentParser()
    parser.add_argument("--keep", default=None, help="folder for the two checkpoints (kept between runs)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    folder = args.keep or tempfile.mkdtemp(prefix="compare-bench-")
    a, b = make(folder)
    size = os.path.getsize(os.path.join(a, "model.safetensors")) / 1e6
    rows = {}
    for kind in ("read", "compare"):
        out = subprocess.run([sys.executable, __file__, "--child", kind, a, b], capture_output=True, text=True,
                             check=True).stdout.splitlines()[-1]
        _, seconds, rss, detail = out.split("\t")
        rows[kind] = (float(seconds), float(rss), detail)
    print(f"one model: {size:.0f} MB of float32")
    for kind, (seconds, rss, detail) in rows.items():
        print(f"{kind:<8} {seconds:6.2f} s  peak RSS {rss:5.0f} MB ({rss / size:.2f} x one model)  {detail}")
    print(f"compare / read time: {rows['compare'][0] / rows['read'][0]:.1f} x")


if __name__ == "__main__":
    main()
