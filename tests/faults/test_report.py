"""The report on broken checkpoints: it finishes (exit 0), writes strict JSON, and records what is wrong."""
import json

import pytest

import report
from tests.faults.builder import FAULTS, inject

FAMILIES = ("gpt2", "llama", "bert")
NONFINITE = ("nan", "inf")


def _report(path: str, out) -> dict:
    assert report.main([path, "--out", str(out), "--no-cache", "--quiet"]) == 0
    with open(out / "report.json", encoding="utf-8") as f:
        return json.loads(f.read(), parse_constant=lambda c: pytest.fail(f"report.json holds {c}"))


def _problems(doc: dict) -> list:
    return [r for r in doc["stats"] if r["problem"]]


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("family", FAMILIES)
def test_tiny_model_report(tiny, family, fault, tmp_path):
    doc = _report(inject(tiny(family), tmp_path / "model", fault), tmp_path / "out")
    broken = _problems(doc)
    if fault == "f32max":
        assert not broken  # extreme but finite: every section computed on it
        assert all(r["std"] is not None for r in doc["distributions"])
        return
    assert broken, "the stats section names the broken tensor"
    if fault in NONFINITE:
        assert broken[0]["first_bad"] is not None
        skipped = [r for r in doc["spectral"] if r.get("skipped")]
        assert skipped and "first at" in skipped[0]["skipped"]
        assert doc["layers"] is None or any(r["nan"] or r["inf"] for r in doc["layers"])
    whole_qkv = fault == "zero_layer" or (family == "gpt2" and fault in ("zero", "constant"))  # GPT-2 fuses Q, K, V
    if whole_qkv:
        assert doc["pca"]["skipped"], "a W_QKV without variance is skipped by PCA, with the reason"


@pytest.mark.parametrize("fault", ("nan", "f32max", "zero_layer"))
def test_minilm_report(minilm_dir, fault, tmp_path):
    doc = _report(inject(minilm_dir, tmp_path / "model", fault), tmp_path / "out")
    assert doc["distributions"] and doc["spectral"]
    if fault == "nan":
        assert doc["distributions"][0]["nan"] == 3
        assert doc["heads"]["skipped"][0]["name"] == "blocks.0.attn.W_Q"
