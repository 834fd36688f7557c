"""The spectral scan on the local executor, on Ray, and on the GPU when there is one, in one run.

    python bench/ray_bench.py                      # GPT-2 small's shapes (GPT2Config(), random init)
    python bench/ray_bench.py --cases gpt2,tinyllama   # also TinyLlama-1.1B's shapes: 2.2 GB of bf16 (bench/data)
    python bench/ray_bench.py --ray-address auto   # Ray: an existing cluster instead of a local instance

Each case is spectral.compute(model) (every schema matrix and every head, no shuffled copies), the numbers
the report's spectral section and metrics.parquet hold. Ray is timed twice: the first scan includes starting
its workers (each imports numpy/scipy and opens the checkpoint), the second is the steady state a long scan
sees. Peak RSS is that of each Ray worker (VmHWM, read in the worker) against one matrix's size.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
DATA = os.path.join(ROOT, "bench", "data")
# TinyLlama-1.1B: 22 layers, d_model 2048, 32 heads of 64, 4 kv heads, d_mlp 5632, vocab 32000
TINYLLAMA = {"layers": 22, "d_model": 2048, "heads": 32, "kv_heads": 4, "d_mlp": 5632, "vocab": 32000}


def gpt2_folder() -> str:
    folder = os.path.join(DATA, "gpt2_small")
    if not os.path.exists(os.path.join(folder, "model.safetensors")):
        from transformers import GPT2Config, GPT2LMHeadModel
        GPT2LMHeadModel(GPT2Config()).save_pretrained(folder)
    return folder


def tinyllama_folder() -> str:
    """TinyLlama's exact tensor names and shapes, bf16, random (bench/make_7b.py's writer, grouped K and V)."""
    from bench import make_7b

    folder, s = os.path.join(DATA, "tinyllama"), TINYLLAMA
    if os.path.exists(os.path.join(folder, "config.json")):
        return folder
    os.makedirs(folder, exist_ok=True)
    d_kv = s["d_model"] // s["heads"] * s["kv_heads"]
    tensors = [(n, (d_kv, s["d_model"]) if n.endswith(("k_proj.weight", "v_proj.weight")) else shape)
               for n, shape in make_7b.shapes(s["layers"], s["d_model"], s["d_mlp"], s["vocab"])]
    make_7b.write_shard(os.path.join(folder, "model.safetensors"), tensors, np.random.default_rng(0))
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": s["d_model"],
              "intermediate_size": s["d_mlp"], "num_attention_heads": s["heads"], "num_key_value_heads": s["kv_heads"],
              "num_hidden_layers": s["layers"], "vocab_size": s["vocab"], "max_position_embeddings": 2048,
              "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "hidden_act": "silu", "tie_word_embeddings": False}
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f)
    return folder


def _worker_peak_mb(_):
    """A Ray task's worker's peak RSS (VmHWM), in MB."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) / 1024 for line in f if line.startswith("VmHWM:"))


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def bench(label: str, folder: str, address: str | None, ray_scans: int = 2) -> None:
    from adapters import open_model
    from topics import gpu_linalg, spectral
    from topics.executor import Executor
    from topics.ray_executor import RayExecutor, connect

    model = open_model(folder)
    biggest = max(np.prod(t.shape) * 4 for t in model.tensors() if len(t.shape) == 2) / 2**20
    print(f"\n{label}: {folder} ({sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder)) / 1e9:.2f} GB,"
          f" largest matrix {biggest:.0f} MB as float32)")
    os.environ["WEIGHTS_LINALG"] = "numpy"
    gpu_linalg.device.cache_clear()
    local_s, local = timed(lambda: spectral.compute(model, executor=Executor()))
    print(f"  local ({os.cpu_count()} threads)   {local_s:8.1f} s")
    start_s, _ = timed(lambda: connect(address))
    executor = RayExecutor(address)
    first_s, on_ray = timed(lambda: spectral.compute(model, executor=executor))
    again_s = timed(lambda: spectral.compute(model, executor=executor))[0] if ray_scans > 1 else first_s
    import ray
    peaks = executor.map(((_worker_peak_mb, (i,)) for i in range(16)), 16)
    cpus = int(ray.cluster_resources().get("CPU", 0))
    second = f", second {again_s:.1f} s" if ray_scans > 1 else ""
    print(f"  ray ({cpus} CPUs): start {start_s:.1f} s, first scan {first_s:.1f} s{second} "
          f"(local / ray: {local_s / again_s:.2f}x); worker peak RSS {max(peaks):.0f} MB")
    assert on_ray.slots == local.slots and on_ray.heads == local.heads, "Ray's rows differ from the local ones"
    os.environ["WEIGHTS_LINALG"] = "auto"
    gpu_linalg.device.cache_clear()
    if gpu_linalg.device() == "cuda":
        gpu_s, _ = timed(lambda: spectral.compute(model, executor=Executor()))
        print(f"  GPU (torch, CUDA)  {gpu_s:8.1f} s (local / GPU: {local_s / gpu_s:.2f}x)")
    else:
        print("  GPU: none here (torch sees no CUDA device)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default="gpt2", help="comma-separated: gpt2, tinyllama (the 2.2 GB checkpoint)")
    ap.add_argument("--ray-scans", type=int, default=2, help="Ray scans per case (the first includes worker start)")
    ap.add_argument("--ray-address", default=None)
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    cases = args.cases.split(",")
    if "gpt2" in cases:
        bench("GPT-2 small shapes", gpt2_folder(), args.ray_address, args.ray_scans)
    if "tinyllama" in cases:
        bench("TinyLlama-1.1B shapes", tinyllama_folder(), args.ray_address, args.ray_scans)


if __name__ == "__main__":
    main()
