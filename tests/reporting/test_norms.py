"""The report's norms section: strict JSON numbers that agree with the topic, and its charts."""
import json

import numpy as np

from adapters import open_model
from report import jsonable
from reporting.norms import section
from topics import norms


def test_norms_section_on_minilm(minilm_dir):
    result = norms.compute(open_model(minilm_dir))
    sec = section(result)
    doc = json.loads(json.dumps(jsonable(sec.data), allow_nan=False))
    assert [r["name"] for r in doc["norms"]] == result.names
    first = doc["norms"][1]
    np.testing.assert_allclose([first["mean"], first["max"]], [result.gains[1].mean(), result.gains[1].max()],
                               rtol=1e-6)
    assert doc["outliers"][0]["count"] == result.outliers[0].count
    assert len(sec.charts) == 2 and all(c.to_dict()["data"] for c in sec.charts)
