"""GPT-2 small's exact config and tensor shapes, with random weights, written once per test session.

Written with numpy straight to safetensors (no torch model to initialise: ~10x quicker); the real
weights cannot be downloaded here. Used where a shape matters (50257 x 768 wte, 768 x 2304 c_attn).
"""
from __future__ import annotations

import numpy as np
from safetensors.numpy import save_file
from transformers import GPT2Config

from adapters import open_model


def _shapes(c: GPT2Config) -> dict[str, tuple[int, ...]]:
    d = c.n_embd
    out = {"transformer.wte.weight": (c.vocab_size, d), "transformer.wpe.weight": (c.n_positions, d),
           "transformer.ln_f.weight": (d,), "transformer.ln_f.bias": (d,)}
    for l in range(c.n_layer):
        p = f"transformer.h.{l}."
        out |= {p + "ln_1.weight": (d,), p + "ln_1.bias": (d,), p + "ln_2.weight": (d,), p + "ln_2.bias": (d,),
                p + "attn.c_attn.weight": (d, 3 * d), p + "attn.c_attn.bias": (3 * d,),  # Conv1D: [in, out]
                p + "attn.c_proj.weight": (d, d), p + "attn.c_proj.bias": (d,),
                p + "mlp.c_fc.weight": (d, 4 * d), p + "mlp.c_fc.bias": (4 * d,),
                p + "mlp.c_proj.weight": (4 * d, d), p + "mlp.c_proj.bias": (d,)}
    return out


def gpt2_small(tmp_path_factory):
    """Open (building on first use) the shared GPT-2-small-shaped checkpoint."""
    folder = tmp_path_factory.getbasetemp() / "gpt2-small-shapes"
    if not (folder / "model.safetensors").exists():
        folder.mkdir(exist_ok=True)
        config = GPT2Config()
        rng = np.random.default_rng(0)
        # per-layer scales differ so statistics across layers have something to find
        tensors = {name: (rng.standard_normal(shape, dtype=np.float32)
                          * np.float32(0.02 * (1 + 0.1 * int(name.split(".")[2]) if ".h." in name else 0.02)))
                   for name, shape in _shapes(config).items()}
        save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
        config.to_json_file(str(folder / "config.json"))
    return open_model(str(folder))
