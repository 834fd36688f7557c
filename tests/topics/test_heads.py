"""topics.heads on checkpoints: heads against the raw fused GPT-2 tensor and transformers' BERT weights, every
statistic against explicit circuits, the clusters against scipy/sklearn on features written out by hand."""
import os

import numpy as np
import pytest
from scipy.cluster.hierarchy import fcluster, linkage
from sklearn.preprocessing import StandardScaler

from adapters import schema
from analyses.attention import LayerWeights
from tests.adapters.harness import build
from topics import heads as topic

N_HEADS, N_KV, D_MODEL, D_HEAD = 6, 2, 20, 4


@pytest.fixture(scope="module")
def gqa_llama(tmp_path_factory):
    """A tiny Llama: 2 layers, 8 query heads reading 2 kv heads, d_head 4."""
    _, model = build("llama", tmp_path_factory.mktemp("gqa"), hidden_size=32, num_hidden_layers=2,
                     num_attention_heads=8, num_key_value_heads=2, intermediate_size=48, vocab_size=50,
                     max_position_embeddings=32)
    return model


class _Layers:
    """A stand-in model holding only random GQA attention weights, read through the schema's names."""

    def __init__(self, n_layers: int):
        rng = np.random.default_rng(10)
        self.w = {l: LayerWeights(rng.normal(size=(N_HEADS, D_MODEL, D_HEAD)).astype(np.float32),
                                  rng.normal(size=(N_KV, D_MODEL, D_HEAD)).astype(np.float32),
                                  rng.normal(size=(N_KV, D_MODEL, D_HEAD)).astype(np.float32),
                                  rng.normal(size=(N_HEADS, D_HEAD, D_MODEL)).astype(np.float32))
                  for l in range(n_layers)}

    def weight(self, name: str) -> np.ndarray:
        key = schema.parse(name)
        return getattr(self.w[key.layer], key.slot.removeprefix("attn."))


def test_clustering_spans_layers_with_labels():
    model = _Layers(3)
    c = topic.clustering(model, (0, 1, 2), "W_Q")
    assert c.labels[:2] == ["L0H0", "L0H1"] and c.labels[-1] == "L2H5"
    x = StandardScaler().fit_transform(np.concatenate([model.w[l].W_Q.reshape(N_HEADS, -1) for l in range(3)]))
    np.testing.assert_allclose(c.linkage, linkage(x, "ward"), rtol=1e-4, atol=1e-4)
    assert topic.clustering(model, (1,), "W_Q").labels[0] == "H0"


def test_schema_heads_are_output_axis_columns_of_gpt2_c_attn(tmp_path):
    """GPT-2 small's attention shapes: head h of Q is columns [h*64:(h+1)*64] of the Q block of
    c_attn cut along the OUTPUT axis, never a 192-column block of c_attn (three query heads)."""
    _, model = build("gpt2", tmp_path, n_embd=768, n_head=12, n_layer=1, vocab_size=50, n_positions=16)
    raw = model.raw("transformer.h.0.attn.c_attn.weight")  # Conv1D (d_model in, 3*d_model out)
    assert raw.shape == (768, 2304)
    w = topic.layer_weights(model, 0)
    for h in range(12):
        cols = slice(h * 64, (h + 1) * 64)
        np.testing.assert_array_equal(w.W_Q[h], raw[:, cols])
        np.testing.assert_array_equal(w.W_K[h], raw[:, 768:1536][:, cols])
        np.testing.assert_array_equal(w.W_V[h], raw[:, 1536:][:, cols])
    block_1 = raw[:, 192:384]  # the second of 12 equal column blocks: query columns of heads 3, 4 and 5
    np.testing.assert_array_equal(block_1, np.concatenate([w.W_Q[3], w.W_Q[4], w.W_Q[5]], axis=1))
    qk = raw[:, 64:128].astype(np.float64) @ raw[:, 768 + 64:768 + 128].T  # head 1's QK, from raw columns
    np.testing.assert_allclose(topic.statistics(model)["qk_norm"][0, 1], np.linalg.norm(qk), rtol=1e-5)
    c = topic.clustering(model, (0,), "W_Q")  # each head's feature is its own 64 columns
    x = StandardScaler().fit_transform(np.stack([raw[:, h * 64:(h + 1) * 64].ravel() for h in range(12)]))
    np.testing.assert_allclose(c.linkage, linkage(x.astype(np.float64), "ward"), rtol=1e-4, atol=1e-4)


