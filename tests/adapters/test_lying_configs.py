"""A config.json (or a caller) that contradicts the stored tensors is refused at open, quickly, with a LoadError
naming the config field and the tensor or shape it contradicts; nothing loops over a declared count."""
from __future__ import annotations

import json
import shutil
import time

import numpy as np
import pytest

from adapters import LoadError, Policy, open_model
from tests.adapters import craft
from tests.adapters.harness import build

LLAMA = dict(hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=4,
             num_key_value_heads=2, vocab_size=50, max_position_embeddings=32)
GPT2 = dict(n_embd=16, n_layer=2, n_head=4, vocab_size=50, n_positions=32)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Tiny Llama (grouped-query) and GPT-2 folders, saved once; each test copies one and edits its config."""
    out = {}
    for model_type, config in (("llama", LLAMA), ("gpt2", GPT2)):
        folder = tmp_path_factory.mktemp(model_type)
        build(model_type, folder, **config)
        out[model_type] = folder
    return out


def _with_config(saved, tmp_path, family: str, text: str | None = None, **changes) -> str:
    """A copy of a saved model whose config.json has `changes` (or is `text`, raw, for JSON like 1e400)."""
    folder = tmp_path / family
    shutil.copytree(saved[family], folder)
    path = folder / "config.json"
    if text is None:
        config = json.loads(path.read_text())
        config.update(changes)
        text = json.dumps(config)
    path.write_text(text)
    return str(folder)


def _refused(source, *words: str, n_heads=None) -> str:
    start = time.perf_counter()
    with pytest.raises(LoadError) as info:
        open_model(source, n_heads=n_heads)
    assert time.perf_counter() - start < 5, "refusing took too long: something looped over a declared count"
    message = str(info.value)
    for word in words:
        assert word.lower() in message.lower(), message
    return message


@pytest.mark.parametrize("field,value,words", [
    ("num_hidden_layers", 10**18, ["num_hidden_layers", "layers.2.self_attn.q_proj.weight"]),
    ("num_hidden_layers", 10_000_000, ["num_hidden_layers", "layers.2.self_attn.q_proj.weight"]),
    ("num_hidden_layers", 3, ["num_hidden_layers", "layers.2.self_attn.q_proj.weight"]),
    ("num_attention_heads", 3, ["num_attention_heads", "q_proj.weight", "[16, 16]"]),
    ("num_attention_heads", 0, ["num_attention_heads"]),
    ("num_attention_heads", -4, ["num_attention_heads"]),
    ("num_attention_heads", 2.5, ["num_attention_heads"]),
    ("num_attention_heads", True, ["num_attention_heads"]),
    ("num_key_value_heads", 3, ["num_key_value_heads", "k_proj.weight", "[8, 16]"]),
    ("num_key_value_heads", 1, ["num_key_value_heads", "k_proj.weight"]),
    ("head_dim", "64", ["head_dim"]),
    ("head_dim", 10**12, ["head_dim", "q_proj.weight"]),
    ("head_dim", 10**400, ["head_dim"]),
    ("hidden_size", 24, ["hidden_size", "q_proj.weight"]),
    ("rope_theta", "ten thousand", ["rope_theta"]),
    ("rope_theta", -1, ["rope_theta"]),
    ("rope_scaling", "linear", ["rope_scaling"]),
    ("rope_scaling", {"rope_type": ["linear"]}, ["rope_scaling.rope_type"]),
    ("rope_parameters", {"rope_theta": {"x": 1}}, ["rope_parameters.rope_theta"]),
    ("partial_rotary_factor", 7, ["partial_rotary_factor"]),
    ("model_type", ["llama"], ["model_type"]),
    ("model_type", {"llama": 1}, ["model_type"]),
    ("architectures", "LlamaForCausalLM", ["architectures"]),
    ("vocab_size", "50", ["vocab_size"]),
    ("tie_word_embeddings", "no", ["tie_word_embeddings"]),
    ("hidden_act", 3, ["hidden_act"]),
])
def test_llama_config_contradicting_tensors(saved, tmp_path, field, value, words):
    _refused(_with_config(saved, tmp_path, "llama", **{field: value}), *words)


@pytest.mark.parametrize("raw,field", [('"hidden_size": 1e400', "hidden_size"), ('"rope_theta": 1e400', "rope_theta"),
                                       ('"num_attention_heads": 4e0', "num_attention_heads"),
                                       ('"rope_theta": NaN', "rope_theta")])
def test_floats_json_cannot_hold(saved, tmp_path, raw, field):
    text = (saved["llama"] / "config.json").read_text().rstrip().rstrip("}") + ", " + raw + "}"
    _refused(_with_config(saved, tmp_path, "llama", text=text), field)


@pytest.mark.parametrize("field,value,words", [
    ("n_layer", 10**18, ["n_layer", "h.2.ln_1.weight"]),
    ("n_head", 3, ["n_head", "attn.c_proj.weight", "[16, 16]"]),
    ("n_head", 32, ["n_head", "d_head = 0"]),
    ("n_embd", 8, ["n_embd", "c_attn.weight"]),
])
def test_gpt2_config_contradicting_tensors(saved, tmp_path, field, value, words):
    _refused(_with_config(saved, tmp_path, "gpt2", **{field: value}), *words)


def test_fewer_layers_declared_than_stored_still_opens(saved, tmp_path):
    model = open_model(_with_config(saved, tmp_path, "llama", num_hidden_layers=1))
    assert model.cfg.n_layers == 1 and model.layers("attn.W_Q") == [0]


@pytest.mark.parametrize("n_heads", [-1, 0, True, 2.5, "4", 10**9])
def test_callers_head_count_checked(saved, tmp_path, n_heads):
    folder = _with_config(saved, tmp_path, "gpt2")
    _refused(folder, "n_heads", n_heads=n_heads)


def test_callers_head_count_that_does_not_divide(saved, tmp_path):
    (saved["gpt2"] / "config.json").exists()
    folder = tmp_path / "bare"
    shutil.copytree(saved["gpt2"], folder)
    (folder / "config.json").unlink()
    _refused(str(folder), "3", n_heads=3)
    assert open_model(str(folder), n_heads=2).cfg.n_heads == 2


def _gpt2_tensors(layers) -> dict[str, np.ndarray]:
    d = 4
    out = {"wte.weight": np.zeros((5, d), np.float32)}
    for l in layers:
        out[f"h.{l}.ln_1.weight"] = np.ones(d, np.float32)
        out[f"h.{l}.attn.c_attn.weight"] = np.zeros((d, 3 * d), np.float32)
        out[f"h.{l}.mlp.c_fc.weight"] = np.zeros((d, 4 * d), np.float32)
    return out


@pytest.mark.parametrize("layers,words", [((0, 99_999_999_999), ["numbered as layer 99,999,999,999"]),
                                          ((0, 2), ["layer 1 is missing", "h.1.ln_1.weight"])])
def test_layer_numbers_without_config(tmp_path, layers, words):
    path = tmp_path / "model.safetensors"
    path.write_bytes(craft.valid(_gpt2_tensors(layers)))
    _refused(str(path), *words)


@pytest.mark.parametrize("value,heads", [("²", None), ("٤", None), ("0", None), ("4", 4), ("-4", None),
                                         ("9" * 40, None)])
def test_metadata_head_count_is_ascii_digits_only(tmp_path, value, heads):
    path = tmp_path / "model.safetensors"
    path.write_bytes(craft.valid(_gpt2_tensors([0]), metadata={"n_heads": value}))
    assert open_model(str(path)).cfg.n_heads == heads


def test_max_model_bytes_overflowing_float(monkeypatch, tmp_path):
    monkeypatch.setenv("WEIGHTS_MAX_MODEL_BYTES", "1e400")
    with pytest.raises(LoadError, match="not a size"):
        Policy.from_env()
    path = tmp_path / "model.safetensors"
    path.write_bytes(craft.valid(_gpt2_tensors([0])))
    _refused(str(path), "not a size")
