"""reporting.spectral: one JSON record per row of the spectral topic, its reading and charts."""
import json
import math

import pytest

import report
from reporting import spectral as report_spectral
from topics import spectral as topic


@pytest.fixture(scope="module")
def result(minilm_dir):
    from adapters import open_model
    return topic.compute(open_model(minilm_dir))


def test_section_records_every_row_in_order(result):
    sec = report_spectral.section(result)
    assert sec.key == "spectral" and len(sec.data) == len(result.slots) + len(result.heads) == 38 + 432
    first, last = sec.data[0], sec.data[-1]
    assert list(first) == list(report_spectral.FIELDS)
    assert (first["layer"], first["slot"], first["head"]) == (None, "embed.W_E", None)
    assert (last["layer"], last["slot"], last["head"]) == (5, "attn.OV", 11)
    assert first["alpha"] == result.slots[0]["alpha"] and first["rand_alpha"] is None
    assert sec.reading == topic.reading(result)
    assert len(sec.charts) == 2
    for chart in sec.charts:
        chart.to_dict()


def test_non_finite_values_are_null_in_the_json(result):
    zero = dict(result.slots[0], log_spectral_norm=-math.inf, alpha=math.nan)  # as a zero matrix gives
    sec = report_spectral.section(topic.Spectra([zero], [], False))
    record = json.loads(json.dumps(report.jsonable(sec.data), allow_nan=False))[0]
    assert record["log_spectral_norm"] is None and record["alpha"] is None
    assert len(sec.charts) == 1  # no heads: no per-head heatmap
