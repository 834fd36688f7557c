"""GGUF models open with the same schema as the safetensors checkpoint they were written from.

A tiny transformers model is saved, written to GGUF with the gguf package's writer (tests/adapters/gguf_craft.py:
names by gguf's own table, Q/K rows permuted as llama.cpp's converter does), and both are opened with open_model.
"""
from __future__ import annotations

import shutil

import numpy as np
import pytest
from gguf import GGMLQuantizationType as Q
from gguf.quants import dequantize
from safetensors.numpy import load_file

from adapters import LoadError, open_model
from adapters.sources import from_upload
from tests.adapters.gguf_craft import quantize, stored_type, write_gguf
from tests.adapters.harness import Spec, assert_all_accounted, build, check_ends, check_forward

L = "model.layers.{l}."
SPEC = Spec(attn=L + "self_attn", mlp=L + "mlp", zero_positions=True,
            norms={"blocks.{l}.ln1.w": L + "input_layernorm", "blocks.{l}.ln2.w": L + "post_attention_layernorm",
                   "ln_final.w": "model.norm"})
# rows of 256 values: whole blocks of every type (K-quants' super-blocks are 256)
TINY = dict(hidden_size=256, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
            intermediate_size=512, vocab_size=101, max_position_embeddings=64, rope_theta=50_000.0)
# relative (Frobenius) error of a whole weight: what each type's rounding allows, with room
BOUND = {Q.F32: 0.0, Q.F16: 1e-3, Q.BF16: 1e-2, Q.Q8_0: 1e-2, Q.Q4_K: 0.1}


@pytest.fixture(scope="module")
def llama(tmp_path_factory):
    folder = tmp_path_factory.mktemp("llama")
    hf, model = build("llama", folder, **TINY)
    return folder, hf, model


@pytest.mark.parametrize("qtype", list(BOUND), ids=lambda q: q.name)
def test_same_schema_as_the_safetensors_source(qtype, llama, tmp_path):
    folder, _, st = llama
    (path,) = write_gguf(folder, tmp_path / f"tiny-{qtype.name}.gguf", qtype)
    gg = open_model(path)
    assert gg.arch == "llama" and set(gg.names()) == set(st.names())
    c, s = gg.cfg, st.cfg
    assert (c.n_layers, c.d_model, c.n_heads, c.n_kv_heads, c.d_head, c.d_mlp, c.d_vocab, c.rotary_base,
            c.tied_embeddings, c.norm, c.act) == (s.n_layers, s.d_model, s.n_heads, s.n_kv_heads, s.d_head, s.d_mlp,
                                                  s.d_vocab, s.rotary_base, s.tied_embeddings, s.norm, s.act)
    assert_all_accounted(gg)
    source = load_file(folder / "model.safetensors")
    for name, arr in source.items():  # every stored tensor is gguf's dequantize of what was written, in HF order
        q = stored_type(name, arr, qtype)
        assert gg.checkpoint.entries[name].stored == q.name
        np.testing.assert_array_equal(gg.raw(name), dequantize(quantize(arr, q), q), err_msg=name)
    for name in st.names():  # and every schema weight is within the type's error of the original
        a, b = st.weight(name), gg.weight(name)
        assert np.linalg.norm(b - a) <= BOUND[qtype] * np.linalg.norm(a), name


def test_f32_gguf_matches_the_forward_pass(llama, tmp_path):
    folder, hf, _ = llama
    gg = open_model(write_gguf(folder, tmp_path / "tiny.gguf", Q.F32)[0])
    check_forward(hf, gg, SPEC)  # attention patterns from the unpermuted W_Q, W_K
    check_ends(hf, gg)


def test_unpermuting_is_what_makes_heads_right(llama, tmp_path):
    """A file whose Q/K rows were not permuted reads wrong: the reader undoes a real permutation."""
    folder, _, st = llama
    gg = open_model(write_gguf(folder, tmp_path / "plain.gguf", Q.F32, permute_qk=False)[0])
    assert not np.array_equal(gg.weight("blocks.0.attn.W_Q"), st.weight("blocks.0.attn.W_Q"))
    np.testing.assert_array_equal(gg.weight("blocks.0.attn.W_V"), st.weight("blocks.0.attn.W_V"))


@pytest.mark.parametrize("model_type, extra", [("qwen2", {}), ("qwen3", {"head_dim": 32}),
                                               ("llama", {"attention_bias": True})])
def test_other_layouts_match_the_forward_pass(model_type, extra, tmp_path):
    """Qwen2 and Qwen3 are stored unpermuted; a Llama's q and k biases are permuted with their rows."""
    hf, st = build(model_type, tmp_path / "hf", **{**TINY, **extra})
    gg = open_model(write_gguf(tmp_path / "hf", tmp_path / "q.gguf", Q.F32)[0])
    assert gg.arch == model_type and gg.cfg.d_head == st.cfg.d_head
    assert set(gg.names()) == set(st.names())
    assert_all_accounted(gg)
    check_forward(hf, gg, SPEC)


def test_tied_embeddings_follow_the_missing_output_tensor(tmp_path):
    build("llama", tmp_path / "hf", tie_word_embeddings=True, **{**TINY, "num_hidden_layers": 1})
    gg = open_model(write_gguf(tmp_path / "hf", tmp_path / "t.gguf", Q.F32)[0])
    assert gg.cfg.tied_embeddings and gg.has("unembed.W_U")
    np.testing.assert_array_equal(gg.weight("unembed.W_U"), gg.weight("embed.W_E").T)


