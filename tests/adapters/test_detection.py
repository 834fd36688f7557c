"""Tiny real checkpoints: the family is chosen by tensor layout (model_type a hint), notes are structured,
and opening a model never changes a family's declared tables."""
import copy
import json

import numpy as np
import pytest
from safetensors.numpy import save_file

from adapters import LoadError, Note, open_model
from adapters.config import NOTE_KINDS
from adapters.registry import FAMILIES
from tests.adapters.harness import assert_all_accounted, build, check_forward
from tests.adapters.test_llama import SPEC, TINY


def _set_model_type(folder, model_type: str) -> None:
    path = folder / "config.json"
    config = json.loads(path.read_text())
    path.write_text(json.dumps({**config, "model_type": model_type}))


def _lone(folder, tmp_path) -> str:
    """The weights file alone in a folder, so there is no config.json beside it."""
    lone = tmp_path / "lone" / "weights.safetensors"
    lone.parent.mkdir()
    lone.write_bytes((folder / "model.safetensors").read_bytes())
    return str(lone)


def test_unknown_model_type_with_llama_layout_opens_as_llama(tmp_path):
    hf, _ = build("llama", tmp_path, **TINY)
    _set_model_type(tmp_path, "my_own_llama")
    model = open_model(str(tmp_path))
    assert model.arch == "llama" and model.has_heads
    read_as = [n for n in model.cfg.notes if n.kind == "read-as"]
    assert len(read_as) == 1 and "'my_own_llama'" in read_as[0].text and "read as llama" in read_as[0].text
    check_forward(hf, model, SPEC)
    assert_all_accounted(model)


def test_granite_opens_as_granite_with_its_multipliers(tmp_path):
    """Granite stores exactly Llama's names; its model_type chooses its own family, whose cfg carries the
    multipliers that change the computation (tests/adapters/test_granite.py checks them against the forward pass)."""
    _, model = build("granite", tmp_path, **TINY, attention_multiplier=0.5)
    assert model.arch == "granite" and model.has_heads and model.cfg.attn_scale == 0.5
    assert model.weight("blocks.1.attn.W_K").shape == (2, 64, 16)
    assert not [n for n in model.cfg.notes if n.kind == "read-as"]
    assert_all_accounted(model)


def test_config_naming_gpt2_over_llama_tensors_is_read_by_layout(tmp_path):
    hf, _ = build("llama", tmp_path, **TINY)
    _set_model_type(tmp_path, "gpt2")
    model = open_model(str(tmp_path))
    assert model.arch == "llama"
    (note,) = [n for n in model.cfg.notes if n.kind == "read-as"]
    assert note.text.startswith("config.json names model_type 'gpt2', but the tensors do not fit gpt2's layout")
    check_forward(hf, model, SPEC)


def test_config_naming_llama_over_gpt2_tensors_is_read_as_gpt2(tmp_path):
    build("gpt2", tmp_path, n_embd=64, n_layer=1, n_head=4, vocab_size=101, n_positions=32)
    _set_model_type(tmp_path, "llama")
    model = open_model(str(tmp_path))
    assert model.arch == "gpt2" and model.has_heads
    assert model.cfg.notes[0].kind == "read-as" and "do not fit llama's layout" in model.cfg.notes[0].text


def test_notes_are_structured_and_json_able(tmp_path):
    build("gemma2", tmp_path, **{**TINY, "head_dim": 16}, attn_logit_softcapping=0.5)
    model = open_model(str(tmp_path))
    assert model.cfg.notes and all(isinstance(n, Note) and n.kind in NOTE_KINDS for n in model.cfg.notes)
    as_dict = json.loads(json.dumps(model.cfg.to_dict()))
    assert {"kind": "maths", "text": "Attention scores are soft-capped: cap * tanh(x / cap), cap = 0.5."} \
        in as_dict["notes"]
    with pytest.raises(ValueError, match="unknown note kind"):
        Note("heads", "a kind nobody reads")


def test_heads_note_is_dropped_by_kind_when_the_caller_gives_n_heads(tmp_path):
    build("llama", tmp_path, **TINY)
    lone = _lone(tmp_path, tmp_path)
    headless = open_model(lone)
    assert [n.kind for n in headless.cfg.notes if n.kind == "heads-unknown"] == ["heads-unknown"]
    with pytest.raises(KeyError, match="number of attention heads is not in the checkpoint"):
        headless.weight("blocks.0.attn.W_Q")
    model = open_model(lone, n_heads=4)
    assert not [n for n in model.cfg.notes if n.kind.startswith("heads-")]
    assert (model.cfg.n_heads, model.cfg.n_kv_heads, model.cfg.d_head) == (4, 2, 16)
    assert model.weight("blocks.0.attn.W_K").shape == (2, 64, 16)
    with pytest.raises(LoadError, match="Cannot split this model into 5 heads"):
        open_model(lone, n_heads=5)


def test_generic_has_no_heads_note(tmp_path):
    save_file({"encoder.0.w": np.ones((4, 4), np.float32)}, str(tmp_path / "w.safetensors"))
    model = open_model(str(tmp_path / "w.safetensors"))
    assert model.arch == "generic" and [n.kind for n in model.cfg.notes] == ["no-adapter"]


@pytest.mark.parametrize("model_type, config", [
    ("gpt_neox", dict(hidden_size=64, num_hidden_layers=1, num_attention_heads=4, intermediate_size=96,
                      vocab_size=101)),
    ("opt", dict(hidden_size=64, num_hidden_layers=1, num_attention_heads=4, ffn_dim=96, vocab_size=101,
                 word_embed_proj_dim=32)),
    ("falcon", dict(hidden_size=64, num_hidden_layers=1, num_attention_heads=4, vocab_size=101,
                    new_decoder_architecture=True, num_kv_heads=2)),
    ("roberta", dict(hidden_size=64, num_hidden_layers=1, num_attention_heads=4, intermediate_size=96,
                     vocab_size=101, pad_token_id=3)),
])
def test_opening_never_changes_a_familys_tables(model_type, config, tmp_path):
    """rules_for and derive_config are pure: what one checkpoint needs is never written back to the family."""
    declared = {a: (dict(f.rules), dict(f.ignored), copy.deepcopy(f.defaults), f.layout) for a, f in FAMILIES.items()}
    build(model_type, tmp_path, causal_lm=model_type != "roberta", **config)
    open_model(str(tmp_path))
    assert declared == {a: (dict(f.rules), dict(f.ignored), f.defaults, f.layout) for a, f in FAMILIES.items()}