def test_minilm_heads_are_bert_query_rows(minilm_dir):
    from transformers import BertModel

    from adapters import open_model
    model = open_model(minilm_dir)
    bert = BertModel.from_pretrained(minilm_dir)
    d = model.cfg.d_head  # 32
    stats = topic.statistics(model)
    for layer, h in ((0, 0), (3, 7), (5, 11)):
        w = topic.layer_weights(model, layer)
        attn = bert.encoder.layer[layer].attention
        query = attn.self.query.weight.detach().numpy()  # Linear (out = heads*d_head, in = d_model)
        key = attn.self.key.weight.detach().numpy()
        dense = attn.output.dense.weight.detach().numpy()  # (d_model out, heads*d_head in)
        np.testing.assert_array_equal(w.W_Q[h], query[h * d:(h + 1) * d].T)
        np.testing.assert_array_equal(w.W_O[h], dense[:, h * d:(h + 1) * d].T)
        qk = query[h * d:(h + 1) * d].T.astype(np.float64) @ key[h * d:(h + 1) * d]  # (d_model, d_model)
        np.testing.assert_allclose(stats["qk_norm"][layer, h], np.linalg.norm(qk), rtol=1e-5)


@pytest.fixture(scope="module")
def gqa_layers_only(gqa_llama, tmp_path_factory):
    """The same Llama with NaN embeddings and LM head: no circuit to score (and rotary, no W_pos), so heads cluster
    by their weights."""
    from safetensors.numpy import load_file, save_file

    from adapters import open_model
    folder = tmp_path_factory.mktemp("gqa_layers_only")
    source = os.path.dirname(gqa_llama.source) if os.path.isfile(gqa_llama.source) else gqa_llama.source
    tensors = load_file(os.path.join(source, "model.safetensors"))
    broken = {k: np.full_like(v, np.nan) if "embed_tokens" in k or "lm_head" in k else v for k, v in tensors.items()}
    save_file(broken, str(folder / "model.safetensors"))
    with open(os.path.join(source, "config.json"), encoding="utf-8") as f, open(folder / "config.json", "w") as g:
        g.write(f.read())
    return open_model(str(folder))


def _ward_ids(features: np.ndarray, k: int, labels: list[str]) -> list[list[str]]:
    """The clusters scipy and scikit-learn give: standardised features, Ward, cut into k."""
    ids = fcluster(linkage(StandardScaler().fit_transform(features), "ward"), k, "maxclust")
    return [[labels[h] for h in range(len(labels)) if ids[h] == c] for c in sorted(set(ids))]


