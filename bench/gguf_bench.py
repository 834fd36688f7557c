"""A synthetic GGUF with Llama-2-7B's shapes: open time, the statistics scan against `cat`, peak RSS.

    python bench/gguf_bench.py                          # Q4_K, ~3.8 GB in a temp folder, removed afterwards
    python bench/gguf_bench.py --type Q8_0 --keep /tmp/q8   # ~7.2 GB, kept
    python bench/gguf_bench.py --layers 2               # a quick run on the same code path

The file is written with the gguf package's writer, streaming: every tensor's info first, then each
tensor's data as it is made (the largest, the embedding, is ~74 MB in Q4_K), so writing never holds the
model. Blocks are random but valid (finite f16 scales, random quants): a 7B model is too slow to quantize
with gguf's numpy quantizer, and the scan's cost does not depend on the values. Norms are F32, as
llama.cpp writes them. Each phase runs in a child process so its peak RSS is its own.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _measure import peak_rss_mb, table  # noqa: E402
from make_7b import D_MODEL, D_MLP, LAYERS, N_HEADS, VOCAB  # noqa: E402
from scan_7b import cat_files  # noqa: E402


def gguf_shapes(n_layers: int) -> list[tuple[str, tuple[int, ...]]]:
    """Llama-2-7B's tensors under GGUF names, numpy order ([out, in])."""
    out = [("token_embd.weight", (VOCAB, D_MODEL))]
    for l in range(n_layers):
        b = f"blk.{l}."
        out += [(b + "attn_q.weight", (D_MODEL, D_MODEL)), (b + "attn_k.weight", (D_MODEL, D_MODEL)),
                (b + "attn_v.weight", (D_MODEL, D_MODEL)), (b + "attn_output.weight", (D_MODEL, D_MODEL)),
                (b + "ffn_gate.weight", (D_MLP, D_MODEL)), (b + "ffn_up.weight", (D_MLP, D_MODEL)),
                (b + "ffn_down.weight", (D_MODEL, D_MLP)), (b + "attn_norm.weight", (D_MODEL,)),
                (b + "ffn_norm.weight", (D_MODEL,))]
    return out + [("output_norm.weight", (D_MODEL,)), ("output.weight", (VOCAB, D_MODEL))]


