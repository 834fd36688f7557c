"""Configs the generic fallback reads instead of refusing: a hierarchical vision model's per-stage head counts
(Swin), and a layer count that counts passes over fewer stored layers (Dory). A plain truncated checkpoint is
still refused."""
import json

import pytest

from adapters import LoadError, open_model
from tests.adapters.test_coverage import build_tiny


def test_per_stage_head_counts_open_generic_with_a_note(tmp_path):
    build_tiny("swin", str(tmp_path))
    model = open_model(str(tmp_path))
    assert model.arch == "generic" and not model.has_heads and model.cfg.n_heads is None
    assert any("per stage" in n.text and "num_heads" in n.text for n in model.cfg.notes)


def test_per_stage_values_are_still_checked(tmp_path):
    build_tiny("swin", str(tmp_path))
    cfg = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**cfg, "num_heads": [3, 0, 12, 24]}))
    with pytest.raises(LoadError, match=r"num_heads\[1\]"):
        open_model(str(tmp_path))


def test_repeated_layers_are_accepted_with_a_note(tmp_path):
    build_tiny("dory", str(tmp_path))
    model = open_model(str(tmp_path))
    assert model.arch == "generic" and model.cfg.n_layers == 2
    assert any(n.kind == "maths" and "counts passes" in n.text for n in model.cfg.notes)
