"""topics.compare: two real checkpoints' diffs against numpy on the raw tensors, one tensor's change, the reading."""
import re
from pathlib import Path

import numpy as np
import pytest

from analyses import compare
from analyses.compare import tensor_diff
from tests.adapters.harness import build
from topics import compare as topic
from topics import compare_rows

TINY = dict(n_embd=32, n_layer=2, n_head=2, vocab_size=60, n_positions=16)


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    """Two tiny GPT-2s of different seeds, opened."""
    (_, a), (_, b) = (build("gpt2", tmp_path_factory.mktemp(f"seed{s}"), seed=s, **TINY) for s in (0, 1))
    return a, b


def test_every_shared_tensor_is_compared_with_progress(seeds):
    a, b = seeds
    seen = []
    result = topic.compute(a, b, progress=lambda fraction, text: seen.append((fraction, text)))
    assert [d.name for d in result.diffs] == a.names()  # same family: schema names, each once
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert len(result.heads) == 2 * 4 * 2  # layers x (Q, K, V, O) x heads
    assert seen[-1][1] == f"Comparing: {len(a.names())} of {len(a.names())} tensors"
    d = next(d for d in result.diffs if d.name == "blocks.1.mlp.W_in")
    raw = {m: m.raw("transformer.h.1.mlp.c_fc.weight").astype(np.float64) for m in (a, b)}  # Conv1D [in, out]: W_in
    delta = raw[b] - raw[a]
    assert d.rel_change == pytest.approx(np.linalg.norm(delta) / np.linalg.norm(raw[a]), rel=1e-9)
    assert d.max_abs == pytest.approx(np.abs(delta).max())


def test_one_tensors_change_and_its_spectrum(seeds):
    a, b = seeds
    one = topic.change(a, b, "blocks.0.attn.W_O")  # (n_heads, d_head, d_model) applied as (n_heads*d_head, d_model)
    want = b.weight("blocks.0.attn.W_O").astype(np.float64) - a.weight("blocks.0.attn.W_O")
    np.testing.assert_array_equal(one.delta, want.reshape(-1, 32))
    np.testing.assert_allclose(one.singular_values, np.linalg.svd(want.reshape(-1, 32), compute_uv=False),
                               rtol=1e-6)
    head = topic.change(a, b, "blocks.0.attn.W_O", head=1)
    np.testing.assert_array_equal(head.delta, want[1])
    assert topic.change(a, b, "blocks.0.ln1.w").singular_values is None  # a vector: no spectrum


def test_reading_of_two_seeds_names_the_largest_change(seeds):
    result = topic.compute(*seeds)
    top = max(result.diffs, key=lambda d: d.rel_change)
    text = topic.reading(result, "A", "B")
    changed = sum(d.rel_change > 0 for d in result.diffs)
    assert text.startswith(f"{changed} of {len(result.diffs)} shared tensors differ")
    assert f"the largest is `{top.name}` at **{top.rel_change:.2%}**" in text


def test_low_rank_update_is_detected():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(64, 48))
    b = a + np.outer(rng.normal(size=64), rng.normal(size=48))  # a rank-1 fine-tune
    text = topic.reading(topic.Comparison([tensor_diff("w", a, b)]), "A", "B")
    assert "1 changed matrix is low-rank" in text and "`w`: rank 1" in text and "a LoRA of rank 1" in text


def test_a_change_to_all_zero_has_no_cosine():
    a = np.random.default_rng(0).normal(size=(8, 6))
    text = topic.reading(topic.Comparison([tensor_diff("w", a, np.zeros_like(a))]), "A", "B")
    assert "at **100.00%** (no cosine: a side is all zero)" in text


def test_identical_and_empty():
    a = np.ones((3, 4), np.float32)
    assert "identical" in topic.reading(topic.Comparison([tensor_diff("w", a, a.copy())]), "A", "B")
    assert "nothing to compare" in topic.reading(topic.Comparison([]))


def test_itself_is_identical(minilm_dir):
    from adapters import open_model
    model = open_model(minilm_dir)
    text = topic.reading(topic.compute(model, model), "M", "M")
    assert text == f"**M** and **M** are identical in all {len(model.names())} shared tensors."