def test_split_gguf_opens_from_any_part_and_from_its_folder(llama, tmp_path):
    folder, _, st = llama
    (tmp_path / "split").mkdir()
    parts = write_gguf(folder, tmp_path / "split" / "m.gguf", Q.Q8_0, split_max_tensors=8)
    assert len(parts) == 3 and parts[1].endswith("m-00002-of-00003.gguf")
    for source in (parts[0], parts[2], str(tmp_path / "split")):
        gg = open_model(source)
        assert set(gg.names()) == set(st.names()) and len(gg.checkpoint.paths) == 3
    (tmp_path / "split" / "m-00002-of-00003.gguf").unlink()
    with pytest.raises(LoadError, match="m-00002-of-00003.gguf is missing"):
        open_model(parts[0])


def test_folder_with_two_ggufs_asks_for_one(llama, tmp_path):
    folder, _, _ = llama
    write_gguf(folder, tmp_path / "a-Q8_0.gguf", Q.Q8_0)
    shutil.copy(tmp_path / "a-Q8_0.gguf", tmp_path / "a-copy.gguf")
    with pytest.raises(LoadError, match="2 GGUF models"):
        open_model(str(tmp_path))


def test_upload_of_a_gguf(llama, tmp_path):
    folder, _, st = llama
    (path,) = write_gguf(folder, tmp_path / "up.gguf", Q.Q8_0)
    with open(path, "rb") as f:
        located = from_upload(f.read(), "tiny-Q8_0.gguf")
    from adapters import open_located
    gg = open_located(located)
    assert gg.arch == "llama" and set(gg.names()) == set(st.names())
    with open(path, "rb") as f:
        with pytest.raises(LoadError, match="uploads up to"):
            from_upload(f.read(), "tiny.gguf", max_bytes=1000)


def test_storage_fields(llama, tmp_path):
    folder, _, _ = llama
    gg = open_model(write_gguf(folder, tmp_path / "k.gguf", Q.Q4_K)[0])
    e = gg.checkpoint.entries["model.layers.0.mlp.down_proj.weight"]  # [256, 512]
    assert (e.stored, e.bits_per_weight, e.disk_bytes) == ("Q4_K", 4.5, 256 * 512 // 256 * 144)
    assert e.gguf_name == "blk.0.ffn_down.weight" and e.scales == "scales inside each 256-value block"
    norm = gg.checkpoint.entries["model.norm.weight"]
    assert (norm.stored, norm.bits_per_weight, norm.disk_bytes, norm.scales) == ("F32", 32.0, 256 * 4, "")
    info = {t.name: t for t in gg.tensors()}["model.layers.0.mlp.down_proj.weight"]  # what the pages show
    assert (info.stored, info.bits_per_weight, info.nbytes) == ("Q4_K", 4.5, e.disk_bytes)


def test_statistics_scan_sees_the_dequantized_values(llama, tmp_path):
    """The health topic's scan takes GGUF through its float32 path: its moments are those of gg.raw."""
    from topics.scan import scan
    folder, _, _ = llama
    gg = open_model(write_gguf(folder, tmp_path / "s.gguf", Q.Q4_K)[0])
    for stats in scan(gg):
        x = gg.raw(stats.name).astype(np.float64)
        assert stats.count == x.size and stats.shape == x.shape
        np.testing.assert_allclose([stats.mean, stats.std, stats.min, stats.max],
                                   [x.mean(), x.std(), x.min(), x.max()], rtol=1e-5, atol=1e-6)


def test_unmapped_architecture_opens_raw_with_a_note(tmp_path):
    from tests.adapters.gguf_craft import write_raw
    rng = np.random.default_rng(0)
    write_raw(tmp_path / "x.gguf", {"blk.0.mixer.weight": (Q.F32, (4, 32), rng.standard_normal((4, 32), np.float32)
                                                         .view(np.uint8).reshape(4, 128))}, arch="mamba")
    gg = open_model(str(tmp_path / "x.gguf"))
    assert gg.arch == "generic" and gg.raw_names() == ["blk.0.mixer.weight"]
    assert any("'mamba' is not mapped" in n.text for n in gg.cfg.notes)


def test_picker_takes_a_gguf_upload_in_hosted_mode(llama, tmp_path, monkeypatch):
    from tests.pages.apptest import errors
    from tests.ui.drive import run_picker
    from ui.picker import UPLOAD
    folder, _, _ = llama
    (path,) = write_gguf(folder, tmp_path / "tiny.gguf", Q.Q8_0)
    monkeypatch.setenv("WEIGHTS_HOSTED", "1")
    at = run_picker(picker_choice=UPLOAD)
    uploader = at.sidebar.file_uploader(key="picker_upload_0")
    assert ".gguf" in uploader.proto.type  # the widget offers .gguf files
    with open(path, "rb") as f:
        uploader.set_value(("tiny-Q8_0.gguf", f.read(), "application/octet-stream")).run()
    assert not errors(at), errors(at)
    assert at.session_state["model_source"].name == "tiny-Q8_0.gguf"
    assert "llama" in at.caption[0].value and "4 heads" in at.caption[0].value
