import numpy as np
from safetensors.numpy import save_file

from tests.pages.apptest import errors, run_page
from tests.pages.vega import titled


def test_health_on_bundled_model():
    at = run_page("pages/health.py")
    assert not errors(at), errors(at)
    assert any("All 104 tensors are finite" in m.value for m in at.markdown), [m.value for m in at.markdown]
    assert len(at.dataframe[0].value) == 104
    text = " ".join(m.value for m in at.markdown)
    assert "in `embeddings.position_ids`" not in text and "Left out as not weights: `embeddings.position_ids`" in text
    chart = titled(at, "Largest |weight| per tensor, by layer")
    assert len(chart.data[0]) == 103 and "embeddings.position_ids" not in {r["tensor"] for r in chart.data[0]}
    assert chart.spec["encoding"]["y"]["scale"]["type"] == "symlog"
    at.radio(key="health_metric").set_value("kurtosis").run()
    assert not errors(at), errors(at)
    chart = titled(at, "Excess kurtosis per tensor, by layer")
    peak = max(chart.data[0], key=lambda r: r["value"])
    assert peak["tensor"] == "encoder.layer.0.output.dense.weight" and peak["layer"] == "0"


def test_health_flags_nan_and_inf(tmp_path):
    w = np.ones((4, 8), np.float32)
    w[0, 0], w[1, 1], w[2, 2] = np.nan, np.inf, -np.inf
    path = tmp_path / "bad.safetensors"
    save_file({"layers.0.weight": w, "layers.1.weight": np.arange(6, dtype=np.float32).reshape(2, 3)}, str(path))
    at = run_page("pages/health.py", source=str(path))
    assert not errors(at), errors(at)
    text = " ".join(m.value for m in at.markdown)
    assert "1 tensors hold NaN or Inf" in text and "1 NaN and 2 Inf" in text
    assert "constant (std 0)" in text  # the finite part of the first tensor is all ones
    at.toggle(key="health_only_bad").set_value(True).run()
    assert list(at.dataframe[0].value["tensor"]) == ["layers.0.weight"]
