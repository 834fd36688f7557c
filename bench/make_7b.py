"""Write a synthetic checkpoint with Llama-2-7B's exact shapes, streaming, shard by shard.

    python bench/make_7b.py                    # bench/data/llama7b: ~13.5 GB of bf16 in 3 shards
    python bench/make_7b.py --scale 32 --layers 4 --out /tmp/tiny   # a few MB, same code path

The header of each shard is written first (every offset is known from the shapes), then
each tensor's random values are generated and written in fixed-size chunks, so memory stays
at one chunk whatever the size of the model. Values are Gaussian with a per-tensor scale
(0.02 for matrices, ~1 for norm gains), stored as bf16 (the top 16 bits of a float32).
"""
from __future__ import annotations

import argparse
import json
import os
import struct
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "data", "llama7b")
CHUNK = 8 * 1024 * 1024  # elements generated and written at a time (32 MB of float32)

# Llama-2-7B
LAYERS, D_MODEL, N_HEADS, D_MLP, VOCAB = 32, 4096, 32, 11008, 32000
SHARD_BYTES = 5 * 1024**3  # like save_pretrained(max_shard_size="5GB")


def shapes(n_layers: int, d_model: int, d_mlp: int, vocab: int) -> list[tuple[str, tuple[int, ...]]]:
    """Every tensor of a Llama checkpoint, in the order LlamaForCausalLM's state dict lists them."""
    out = [("model.embed_tokens.weight", (vocab, d_model))]
    for l in range(n_layers):
        p = f"model.layers.{l}."
        out += [(p + "self_attn.q_proj.weight", (d_model, d_model)),
                (p + "self_attn.k_proj.weight", (d_model, d_model)),
                (p + "self_attn.v_proj.weight", (d_model, d_model)),
                (p + "self_attn.o_proj.weight", (d_model, d_model)),
                (p + "mlp.gate_proj.weight", (d_mlp, d_model)),
                (p + "mlp.up_proj.weight", (d_mlp, d_model)),
                (p + "mlp.down_proj.weight", (d_model, d_mlp)),
                (p + "input_layernorm.weight", (d_model,)),
                (p + "post_attention_layernorm.weight", (d_model,))]
    out += [("model.norm.weight", (d_model,)), ("lm_head.weight", (vocab, d_model))]
    return out


def plan_shards(tensors, shard_bytes: int) -> list[list[tuple[str, tuple[int, ...]]]]:
    """Greedy split into shards of at most `shard_bytes` (a tensor larger than that gets its own)."""
    shards, cur, size = [], [], 0
    for name, shape in tensors:
        nbytes = 2 * int(np.prod(shape))
        if cur and size + nbytes > shard_bytes:
            shards.append(cur)
            cur, size = [], 0
        cur.append((name, shape))
        size += nbytes
    if cur:
        shards.append(cur)
    return shards


def _header(tensors) -> bytes:
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, shape in tensors:
        nbytes = 2 * int(np.prod(shape))
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)  # safetensors pads the header to 8-byte alignment
    return struct.pack("<Q", len(raw)) + raw


def _scale_of(name: str) -> tuple[float, float]:
    """(mean, std) of the synthetic values: norm gains sit near 1, matrices near 0."""
    return (1.0, 0.05) if name.endswith("norm.weight") else (0.0, 0.02)


def write_shard(path: str, tensors, rng: np.random.Generator) -> int:
    buf = np.empty(CHUNK, dtype=np.float32)
    with open(path, "wb") as f:
        f.write(_header(tensors))
        for name, shape in tensors:
            mean, std = _scale_of(name)
            left = int(np.prod(shape))
            while left:
                n = min(left, CHUNK)
                x = buf[:n]
                rng.standard_normal(n, dtype=np.float32, out=x)
                x *= std
                if mean:
                    x += mean
                f.write(memoryview((x.view(np.uint32) >> 16).astype(np.uint16)))  # bf16 = top 16 bits
                left -= n
        return f.tell()


def make(out: str, scale: int = 1, layers: int | None = None, seed: int = 0,
         shard_bytes: int | None = None) -> dict:
    """Write the checkpoint into `out`; returns {'files': [...], 'bytes': total, 'seconds': t}."""
    d_model, d_mlp, vocab = D_MODEL // scale, D_MLP // scale, VOCAB // scale
    n_layers = LAYERS if layers is None else layers
    n_heads = max(1, min(N_HEADS, d_model // 16))
    tensors = shapes(n_layers, d_model, d_mlp, vocab)
    shards = plan_shards(tensors, shard_bytes or max(SHARD_BYTES // scale**2, 1))
    os.makedirs(out, exist_ok=True)
    rng, t0, files, weight_map, total = np.random.default_rng(seed), time.perf_counter(), [], {}, 0
    for i, shard in enumerate(shards):
        fname = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        written = write_shard(os.path.join(out, fname), shard, rng)
        total += written
        files.append(fname)
        weight_map.update({name: fname for name, _ in shard})
    data_bytes = sum(2 * int(np.prod(s)) for _, s in tensors)
    with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": data_bytes}, "weight_map": weight_map}, f, indent=1)
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": d_model,
              "intermediate_size": d_mlp, "num_attention_heads": n_heads, "num_key_value_heads": n_heads,
              "num_hidden_layers": n_layers, "vocab_size": vocab, "max_position_embeddings": 4096,
              "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "hidden_act": "silu",
              "tie_word_embeddings": False, "torch_dtype": "bfloat16"}
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    return {"files": files, "bytes": total, "seconds": time.perf_counter() - t0, "tensors": len(tensors)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--scale", type=int, default=1, help="divide d_model, d_mlp and vocab by this")
    ap.add_argument("--layers", type=int, default=None, help="number of layers (default 32)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shard-mb", type=float, default=None, help="shard size (default 5 GB / scale^2)")
    args = ap.parse_args()
    info = make(args.out, args.scale, args.layers, args.seed,
                int(args.shard_mb * 2**20) if args.shard_mb else None)
    gb = info["bytes"] / 1e9
    print(f"wrote {info['tensors']} tensors, {gb:.2f} GB in {len(info['files'])} shards to {args.out} "
          f"in {info['seconds']:.1f} s ({gb / info['seconds']:.2f} GB/s)")


if __name__ == "__main__":
    main()
