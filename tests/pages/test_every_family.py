"""Every page, on a tiny real model of every adapter family (and the generic fallback): it draws
without an exception or an error box, and says which model it is looking at."""
import numpy as np
import pytest
from safetensors.numpy import save_file

from adapters import FAMILIES
from tests.adapters.harness import build
from tests.pages.apptest import APP, errors

PAGES = ["pages/overview.py", "pages/positional.py", "pages/distributions.py", "pages/matrices.py",
         "pages/pca.py", "pages/layers.py", "pages/heads.py", "pages/experts.py", "pages/health.py",
         "pages/spectral.py", "pages/compare.py"]
TITLES = {"pages/overview.py": "Architecture", "pages/positional.py": "Positional embeddings",
          "pages/distributions.py": "Weight distributions", "pages/matrices.py": "Matrix heatmaps",
          "pages/pca.py": "PCA per layer", "pages/layers.py": "Across layers",
          "pages/heads.py": "Attention heads", "pages/experts.py": "Experts", "pages/health.py": "Tensor health",
          "pages/spectral.py": "Training quality (spectra)", "pages/compare.py": "Compare checkpoints"}
DECODER = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
               intermediate_size=96, vocab_size=101, max_position_embeddings=64)
ENCODER = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=96,
               vocab_size=101, max_position_embeddings=40)
VISION = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=96, image_size=32,
              patch_size=8)
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
    "mixtral": ("mixtral", True, {**DECODER, "num_local_experts": 4}),
    "gptj": ("gptj", True, dict(n_embd=64, n_layer=2, n_head=4, rotary_dim=8, vocab_size=101, n_positions=64)),
    "codegen": ("codegen", True, dict(n_embd=64, n_layer=2, n_head=4, rotary_dim=8, vocab_size=101, n_positions=64)),
    "gpt_bigcode": ("gpt_bigcode", True, dict(n_embd=64, n_layer=2, n_head=4, vocab_size=101, n_positions=64)),
    "mpt": ("mpt", True, dict(d_model=64, n_layers=2, n_heads=4, vocab_size=101, max_seq_len=64)),
    "distilbert": ("distilbert", False, dict(dim=64, n_layers=2, n_heads=4, hidden_dim=96, vocab_size=101,
                                             max_position_embeddings=40)),
    "deberta_v2": ("deberta-v2", False, ENCODER),
    "deberta": ("deberta", False, ENCODER),
    "modernbert": ("modernbert", False, {**ENCODER, "pad_token_id": 0, "cls_token_id": 1, "sep_token_id": 2}),
    "modernbert_decoder": ("modernbert-decoder", True, {**ENCODER, "pad_token_id": 0, "bos_token_id": 1,
                                                         "eos_token_id": 2, "cls_token_id": 1, "sep_token_id": 2}),
    "openai_gpt": ("openai-gpt", True, dict(n_embd=64, n_layer=2, n_head=4, vocab_size=101, n_positions=32)),
    "albert": ("albert", False, {**ENCODER, "embedding_size": 32}),
    "glm": ("glm", True, {**DECODER, "head_dim": 16, "pad_token_id": 0, "eos_token_id": 2}),
    "glm4": ("glm4", True, {**DECODER, "head_dim": 16, "pad_token_id": 0, "eos_token_id": 2}),
    "exaone": ("exaone", True, DECODER),
    "arcee": ("arcee", True, {**DECODER, "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2}),
    "jais2": ("jais2", True, {**DECODER, "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2}),
    "vaultgemma": ("vaultgemma", True, {**DECODER, "head_dim": 16, "pad_token_id": 0, "eos_token_id": 2}),
    "xglm": ("xglm", True, dict(d_model=64, num_layers=2, attention_heads=4, ffn_dim=96, vocab_size=101,
                                max_position_embeddings=64)),
    "biogpt": ("biogpt", True, ENCODER),
    "ctrl": ("ctrl", True, dict(n_embd=64, n_layer=2, n_head=4, dff=96, vocab_size=101, n_positions=64)),
    "xlm": ("xlm", False, dict(emb_dim=64, n_layers=2, n_heads=4, vocab_size=101, max_position_embeddings=64)),
    "nomic_bert": ("nomic_bert", False, ENCODER),
    "jina_embeddings_v3": ("jina_embeddings_v3", False, ENCODER),
    "gte": ("gte", False, ENCODER),
    "vit": ("vit", False, VISION),
    "dinov2": ("dinov2_with_registers", False, {**VISION, "num_register_tokens": 2}),
    "beit": ("beit", False, {**VISION, "use_relative_position_bias": True}),  # no W_pos: relative biases
    "clip_vision": ("siglip_vision_model", False, VISION),
    "clip_text": ("clip_text_model", False, {**ENCODER, "max_position_embeddings": 16}),
    "clip": ("clip", False, dict(text_config={**ENCODER, "max_position_embeddings": 16}, vision_config=VISION)),
}


ARCHS = sorted(set(FAMILIES) - {"generic"})


def _build(arch: str, folder) -> None:
    """The family's tiny model: from TINY, else its first model_type's default config shrunk as the coverage
    survey shrinks it (tests/adapters/test_coverage.py)."""
    if arch in TINY:
        model_type, causal, config = TINY[arch]
        build(model_type, folder, causal_lm=causal, **config)
        return
    from tests.adapters.test_coverage import build_tiny
    build_tiny(FAMILIES[arch].model_types[0], str(folder))


def _visit_every_page(source: str, stack: str | None = None) -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["model_source"] = source
    if stack:
        at.session_state["model_stack"] = stack
    at.run()
    titles_seen = []
    for page in PAGES:
        at.switch_page(page)
        at.run()
        assert not errors(at), f"{page}: {errors(at)}"
        assert at.title and at.title[0].value == TITLES[page], f"{page} drew {[t.value for t in at.title]}"
        titles_seen.append(at.title[0].value)
    assert len(set(titles_seen)) == len(PAGES)


@pytest.mark.parametrize("arch", ARCHS)
def test_every_page_on_a_tiny_model(arch, tmp_path):
    """Every page on the main stack; for a model with more views (an encoder, a vision tower, a decoder's
    cross-attention: Model.views), every page again on each of the others, chosen in the sidebar."""
    from adapters import open_model
    _build(arch, tmp_path)
    model = open_model(str(tmp_path))
    assert model.arch == arch and model.has_heads
    _visit_every_page(str(tmp_path))
    for stack in model.views()[1:]:
        _visit_every_page(str(tmp_path), stack)


def test_every_page_on_an_unknown_architecture(tmp_path):
    rng = np.random.default_rng(0)
    tensors = {"tok.weight": rng.normal(size=(50, 16)).astype(np.float32),
               "stack.0.mix.weight": rng.normal(size=(16, 16)).astype(np.float32),
               "stack.1.mix.weight": rng.normal(size=(16, 16)).astype(np.float32),
               "stack.0.scale": np.ones(16, np.float32)}
    save_file(tensors, str(tmp_path / "mystery.safetensors"))
    _visit_every_page(str(tmp_path / "mystery.safetensors"))
