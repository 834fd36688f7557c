"""reporting.stats: every tensor's statistics as JSON records, and the health topic's reading."""
import json

import numpy as np
from safetensors.numpy import save_file

import report
from reporting import stats as report_stats
from topics import health as topic


def test_section_has_one_record_per_tensor(tmp_path):
    w = np.arange(12, dtype=np.float32).reshape(3, 4)
    w[0, 0] = np.nan
    path = tmp_path / "m.safetensors"
    save_file({"a.weight": w, "b.bias": np.zeros(5, np.float32)}, str(path))
    from adapters import open_model
    result = topic.compute(open_model(str(path)))
    sec = report_stats.section(result)
    records = json.loads(json.dumps(report.jsonable(sec.data), allow_nan=False))
    assert [r["name"] for r in records] == ["a.weight", "b.bias"]
    a = records[0]
    assert (a["nan"], a["count"], a["min"], a["max"]) == (1, 11, 1.0, 11.0)
    assert a["mean"] == np.mean(np.arange(1, 12))
    assert sec.reading.endswith(topic.reading(result)) and "1 tensors hold NaN or Inf" in sec.reading
    assert sec.reading.startswith(topic.broken_reading(result)) and "first at row" in sec.reading
    assert a["problem"] == "1 NaN (first at row 0, col 0)" and a["first_bad"] == [0, 0]
    assert records[1]["problem"] is None and records[1]["first_bad"] is None  # a zero bias is no broken matrix