def test_tensors_with_nan_or_inf_are_listed_and_their_svd_skipped(seeds, tmp_path):
    from safetensors.numpy import save_file
    from adapters import open_model
    a, b = seeds
    tensors = {n: np.array(a.raw(n)) for n in a.raw_names()}
    tensors["transformer.h.1.mlp.c_fc.weight"][0, 3] = np.nan  # Conv1D [in, out]: W_in as stored
    save_file(tensors, str(tmp_path / "broken.safetensors"))
    broken = open_model(str(tmp_path / "broken.safetensors"))
    result = topic.compute(broken, b)
    (bad,) = result.unmeasured()
    assert bad.name == "blocks.1.mlp.W_in" and bad.reason == "A holds 1 NaN (first at row 0, col 3)"
    text = topic.reading(result, "A", "B")
    assert text.startswith("⚠️ 1 tensor not compared (NaN or Inf): `blocks.1.mlp.W_in` A holds 1 NaN")
    assert f"of {len(result.diffs) - 1} shared tensors differ" in text
    one = topic.change(broken, b, "blocks.1.mlp.W_in")
    assert one.singular_values is None and one.skipped == "A holds 1 NaN (first at row 0, col 3)"
    assert np.isnan(one.delta[0, 3]) and np.isfinite(np.delete(one.delta.ravel(), 3)).all()
    assert topic.change(broken, b, "blocks.0.mlp.W_in").skipped is None


# ---- planted changes on a tiny Llama (GQA: 4 query heads, 2 key/value heads of 16) ---------------
LLAMA = dict(hidden_size=64, intermediate_size=96, num_hidden_layers=3, num_attention_heads=4,
             num_key_value_heads=2, vocab_size=50, max_position_embeddings=32)
D_HEAD = 16


def _save_changed(src, dst, change: dict):
    """A copy of checkpoint folder `src` in `dst` with `change[name](array)` applied to the named tensors."""
    import shutil
    from safetensors.numpy import load_file, save_file
    dst.mkdir()
    shutil.copy(src / "config.json", dst / "config.json")
    tensors = load_file(str(src / "model.safetensors"))
    for name, fn in change.items():
        tensors[name] = fn(tensors[name]).astype(tensors[name].dtype)
    save_file(tensors, str(dst / "model.safetensors"), metadata={"format": "pt"})


def _rows_of_heads(heads, rank, rng):
    """U [n_heads*d_head, rank] nonzero only in the rows of `heads` (q_proj is stored [out, in])."""
    u = np.zeros((4 * D_HEAD, rank))
    for h in heads:
        u[h * D_HEAD:(h + 1) * D_HEAD] = rng.normal(size=(D_HEAD, rank))
    return u


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    from adapters import open_model
    root = tmp_path_factory.mktemp("planted")
    _, base = build("llama", root / "a", **LLAMA)
    rng = np.random.default_rng(0)
    q0 = _rows_of_heads(range(4), 1, rng) @ rng.normal(size=(1, 64)) * 0.05  # rank 1 across every head
    q1 = _rows_of_heads([1, 3], 2, rng) @ rng.normal(size=(2, 64)) * 0.05  # rank 2 in heads 1 and 3 only
    noise = rng.normal(size=(64, 96)) * 0.01  # a full-rank change of one MLP
    _save_changed(root / "a", root / "b", {
        "model.layers.0.self_attn.q_proj.weight": lambda w: w + q0,
        "model.layers.1.self_attn.q_proj.weight": lambda w: w + q1,
        "model.layers.2.mlp.down_proj.weight": lambda w: w + noise})
    return base, open_model(str(root / "b"))


