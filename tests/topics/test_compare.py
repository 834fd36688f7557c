"""topics.compare: two real checkpoints' diffs against numpy on the raw tensors, one tensor's change, the reading."""
import numpy as np
import pytest

from analyses.compare import tensor_diff
from tests.adapters.harness import build
from topics import compare as topic

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
    assert [f for f, _ in seen] == pytest.approx([(i + 1) / len(a.names()) for i in range(len(a.names()))])
    assert seen[0][1] == f"Comparing {a.names()[0]}"
    d = next(d for d in result.diffs if d.name == "blocks.1.mlp.W_in")
    raw = {m: m.raw("transformer.h.1.mlp.c_fc.weight").astype(np.float64) for m in (a, b)}  # Conv1D [in, out]: W_in
    delta = raw[b] - raw[a]
    assert d.rel_change == pytest.approx(np.linalg.norm(delta) / np.linalg.norm(raw[a]), rel=1e-9)
    assert d.max_abs == pytest.approx(np.abs(delta).max())


def test_one_tensors_change_and_its_spectrum(seeds):
    a, b = seeds
    one = topic.change(a, b, "blocks.0.attn.W_O")  # (n_heads, d_head, d_model)
    want = b.weight("blocks.0.attn.W_O").astype(np.float64) - a.weight("blocks.0.attn.W_O")
    np.testing.assert_array_equal(one.delta, want)
    np.testing.assert_allclose(one.singular_values, np.linalg.svd(want.reshape(2, -1), compute_uv=False),
                               rtol=1e-6)
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
    assert "single direction" in topic.reading(topic.Comparison([tensor_diff("w", a, b)]), "A", "B")


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
