"""report.py end to end on one tiny model of each kind the schema grew for: experts (and latent attention),
encoder-decoders (each stack, and the decoder's cross-attention), vision transformers, hybrids. Every section
is written, report.json parses, and the keys for experts, stacks and 2-D positions are there."""
import json

import pytest

import report
from tests.pages.test_every_family import _build

CASES = {  # arch -> the stacks (views) to report
    "deepseek_v3": ["blocks"],
    "gpt_oss": ["blocks"],
    "t5": ["blocks", "encoder", "cross"],
    "bart": ["blocks"],  # the causal-LM build: BART's decoder alone
    "vit": ["blocks"],
    "clip": ["vision"],
    "jamba": ["blocks"],
}


@pytest.mark.parametrize("arch", sorted(CASES))
def test_report_on_every_kind(arch, tmp_path):
    _build(arch, tmp_path / "model")
    for stack in CASES[arch]:
        out = tmp_path / stack
        assert report.main([str(tmp_path / "model"), "--out", str(out), "--stack", stack, "--no-cache",
                            "--quiet"]) == 0, stack
        doc = json.loads((out / "report.json").read_text())
        assert doc["model"]["arch"] == arch and doc["model"]["stack"] == stack
        assert set(report.TOPICS) <= set(doc), set(report.TOPICS) - set(doc)
        assert doc["heads"] is not None, f"{arch} {stack}: no per-head section"
        if doc["model"]["cfg"]["n_experts"] and stack == "blocks":
            assert doc["experts"]["n_experts"] == doc["model"]["cfg"]["n_experts"]
            assert doc["architecture"]["params_active"] < doc["architecture"]["params_unique"]
        if arch in ("vit", "clip"):
            assert doc["positional"]["vision"]["grid"] == [4, 4]
        if arch == "t5" and stack != "cross":
            assert doc["positional"]["relative"], "T5's relative position bias"