def test_planted_changes_are_found_exactly(planted):
    result = topic.compute(*planted)
    changed = {d.name: d for d in result.diffs if d.rel_change > 0}
    assert set(changed) == {"blocks.0.attn.W_Q", "blocks.1.attn.W_Q", "blocks.2.mlp.W_out"}
    assert all(d.rel_change == 0 and d.max_abs == 0 for d in result.diffs if d.name not in changed)
    # the rank of the matrix the layer applies (d_model x n_heads*d_head), not of a per-head reshape (which
    # reads a rank-1 update spread over 4 heads as rank 4)
    assert changed["blocks.0.attn.W_Q"].rank_99 == 1 and changed["blocks.0.attn.W_Q"].matrix_shape == (64, 64)
    assert changed["blocks.1.attn.W_Q"].rank_99 == 2
    assert changed["blocks.2.mlp.W_out"].rank_99 > 40
    moved = {(h.name, h.head): h for h in result.heads if h.rel_change > 0}
    assert set(moved) == {("blocks.0.attn.W_Q", h) for h in range(4)} | {("blocks.1.attn.W_Q", 1),
                                                                       ("blocks.1.attn.W_Q", 3)}
    assert moved["blocks.1.attn.W_Q", 3].rank_99 == 2 and moved["blocks.0.attn.W_Q", 2].rank_99 == 1
    assert len(result.heads) == 3 * (4 + 2 + 2 + 4)  # K and V have the 2 key/value heads
    assert {r["head"] for r in compare_rows.records(result) if r["tensor"] == "blocks.1.attn.W_K"} == {None, 0, 1}


def test_planted_changes_reading_names_ranks_and_heads(planted):
    text = topic.reading(topic.compute(*planted), "base", "tuned")
    assert text.startswith("3 of ")
    assert "**2 changed matrices are low-rank**" in text and "as LoRA updates would leave" in text
    assert "layer 0 `attn.W_Q`: rank 1; layer 1 `attn.W_Q`: rank 2" in text
    assert re.search(r"`blocks.2.mlp.W_out` \(rank \d\d of 64\) changed in many directions", text)
    assert "Per head, 6 of 36 Q/K/V/O head matrices changed" in text and "layer 1 head 3 W_Q" in text


def test_layer_ranges():
    assert topic.layer_ranges([3]) == "layer 3"
    assert topic.layer_ranges([2, 3]) == "layers 2-3"
    assert topic.layer_ranges([5, 0, 1, 2]) == "layers 0-2, 5"


def test_models_that_cannot_be_compared_are_named(planted, tmp_path):
    base, _ = planted
    _, other = build("llama", tmp_path / "wide", **{**LLAMA, "num_attention_heads": 8, "num_key_value_heads": 8})
    with pytest.raises(topic.NotComparable, match="A has n_heads = 4 and B has n_heads = 8"):
        topic.compute(base, other)
    _, deeper = build("llama", tmp_path / "deep", **{**LLAMA, "num_hidden_layers": 4})
    with pytest.raises(topic.NotComparable, match="A has 3 layers and B has 4"):
        topic.compute(base, deeper)
    _, mlp = build("llama", tmp_path / "mlp", **{**LLAMA, "intermediate_size": 128})
    with pytest.raises(topic.NotComparable, match="d_mlp = 96 .* d_mlp = 128"):
        topic.compute(base, mlp)
    _, gpt2 = build("gpt2", tmp_path / "gpt2", **TINY)
    with pytest.raises(topic.NotComparable, match="A has 3 layers and B has 2"):
        topic.compute(base, gpt2)


def test_a_resized_vocabulary_leaves_only_the_embeddings_out(planted, tmp_path):
    base, _ = planted
    _, bigger = build("llama", tmp_path / "vocab", **{**LLAMA, "vocab_size": 52})
    result = topic.compute(base, bigger)
    assert [n for n, _, _ in result.left_out] == ["embed.W_E", "unembed.W_U"]
    assert "2 tensor(s) of another size left out: `embed.W_E` 50 x 64 vs 52 x 64" in topic.reading(result)


def test_generic_layout_against_a_family_is_refused(planted, tmp_path):
    from safetensors.numpy import save_file
    from adapters import open_model
    save_file({"foo.weight": np.ones((4, 4), np.float32)}, str(tmp_path / "x.safetensors"))
    with pytest.raises(topic.NotComparable, match="A reads as llama, B as an unknown layout"):
        topic.compute(planted[0], open_model(str(tmp_path / "x.safetensors")))


