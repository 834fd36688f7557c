"""report.py on a tiny Mixtral: the experts section and the active parameter count in report.json."""
import json

import numpy as np
import pytest

import report
from tests.adapters.harness import build

TINY = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
            intermediate_size=48, vocab_size=101, max_position_embeddings=64, num_local_experts=4)


def test_report_json_has_experts_and_active_parameters(tmp_path):
    hf, model = build("mixtral", tmp_path / "model", **TINY)
    out = tmp_path / "out"
    assert report.main([str(tmp_path / "model"), "--out", str(out), "--only", "architecture,experts",
                        "--no-cache", "--quiet"]) == 0
    doc = json.loads((out / "report.json").read_text())
    assert doc["model"]["stack"] == "blocks" and doc["model"]["stacks"] == ["blocks"]
    assert doc["model"]["cfg"]["n_experts"] == 4 and doc["model"]["cfg"]["n_experts_per_token"] == 2
    total = sum(p.numel() for p in hf.parameters())
    routed = sum(p.numel() for n, p in hf.named_parameters() if ".experts." in n)
    assert doc["architecture"]["params_routed_experts"] == routed
    assert doc["architecture"]["params_active"] == total - routed + routed // 2
    ex = doc["experts"]
    assert ex["layers"] == [0, 1] and ex["n_experts"] == 4 and len(ex["metrics"]["alpha"][1]) == 4
    w = model.weight("blocks.1.mlp.experts.W_in", expert=2).astype(np.float64)
    assert ex["metrics"]["std"][1][2] == pytest.approx(w.std(), rel=1e-6)
    router = hf.model.layers[0].mlp.gate.weight.detach().double().numpy()
    np.testing.assert_allclose(ex["router_norms"][0], np.linalg.norm(router, axis=1), rtol=1e-6)
    assert "MoE layers of" in (out / "report.html").read_text()


def test_report_on_a_dense_model_says_it_has_no_experts(minilm_dir, tmp_path):
    assert report.main([minilm_dir, "--out", str(tmp_path), "--only", "experts", "--no-cache", "--quiet"]) == 0
    assert json.loads((tmp_path / "report.json").read_text())["experts"] is None


def test_unknown_stack_is_one_clear_error(minilm_dir, tmp_path, capsys):
    assert report.main([minilm_dir, "--out", str(tmp_path), "--stack", "encoder", "--quiet"]) == 2
    assert "this model's stacks are blocks" in capsys.readouterr().err