def random_blocks(rng, qtype, shape):
    """Valid stored bytes of `shape` in qtype: random quants, f16 scales set to finite small values."""
    import numpy as np
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType as Q
    block, size = GGML_QUANT_SIZES[qtype]
    raw = rng.integers(0, 256, (shape[0], shape[1] // block, size), dtype=np.uint8)
    scale_bytes = {Q.Q8_0: slice(0, 2), Q.Q4_K: slice(0, 4)}[qtype]  # d (Q8_0); d and dmin (Q4_K)
    n = scale_bytes.stop // 2
    raw[..., scale_bytes] = np.full((*raw.shape[:2], n), 0.0005, np.float16).view(np.uint8)
    return raw.reshape(shape[0], -1)


def write(path: str, qtype_name: str, n_layers: int) -> None:
    import numpy as np
    import gguf
    from gguf import GGMLQuantizationType as Q
    qtype = Q[qtype_name]
    rng = np.random.default_rng(0)
    w = gguf.GGUFWriter(path, "llama")
    w.add_block_count(n_layers)
    w.add_context_length(4096)
    w.add_embedding_length(D_MODEL)
    w.add_feed_forward_length(D_MLP)
    w.add_head_count(N_HEADS)
    w.add_head_count_kv(N_HEADS)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_freq_base(10000.0)
    tensors = gguf_shapes(n_layers)
    for name, shape in tensors:  # infos first: the header holds every offset
        if len(shape) == 2:
            byte_shape = gguf.quants.quant_shape_to_byte_shape(shape, qtype)
            w.add_tensor_info(name, byte_shape, np.dtype(np.uint8), byte_shape[0] * byte_shape[1], raw_dtype=qtype)
        else:
            w.add_tensor_info(name, shape, np.dtype(np.float32), shape[0] * 4)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    for name, shape in tensors:  # then the data, one tensor at a time
        data = random_blocks(rng, qtype, shape) if len(shape) == 2 else \
            (1 + 0.1 * rng.standard_normal(shape)).astype(np.float32)
        w.write_tensor_data(data)
    w.close()


def phase_open(path: str) -> dict:
    from adapters import open_model
    t0 = time.perf_counter()
    model = open_model(path)
    return {"seconds": time.perf_counter() - t0, "arch": model.arch, "tensors": len(model.raw_names()),
            "rss_mb": peak_rss_mb()}


def phase_stats(path: str, workers: int) -> dict:
    import numpy as np
    from adapters import open_model
    from topics.scan import scan, scan_path
    model = open_model(path)
    base = peak_rss_mb()
    t0 = time.perf_counter()
    stats = scan(model, workers=workers)
    dt = time.perf_counter() - t0
    rss = peak_rss_mb()
    name = "model.layers.0.self_attn.q_proj.weight"  # spot check one matrix against numpy, after the peak
    x = model.raw(name).astype(np.float64)
    s = next(s for s in stats if s.name == name)
    err = max(abs(s.mean - x.mean()) / x.std(), abs(s.std / x.std() - 1))
    values = sum(s.count for s in stats)
    return {"seconds": dt, "values": values, "path": scan_path(model.checkpoint), "rss_mb": rss,
            "rss_before_mb": base, "check_rel_err": err, "tensors": len(stats)}


def child(phase: str, path: str, workers: int) -> dict:
    cmd = [sys.executable, __file__, "--phase", phase, "--file", path, "--workers", str(workers)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--type", default="Q4_K", choices=["Q4_K", "Q8_0"])
    ap.add_argument("--layers", type=int, default=LAYERS)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--keep", help="write into this folder and keep the file")
    ap.add_argument("--phase", choices=["open", "stats"], help=argparse.SUPPRESS)
    ap.add_argument("--file", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        print(json.dumps(phase_open(args.file) if args.phase == "open" else phase_stats(args.file, args.workers)))
        return
    folder = args.keep or tempfile.mkdtemp(prefix="gguf-bench-")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"llama7b-shapes-{args.type}.gguf")
    try:
        t0 = time.perf_counter()
        write(path, args.type, args.layers)
        wrote = time.perf_counter() - t0
        size = os.path.getsize(path)
        cat_files([path])  # warm the page cache
        cat = cat_files([path])
        opened = child("open", path, args.workers)
        stats = child("stats", path, args.workers)
        cat2 = cat_files([path])
        cat_s = min(cat["seconds"], cat2["seconds"])
        rows = [{"case": "open (header + metadata -> config)", "ours": f"{opened['seconds'] * 1e3:.0f} ms",
                 "baseline": "", "ratio": "", "peak RSS MB": opened["rss_mb"]},
                {"case": f"stats scan, {stats['tensors']} tensors, {size / 1e9:.2f} GB {args.type}",
                 "ours": f"{size / stats['seconds'] / 1e9:.3f} GB/s, {stats['values'] / stats['seconds'] / 1e6:.0f} "
                         f"M values/s ({stats['seconds']:.1f} s)",
                 "baseline": f"cat: {size / cat_s / 1e9:.2f} GB/s ({cat_s:.1f} s)",
                 "ratio": round(cat_s / stats["seconds"], 4), "peak RSS MB": stats["rss_mb"]}]
        print(table(rows, ["case", "ours", "baseline", "ratio", "peak RSS MB"]))
        print(f"{args.layers} layers; file written in {wrote:.0f} s; scan path: {stats['path']}; RSS before the scan "
              f"{stats['rss_before_mb']:.0f} MB; spot check (layer 0 W_Q vs numpy): max relative error "
              f"{stats['check_rel_err']:.1e}; cat runs {cat['seconds']:.1f} s / {cat2['seconds']:.1f} s")
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
