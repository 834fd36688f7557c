"""reporting.heads: the report's JSON of the heads topic, checked against explicit circuits and scipy."""
import json
import os

import numpy as np
import pytest
from scipy.cluster.hierarchy import fcluster, linkage
from sklearn.preprocessing import StandardScaler

from reporting import heads as report
from tests.adapters.harness import build
from topics import head_roles
from topics import heads as topic


def test_gqa_section_numbers(tmp_path):
    _, model = build("llama", tmp_path, hidden_size=32, num_hidden_layers=2, num_attention_heads=8,
                     num_key_value_heads=2, intermediate_size=48, vocab_size=50, max_position_embeddings=32)
    sec = report.section(topic.compute(model))
    assert sec.key == "heads" and len(sec.charts) == 5
    data = json.loads(json.dumps(sec.data))
    W_Q, W_K = model.weight("blocks.1.attn.W_Q"), model.weight("blocks.1.attn.W_K")  # (8, 32, 4), (2, 32, 4)
    W_V, W_O = model.weight("blocks.1.attn.W_V"), model.weight("blocks.1.attn.W_O")
    for h in range(8):  # head h reads kv head h // 4
        qk = W_Q[h].astype(np.float64) @ W_K[h // 4].T  # (d_model, d_model), formed explicitly
        ov = W_V[h // 4].astype(np.float64) @ W_O[h]
        stats = data["statistics"]
        assert stats["qk_norm"]["by_layer_and_head"][1][h] == pytest.approx(np.linalg.norm(qk), rel=1e-5)
        assert stats["ov_top"]["by_layer_and_head"][1][h] == pytest.approx(np.linalg.svd(ov)[1][0], rel=1e-5)
    roles = head_roles.compute(model)  # heads cluster by what they do, as on the page
    features = np.stack([roles.scores[k][1] for k in roles.scores], axis=1)  # (8, n_scores)
    ids = fcluster(linkage(StandardScaler().fit_transform(features), "ward"), 4, "maxclust")
    expected = [[f"H{h}" for h in range(8) if ids[h] == c] for c in sorted(set(ids))]
    assert data["layers"]["1"]["clusters"] == expected
    assert data["all_layers"]["feature"] == topic.FEATURES[topic.ROLES]
    assert sum(len(g) for g in data["all_layers"]["clusters"]) == 16
    assert (data["n_heads"], data["n_kv_heads"], data["d_head"]) == (8, 2, 4)
    assert "Across all layers" in sec.reading and "QK circuit" in sec.reading
    assert sec.reading == topic.reading(topic.compute(model))  # the page's words, said once
    for chart in sec.charts:
        chart.to_dict()


def test_model_without_heads_has_null_data(tmp_path):
    build("gpt2", tmp_path, n_embd=40, n_layer=1, n_head=4, vocab_size=60, n_positions=16)
    os.remove(tmp_path / "config.json")  # d_model 40 is no GPT-2 size: the head count is unknown
    from adapters import open_model
    sec = report.section(topic.compute(open_model(str(tmp_path))))
    assert sec.data is None and "no per-head view" in sec.reading and not sec.charts
