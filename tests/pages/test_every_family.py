"""Every page, on a tiny real model of every adapter family (and the generic fallback): it draws
without an exception or an error box, and says which model it is looking at."""
import numpy as np
import pytest
from safetensors.numpy import save_file

from adapters import FAMILIES
from tests.adapters.harness import build
from tests.pages.apptest import APP, errors

PAGES = ["pages/overview.py", "pages/positional.py", "pages/distributions.py", "pages/matrices.py",
         "pages/pca.py", "pages/layers.py", "pages/heads.py", "pages/health.py", "pages/spectral.py",
         "pages/compare.py"]
TITLES = {"pages/overview.py": "Architecture", "pages/positional.py": "Positional embeddings",
          "pages/distributions.py": "Weight distributions", "pages/matrices.py": "Matrix heatmaps",
          "pages/pca.py": "PCA per layer", "pages/layers.py": "Across layers",
          "pages/heads.py": "Attention heads", "pages/health.py": "Tensor health",
          "pages/spectral.py": "Training quality (spectra)", "pages/compare.py": "Compare checkpoints"}
DECODER = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
               intermediate_size=96, vocab_size=101, max_position_embeddings=64)
ENCODER = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=96,
               vocab_size=101, max_position_embeddings=40)
TINY = {  # arch -> (transformers model_type, AutoModelForCausalLM?, config)
    "gpt2": ("gpt2", True, dict(n_embd=64, n_layer=2, n_head=4, vocab_size=101, n_positions=32)),
    "bert": ("bert", False, ENCODER),
    "roberta": ("roberta", False, {**ENCODER, "pad_token_id": 1}),
    "llama": ("llama", True, DECODER),
    "mistral": ("mistral", True, DECODER),
    "qwen2": ("qwen2", True, DECODER),
    "qwen3": ("qwen3", True, {**DECODER, "head_dim": 24}),
    "gemma": ("gemma", True, {**DECODER, "head_dim": 16}),
    "gemma2": ("gemma2", True, {**DECODER, "head_dim": 16}),
    "neox": ("gpt_neox", True, {**ENCODER, "intermediate_size": 128}),
    "opt": ("opt", True, dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, ffn_dim=96,
                              vocab_size=101, max_position_embeddings=32, word_embed_proj_dim=64)),
    "phi3": ("phi3", True, {**DECODER, "pad_token_id": 0, "eos_token_id": 2, "bos_token_id": 1}),
    "bloom": ("bloom", True, dict(hidden_size=64, n_layer=2, n_head=4, vocab_size=101)),
    "falcon": ("falcon", True, dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, vocab_size=101)),
    "granite": ("granite", True, {**DECODER, "attention_multiplier": 0.3, "logits_scaling": 4.0}),
    "olmo": ("olmo", True, DECODER),
    "olmo2": ("olmo2", True, DECODER),
    "gemma3": ("gemma3_text", True, {**DECODER, "head_dim": 16, "sliding_window": 4}),
    "phi": ("phi", True, {**DECODER, "bos_token_id": 1, "eos_token_id": 2}),
    "starcoder2": ("starcoder2", True, {**DECODER, "bos_token_id": 1, "eos_token_id": 2}),
    "cohere": ("cohere", True, {**DECODER, "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0}),
}


def test_every_family_has_a_tiny_model_here():
    assert set(FAMILIES) - {"generic"} == set(TINY)


def _visit_every_page(source: str) -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["model_source"] = source
    at.run()
    titles_seen = []
    for page in PAGES:
        at.switch_page(page)
        at.run()
        assert not errors(at), f"{page}: {errors(at)}"
        assert at.title and at.title[0].value == TITLES[page], f"{page} drew {[t.value for t in at.title]}"
        titles_seen.append(at.title[0].value)
    assert len(set(titles_seen)) == len(PAGES)


@pytest.mark.parametrize("arch", sorted(TINY))
def test_every_page_on_a_tiny_model(arch, tmp_path):
    model_type, causal, config = TINY[arch]
    _, model = build(model_type, tmp_path, causal_lm=causal, **config)
    assert model.arch == arch
    _visit_every_page(str(tmp_path))


def test_every_page_on_an_unknown_architecture(tmp_path):
    rng = np.random.default_rng(0)
    tensors = {"tok.weight": rng.normal(size=(50, 16)).astype(np.float32),
               "stack.0.mix.weight": rng.normal(size=(16, 16)).astype(np.float32),
               "stack.1.mix.weight": rng.normal(size=(16, 16)).astype(np.float32),
               "stack.0.scale": np.ones(16, np.float32)}
    save_file(tensors, str(tmp_path / "mystery.safetensors"))
    _visit_every_page(str(tmp_path / "mystery.safetensors"))
