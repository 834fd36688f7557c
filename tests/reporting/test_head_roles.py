"""Report section "head_roles": the topic's scores as JSON, its reading, charts on the scores' fixed ranges."""
import json

import numpy as np

import report
from reporting import head_roles
from tests.adapters.harness import build
from topics import head_roles as topic


def test_section_on_a_tiny_gpt2(tmp_path):
    _, model = build("gpt2", tmp_path, n_embd=32, n_layer=2, n_head=4, vocab_size=60, n_positions=16)
    result = topic.compute(model)
    sec = head_roles.section(result)
    assert sec.key == "head_roles" and sec.reading == topic.reading(result)
    np.testing.assert_allclose(sec.data["scores"]["copying"]["by_layer_and_head"], result.scores["copying"], atol=1e-6)
    assert sec.data["scores"]["copying"]["range"] == [-1.0, 1.0]
    assert [c.to_dict()["encoding"]["color"]["scale"]["domain"] for c in sec.charts] == [[-1.0, 1.0], [0.0, 1.0]]
    json.dumps(report.jsonable(sec.data), allow_nan=False)


def test_no_heads_is_a_reading_only(tmp_path):
    import os
    build("gpt2", tmp_path, n_embd=40, n_layer=1, n_head=4, vocab_size=60, n_positions=16)
    os.remove(tmp_path / "config.json")
    from adapters import open_model
    sec = head_roles.section(topic.compute(open_model(str(tmp_path))))
    assert sec.data is None and "No per-head attention weights" in sec.reading


def test_report_has_the_section(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    build("gpt2", tmp_path / "m", n_embd=32, n_layer=2, n_head=4, vocab_size=60, n_positions=16)
    assert report.main([str(tmp_path / "m"), "--out", str(tmp_path / "out"), "--only", "head_roles"]) == 0
    doc = json.loads((tmp_path / "out" / "report.json").read_text())
    assert doc["head_roles"]["scores"]["previous"]["by_layer_and_head"]
    assert "What each head does" in (tmp_path / "out" / "report.html").read_text()