def test_large_plain_matrices_streamed_from_disk_equal_the_whole_arrays(planted, monkeypatch):
    whole = {d.name: d for d in topic.compute(*planted).diffs}
    streamed_names = []
    real = topic._streamed_task
    monkeypatch.setattr(topic, "STREAM_ELEMS", 1000)  # every tall plain matrix of the tiny model
    monkeypatch.setattr(topic, "_streamed_task", lambda name, *a: streamed_names.append(name) or real(name, *a))
    monkeypatch.setattr(compare, "BLOCK_ELEMS", 500)  # several blocks each
    streamed = {d.name: d for d in topic.compute(*planted).diffs}
    # tall as stored ([96, 64] up and gate projections); the others are wide and read whole
    assert sorted(streamed_names) == sorted(f"blocks.{l}.mlp.{s}" for l in range(3) for s in ("W_in", "W_gate"))
    for name in streamed_names:
        w, s = whole[name], streamed[name]
        assert (s.shape, s.rank_99, s.matrix_shape) == (w.shape, w.rank_99, w.matrix_shape), name
        for field in ("rel_change", "cosine", "max_abs", "delta_top1_energy"):
            assert getattr(s, field) == pytest.approx(getattr(w, field), rel=1e-9, abs=1e-12, nan_ok=True), (name, field)


def test_a_streamed_matrix_with_nan_is_named_where(planted, tmp_path, monkeypatch):
    from adapters import open_model
    base, _ = planted
    root = tmp_path / "nan"
    _save_changed(Path(base.located.files[0]).parent, root, {
        "model.layers.0.mlp.up_proj.weight": lambda w: np.where(np.arange(w.size).reshape(w.shape) == 70, np.nan, w)})
    monkeypatch.setattr(topic, "STREAM_ELEMS", 1000)
    result = topic.compute(base, open_model(str(root)))
    (bad,) = result.unmeasured()
    # W_in is up_proj transposed ([d_model, d_mlp]): stored element 70 (row 1, col 6) is at row 6, col 1
    assert bad.name == "blocks.0.mlp.W_in" and bad.reason == "B holds 1 NaN (first at row 6, col 1)"


def test_a_change_to_one_expert_is_found_as_that_expert(tmp_path):
    """A tiny Mixtral whose layer 1 expert 3 up-projection (w3, the schema's W_in) got a rank-1 change: the stacked
    slot changed, and per expert exactly that one, at rank 1 (the stack alone would not say which expert)."""
    from adapters import open_model
    tiny = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                intermediate_size=48, vocab_size=101, max_position_embeddings=64, num_local_experts=5,
                num_experts_per_tok=2)
    _, base = build("mixtral", tmp_path / "a", **tiny)
    rng = np.random.default_rng(1)
    update = rng.normal(size=(48, 1)) @ rng.normal(size=(1, 64)) * 0.05  # w3 is stored [d_expert, d_model]
    _save_changed(tmp_path / "a", tmp_path / "b", {"model.layers.1.block_sparse_moe.experts.3.w3.weight":
                                                   lambda w: w + update})
    result = topic.compute(base, open_model(str(tmp_path / "b")))
    assert {d.name for d in result.diffs if d.rel_change > 0} == {"blocks.1.mlp.experts.W_in"}
    assert len(result.experts) == 2 * 3 * 5  # layers x (W_gate, W_in, W_out) x experts
    moved = [(e.name, e.head) for e in result.experts if e.rel_change > 0]
    assert moved == [("blocks.1.mlp.experts.W_in", 3)]
    one = next(e for e in result.experts if e.rel_change > 0)
    w3 = base.raw("model.layers.1.block_sparse_moe.experts.3.w3.weight").astype(np.float64)
    assert one.rel_change == pytest.approx(np.linalg.norm(update) / np.linalg.norm(w3), rel=1e-4)
    assert one.rank_99 == 1
    rows = [r for r in compare_rows.records(result) if r["tensor"] == "blocks.1.mlp.experts.W_in"]
    assert [r["expert"] for r in rows] == [None, 0, 1, 2, 3, 4] and all(r["head"] is None for r in rows)
    assert "Per expert, 1 of 30 expert matrices changed; the most: layer 1 expert 3 `mlp.experts.W_in`" in \
        topic.reading(result)
