import numpy as np
from scipy import stats as sps

from analyses.health import reading
from analyses.tensor_stats import tensor_stats


def test_reading_names_the_heaviest_tails_and_largest_weight():
    rng = np.random.default_rng(0)
    normal = rng.normal(size=20000).astype(np.float32)
    spiky = normal.copy()
    spiky[:5] = 200.0  # a few huge weights
    s = [tensor_stats(normal, "normal"), tensor_stats(spiky, "spiky")]
    assert s[1].kurtosis == sps.kurtosis(spiky.astype(np.float64), bias=True) or abs(
        s[1].kurtosis - sps.kurtosis(spiky.astype(np.float64))) < 1e-6 * abs(s[1].kurtosis)
    text = reading(s)
    assert "All 2 tensors are finite" in text
    assert "heaviest is `spiky`" in text and "in `spiky`" in text and "200" in text
