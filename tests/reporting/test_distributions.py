"""reporting.distributions: per layer, Q, K and V together, against scipy."""
import json

import numpy as np
import pytest
from scipy import stats

from adapters import open_model
from reporting import distributions


def test_minilm_section(minilm_dir):
    model = open_model(minilm_dir)
    sec = distributions.section(model)
    assert sec.key == "distributions"
    rows = json.loads(json.dumps(sec.data))
    assert [r["layer"] for r in rows] == list(range(6))
    for r in (rows[0], rows[5]):
        assert r["slot"] == "attn.W_QKV"
        l = r["layer"]
        x = np.concatenate([model.weight(f"blocks.{l}.attn.W_{w}").transpose(1, 0, 2).reshape(384, -1)
                            for w in "QKV"], axis=1).astype(np.float64).ravel()
        assert r["mean"] == pytest.approx(x.mean(), abs=1e-9) and r["std"] == pytest.approx(x.std(), rel=1e-7)
        assert r["skew"] == pytest.approx(stats.skew(x), rel=1e-6)
        assert r["kurtosis"] == pytest.approx(stats.kurtosis(x), rel=1e-6)
        ks = stats.kstest(x, "norm", args=(x.mean(), x.std()))
        assert r["ks_statistic"] == pytest.approx(ks.statistic, rel=1e-6)
        assert r["ks_pvalue"] == pytest.approx(ks.pvalue, rel=1e-4, abs=1e-300)
    assert "`blocks.0.attn.W_QKV`" in sec.reading
    for chart in sec.charts:
        chart.to_dict()
