"""topics.health: the scan's numbers against numpy, the progress it reports, and its reading."""
import numpy as np
import pytest
from safetensors.numpy import save_file
from scipy import stats as sps

from analyses.tensor_stats import tensor_stats
from topics import health as topic


def test_reading_names_the_heaviest_tails_and_largest_weight():
    rng = np.random.default_rng(0)
    normal = rng.normal(size=20000).astype(np.float32)
    spiky = normal.copy()
    spiky[:5] = 200.0  # a few huge weights
    s = [tensor_stats(normal, "normal"), tensor_stats(spiky, "spiky")]
    assert s[1].kurtosis == sps.kurtosis(spiky.astype(np.float64), bias=True) or abs(
        s[1].kurtosis - sps.kurtosis(spiky.astype(np.float64))) < 1e-6 * abs(s[1].kurtosis)
    text = topic.reading(topic.Health(s))
    assert "All 2 tensors are finite" in text
    assert "heaviest is `spiky`" in text and "in `spiky`" in text and "200" in text
    assert topic.reading(topic.Health([])) == "The checkpoint holds no tensors."


def test_compute_counts_non_finite_values_and_reports_progress(tmp_path):
    bad = np.arange(32, dtype=np.float32).reshape(4, 8)
    bad[0, 0], bad[1, 1], bad[2, 2] = np.nan, np.inf, -np.inf
    ones = np.ones((3, 5), np.float32)
    path = tmp_path / "bad.safetensors"
    save_file({"a.weight": bad, "b.weight": ones}, str(path))
    from adapters import open_model
    seen = []
    result = topic.compute(open_model(str(path)), progress=lambda fraction, text: seen.append((fraction, text)))
    by_name = {s.name: s for s in result.stats}
    finite = bad[np.isfinite(bad)].astype(np.float64)
    a = by_name["a.weight"]
    assert (a.nan, a.inf, a.count) == (1, 2, 29)
    assert a.mean == pytest.approx(finite.mean()) and a.std == pytest.approx(finite.std())
    assert (a.min, a.max) == (finite.min(), finite.max())
    assert by_name["b.weight"].std == 0
    assert [f for f, _ in seen] == [0.5, 1.0] and seen[-1][1].startswith("2/2: ")
    text = topic.reading(result)
    assert "1 tensors hold NaN or Inf" in text and "1 NaN and 2 Inf" in text
    assert "1 tensor is constant (std 0), e.g. `b.weight`" in text
    assert "The largest |weight| is 31, in `a.weight`." in text


def test_a_buffer_is_never_the_largest_weight(tmp_path):
    rng = np.random.default_rng(1)
    w = rng.normal(size=(16, 8)).astype(np.float32)
    w[3, 2] = 9.5  # the planted largest weight
    path = tmp_path / "model.safetensors"
    save_file({"h.0.weight": w, "h.1.weight": rng.normal(size=(8, 8)).astype(np.float32),
               "position_ids": np.arange(512, dtype=np.int64)[None]}, str(path))
    from adapters import open_model
    result = topic.compute(open_model(str(path)))
    text = topic.reading(result)
    assert "The largest |weight| is 9.5, in `h.0.weight`." in text
    assert "Left out as not weights: `position_ids`" in text
    rows = topic.chart_rows(result)
    assert {r["tensor"] for r in rows} == {"h.0.weight", "h.1.weight"}
    assert {r["tensor"]: r["max_abs"] for r in rows}["h.0.weight"] == pytest.approx(9.5)
    assert {r["tensor"]: r["kurtosis"] for r in rows}["h.0.weight"] == pytest.approx(
        sps.kurtosis(w.astype(np.float64).ravel()), rel=1e-6)
