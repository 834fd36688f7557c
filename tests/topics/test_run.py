"""topics.run on a real training run made here: a tiny GPT-2 trained a few Adam steps, saved at each."""
import numpy as np
import pytest
import torch

from adapters import LoadError, open_model
from tests.adapters.harness import build
from topics import run as topic

TINY = dict(n_embd=32, n_layer=2, n_head=2, vocab_size=60, n_positions=16)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """out/checkpoint-{1..4}: four Adam steps of next-token loss on one fixed batch, plus the final save."""
    out = tmp_path_factory.mktemp("run")
    hf, _ = build("gpt2", out / "start", **TINY)
    hf.train()
    opt = torch.optim.Adam(hf.parameters(), lr=3e-3)
    batch = torch.randint(0, 60, (4, 16), generator=torch.Generator().manual_seed(0))
    for step in range(1, 5):
        loss = hf(input_ids=batch, labels=batch).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        hf.save_pretrained(out / f"checkpoint-{step}")
    return out


def test_discover_orders_checkpoints_by_step(trained, tmp_path):
    (trained / "checkpoint-10").mkdir(exist_ok=True)  # empty: a crashed save is still listed (and fails to open)
    try:
        steps = topic.discover(str(trained))
        assert [s.label for s in steps] == ["checkpoint-1", "checkpoint-2", "checkpoint-3", "checkpoint-4",
                                            "checkpoint-10"]
        assert [s.step for s in steps] == [1, 2, 3, 4, 10]
    finally:
        (trained / "checkpoint-10").rmdir()
    assert topic.step_of("EleutherAI/pythia-70m@step143000") == 143000
    assert topic.step_of("runs/x/global_step_20") == 20 and topic.step_of("final") is None
    with pytest.raises(LoadError, match="holds 0 checkpoint"):
        topic.discover(str(tmp_path))
    lines = [f"EleutherAI/pythia-70m@step{n}" for n in (2000, 1000)]
    assert [s.step for s in topic.parse_steps(lines)] == [1000, 2000]


def test_change_since_the_first_checkpoint_grows_step_by_step(trained):
    steps = topic.parse_steps([str(trained)])
    models = [open_model(s.source) for s in steps]
    run = topic.compute(models, steps, with_spectral=False)
    first = {}
    for r in topic.layer_movement(run, "first"):
        first.setdefault(r["order"], []).append(r["value"])
    series = [np.mean(first[o]) for o in sorted(first)]
    assert len(series) == 3 and all(b > a > 0 for a, b in zip(series, series[1:]))
    # one tensor's number against numpy on the raw weights (Conv1D c_fc is W_in as stored)
    raw = [m.raw("transformer.h.1.mlp.c_fc.weight").astype(np.float64) for m in models]
    row = next(r for r in run.rows if (r["order"], r["layer"], r["slot"], r["metric"]) == (3, 1, "mlp.W_in", "change_first"))
    assert row["value"] == pytest.approx(np.linalg.norm(raw[3] - raw[0]) / np.linalg.norm(raw[0]), rel=1e-9)
    norm = next(r for r in run.rows if (r["order"], r["layer"], r["slot"], r["metric"]) == (2, 1, "mlp.W_in", "norm"))
    assert norm["value"] == pytest.approx(np.linalg.norm(raw[2]), rel=1e-9)
    rank = next(r for r in run.rows if (r["order"], r["layer"], r["slot"], r["metric"]) == (1, 1, "mlp.W_in", "rank_prev"))
    assert 1 <= rank["value"] <= 32
    text = topic.reading(run)
    assert text.startswith("4 checkpoints, from checkpoint-1 to checkpoint-4.")
    assert "grows at every step" in text


def test_each_checkpoint_and_pair_is_computed_once_under_a_cache(trained):
    steps = topic.parse_steps([str(trained)])
    models = [open_model(s.source) for s in steps]
    calls, memo = [], {}

    def cached_checkpoint(model):
        key = ("c", model.cache_key)
        if key not in memo:
            calls.append(key)
            memo[key] = topic.checkpoint_rows(model, with_spectral=False)
        return memo[key]

    def cached_pair(a, b, since):
        key = ("p", a.cache_key, b.cache_key, since)
        if key not in memo:
            calls.append(key)
            memo[key] = topic.change_rows(a, b, since)
        return memo[key]

    three = topic.compute(models[:3], steps[:3], per_checkpoint=cached_checkpoint, per_pair=cached_pair)
    n = len(calls)
    four = topic.compute(models, steps, per_checkpoint=cached_checkpoint, per_pair=cached_pair)
    assert len(calls) - n == 3  # the new checkpoint, and its change since the previous and the first
    assert [r for r in four.rows if r["order"] < 3] == three.rows


def test_spectral_metrics_per_checkpoint(trained):
    steps = topic.parse_steps([str(trained / "checkpoint-1"), str(trained / "checkpoint-4")])
    run = topic.compute([open_model(s.source) for s in steps], steps, with_spectral=True)
    assert {r["metric"] for r in run.rows} == set(topic.METRICS)
    assert all(r["value"] > 0 for r in run.metric("stable_rank"))


def test_checkpoints_that_disagree_name_the_step(trained, tmp_path):
    build("gpt2", tmp_path / "checkpoint-9", **{**TINY, "n_layer": 3})
    steps = topic.parse_steps([str(trained / "checkpoint-1"), str(tmp_path / "checkpoint-9")])
    with pytest.raises(topic.RunMismatch, match="Checkpoint checkpoint-9 does not match checkpoint-1: A has 2 layers"):
        topic.compute([open_model(s.source) for s in steps], steps, with_spectral=False)


def test_step_revisions_and_spread():
    from topics.run import spread, step_revisions
    assert step_revisions(["main", "step1000", "step0", "checkpoint-500", "v1.0", "step143000"]) == [
        "step0", "checkpoint-500", "step1000", "step143000"]
    assert spread(list(range(10)), 5) == [0, 2, 4, 7, 9] and spread([1, 2], 5) == [1, 2]
    assert spread(list(range(144)), 5)[0] == 0 and spread(list(range(144)), 5)[-1] == 143
