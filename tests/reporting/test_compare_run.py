"""report.py --compare B and --run SRC ...: the compare and run sections of report.json, from real checkpoints."""
import json

import numpy as np
import pytest
import torch

import report
from tests.adapters.harness import build
from tests.topics.test_compare import LLAMA, _rows_of_heads, _save_changed

TINY = dict(n_embd=32, n_layer=2, n_head=2, vocab_size=60, n_positions=16)


@pytest.fixture
def cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def test_compare_section_lists_every_tensor_and_head(tmp_path, cache_home):
    build("llama", tmp_path / "a", **LLAMA)
    rng = np.random.default_rng(0)
    q = _rows_of_heads([2], 3, rng) @ rng.normal(size=(3, 64)) * 0.05
    _save_changed(tmp_path / "a", tmp_path / "b", {"model.layers.1.self_attn.q_proj.weight": lambda w: w + q})
    out = tmp_path / "out"
    assert report.main([str(tmp_path / "a"), "--compare", str(tmp_path / "b"), "--out", str(out), "--quiet",
                        "--only", "architecture"]) == 0
    doc = json.loads((out / "report.json").read_text())
    rows = doc["compare"]["rows"]
    whole = [r for r in rows if r["head"] is None]
    assert len(whole) == 3 * 9 + 3  # 9 schema tensors per layer (Q K V O, 3 MLP, 2 norms) + embed, unembed, ln_final
    assert {r["tensor"] for r in rows if r["rel_change"]} == {"blocks.1.attn.W_Q"}
    q_row = next(r for r in whole if r["tensor"] == "blocks.1.attn.W_Q")
    assert (q_row["layer"], q_row["slot"], q_row["rank_99"]) == (1, "attn.W_Q", 3)
    assert set(q_row) == {"tensor", "layer", "slot", "head", "expert", "rel_change", "cosine", "max_abs", "rank_99",
                          "effective_rank", "top1_energy", "snr_db", "nonfinite"}
    heads = [r for r in rows if r["tensor"] == "blocks.1.attn.W_Q" and r["head"] is not None]
    assert [r["head"] for r in heads if r["rel_change"]] == [2] and len(heads) == 4
    assert "layer 1 `attn.W_Q`: rank 3" in (out / "report.html").read_text().replace("<code>", "`").replace(
        "</code>", "`")


def test_compare_with_another_architecture_is_one_line(tmp_path, capsys, cache_home):
    build("llama", tmp_path / "a", **LLAMA)
    build("llama", tmp_path / "b", **{**LLAMA, "num_hidden_layers": 2})
    capsys.readouterr()
    assert report.main([str(tmp_path / "a"), "--compare", str(tmp_path / "b"), "--out", str(tmp_path / "o"),
                        "--quiet", "--only", "architecture"]) == 2
    assert capsys.readouterr().err.strip() == ("error: A has 3 layers and B has 2: they are not two checkpoints of "
                                               "one architecture (llama vs llama).")


def test_run_section_and_a_second_look_is_cached(tmp_path, monkeypatch, cache_home):
    hf, _ = build("gpt2", tmp_path / "start", **TINY)
    opt = torch.optim.SGD(hf.parameters(), lr=0.5)
    batch = torch.randint(0, 60, (2, 16), generator=torch.Generator().manual_seed(0))
    for step in (100, 200, 300):
        loss = hf(input_ids=batch, labels=batch).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        hf.save_pretrained(tmp_path / "run" / f"checkpoint-{step}")
    from topics import run as topic
    calls = []
    real = topic.checkpoint_rows
    monkeypatch.setattr(topic, "checkpoint_rows", lambda m, s: calls.append(m.source) or real(m, s))
    out = tmp_path / "out"
    assert report.main(["--run", str(tmp_path / "run"), "--out", str(out), "--quiet"]) == 0
    doc = json.loads((out / "report.json").read_text())
    data = doc["run"]
    assert [c["step"] for c in data["checkpoints"]] == [100, 200, 300]
    assert {r["metric"] for r in data["rows"]} == set(topic.METRICS)
    assert set(data["rows"][0]) == {"checkpoint", "step", "order", "layer", "slot", "metric", "value"}
    assert len(calls) == 3
    assert report.main(["--run", *(str(tmp_path / "run" / f"checkpoint-{s}") for s in (100, 200, 300)),
                        "--out", str(out), "--quiet"]) == 0
    assert len(calls) == 3  # every checkpoint and pair came from the cache
    assert json.loads((out / "report.json").read_text())["run"]["rows"] == data["rows"]


def test_run_needs_two_checkpoints_and_not_a_source_too(tmp_path, capsys):
    assert report.main(["--run", str(tmp_path), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert "holds 0 checkpoint(s)" in capsys.readouterr().err
    assert report.main(["x", "--run", "a", "b", "--out", str(tmp_path / "o")]) == 2
    assert "not both" in capsys.readouterr().err