def test_gqa_compute_numbers(gqa_llama):
    from topics import head_roles
    model = gqa_llama
    result = topic.compute(model)
    W_Q, W_K = model.weight("blocks.1.attn.W_Q"), model.weight("blocks.1.attn.W_K")  # (8, 32, 4), (2, 32, 4)
    W_V, W_O = model.weight("blocks.1.attn.W_V"), model.weight("blocks.1.attn.W_O")
    for h in range(8):  # head h reads kv head h // 4
        qk = W_Q[h].astype(np.float64) @ W_K[h // 4].T  # (d_model, d_model), formed explicitly
        ov = W_V[h // 4].astype(np.float64) @ W_O[h]
        assert result.statistics["qk_norm"][1, h] == pytest.approx(np.linalg.norm(qk), rel=1e-5)
        assert result.statistics["ov_top"][1, h] == pytest.approx(np.linalg.svd(ov)[1][0], rel=1e-5)
    # heads cluster by what they do (the page's default): the scores, one column each
    roles = head_roles.compute(model)
    scores = np.stack([roles.scores[k][1] for k in roles.scores], axis=1)  # (8, n_scores) of layer 1
    assert result.feature == topic.ROLES and set(roles.scores) >= {"copying"}
    assert result.layers[1].members(4) == _ward_ids(scores, 4, [f"H{h}" for h in range(8)])
    everything = np.concatenate([np.stack([roles.scores[k][l] for k in roles.scores], axis=1) for l in (0, 1)])
    labels = [f"L{l}H{h}" for l in (0, 1) for h in range(8)]
    assert result.all_layers.members(4) == _ward_ids(everything, 4, labels)
    assert result.all_layers.labels[8] == "L1H0"
    for key, values in topic.statistics(model).items():  # the page's statistics are the report's
        np.testing.assert_array_equal(values, result.statistics[key])
    tiles = result.tiles
    assert (tiles.layer, tiles.weight, tiles.shape, tiles.axes) == (0, "W_Q", (32, 4), ("d_model", "d_head"))
    assert tiles.values.shape[0] == 8 and tiles.values.size <= topic.TILE_CELLS
    np.testing.assert_allclose(tiles.values.mean(axis=(1, 2)), model.weight("blocks.0.attn.W_Q").mean(axis=(1, 2)),
                               rtol=1e-4, atol=1e-7)  # block means of equal blocks keep each head's mean


def test_all_zero_embeddings_cluster_heads_by_their_weights(gqa_llama, tmp_path):
    """Zero embeddings leave every copying score 0/0: no head has a finite role, so the weights are used."""
    from safetensors.numpy import load_file, save_file

    from adapters import open_model
    source = os.path.dirname(gqa_llama.source) if os.path.isfile(gqa_llama.source) else gqa_llama.source
    tensors = load_file(os.path.join(source, "model.safetensors"))
    save_file({k: np.zeros_like(v) if "embed_tokens" in k or "lm_head" in k else v for k, v in tensors.items()},
              str(tmp_path / "model.safetensors"))
    (tmp_path / "config.json").write_text(open(os.path.join(source, "config.json"), encoding="utf-8").read())
    result = topic.compute(open_model(str(tmp_path)))
    assert result.feature == "weights" and len(result.all_layers.labels) == 16 and set(result.layers) == {0, 1}


def test_without_circuits_heads_cluster_by_their_weights(gqa_layers_only):
    model = gqa_layers_only
    result = topic.compute(model)
    assert result.feature == "weights" and len(result.all_layers.labels) == 16

    def flat(l):  # each head's Q, K, V and O, written out by hand
        W_Q, W_K = model.weight(f"blocks.{l}.attn.W_Q"), model.weight(f"blocks.{l}.attn.W_K")
        W_V, W_O = model.weight(f"blocks.{l}.attn.W_V"), model.weight(f"blocks.{l}.attn.W_O")
        return np.stack([np.concatenate([W_Q[h].ravel(), W_K[h // 4].ravel(), W_V[h // 4].ravel(), W_O[h].ravel()])
                         for h in range(8)])

    assert result.layers[1].members(4) == _ward_ids(flat(1), 4, [f"H{h}" for h in range(8)])
    labels = [f"L{l}H{h}" for l in (0, 1) for h in range(8)]
    assert result.all_layers.members(4) == _ward_ids(np.concatenate([flat(0), flat(1)]), 4, labels)


def test_kv_tiles_have_one_matrix_per_kv_head(gqa_llama):
    tiles = topic.tiles(gqa_llama, 1, "W_K")
    assert tiles.values.shape[0] == 2 and tiles.title == "W_K of layer 1, per head"
    assert topic.tiles(gqa_llama, 0, "W_O").axes == ("d_head", "d_model")


def test_reading_reads_the_statistics_and_the_clusters(gqa_llama):
    result = topic.compute(gqa_llama)
    text = topic.reading(result)
    qk = result.statistics["qk_norm"]
    hi = np.unravel_index(qk.argmax(), qk.shape)
    assert f"**{topic.STATISTICS['qk_norm']}**: largest at **L{hi[0]}H{hi[1]}**" in text
    assert "Most isolated head of each layer" in text and "L0: " in text and "L1: " in text
    assert f"Across all layers ({topic.FEATURES[topic.ROLES]}): Cut into 6 clusters" in text


def test_the_feature_gives_way_when_it_would_not_fit(gqa_llama, gqa_layers_only, monkeypatch):
    assert topic.feature_for(gqa_llama, "weights", 16) == ("weights", None)
    monkeypatch.setattr("analyses.heads.FEATURE_BUDGET", 16 * 4 * 32 * 4 - 1)  # one number short
    feature, why = topic.feature_for(gqa_llama, "weights", 16)
    assert feature == "spectra" and f"would hold {16 * 4 * 32 * 4:,} numbers" in why
    result = topic.compute(gqa_layers_only)  # the report's all-layer clustering by weights gives way too
    assert result.feature == "spectra" and len(result.all_layers.labels) == 16
    assert result.layers[0].members(2)  # each layer's own clusters stay on the weights


def test_model_without_heads(tmp_path):
    build("gpt2", tmp_path, n_embd=40, n_layer=1, n_head=4, vocab_size=60, n_positions=16)
    os.remove(tmp_path / "config.json")  # d_model 40 is no GPT-2 size: the head count is unknown
    from adapters import open_model
    result = topic.compute(open_model(str(tmp_path)))
    assert not result.statistics and result.all_layers is None and result.tiles is None
    assert topic.reading(result) == topic.NO_HEADS and "no per-head view" in topic.NO_HEADS
