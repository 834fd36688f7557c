"""Tiny clean models of a few families, built once per session; the faults are injected into copies."""
import pytest

from tests.adapters.harness import build

DECODER = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
               intermediate_size=96, vocab_size=101, max_position_embeddings=64)
TINY = {  # family -> (transformers model_type, AutoModelForCausalLM?, config)
    "gpt2": ("gpt2", True, dict(n_embd=64, n_layer=2, n_head=4, vocab_size=101, n_positions=32)),
    "llama": ("llama", True, DECODER),
    "bert": ("bert", False, dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=96,
                                 vocab_size=101, max_position_embeddings=40)),
}


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """family -> the folder of a clean tiny model of it (built on first use)."""
    built = {}

    def get(family: str) -> str:
        if family not in built:
            model_type, causal_lm, config = TINY[family]
            path = tmp_path_factory.mktemp(f"clean-{family}")
            build(model_type, path, causal_lm=causal_lm, **config)
            built[family] = str(path)
        return built[family]

    return get
