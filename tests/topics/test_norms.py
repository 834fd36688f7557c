"""topics.norms: the gains are the model's own norm weights (transformers' modules), in depth order."""
import numpy as np
from transformers import AutoModel

from adapters import open_model
from reporting.norms import section
from tests.adapters.harness import build
from topics import norms


def test_minilm_gains_are_bert_layernorm_weights(minilm_dir):
    model = open_model(minilm_dir)
    result = norms.compute(model)
    hf = AutoModel.from_pretrained(minilm_dir)
    expected = [hf.embeddings.LayerNorm.weight]
    for layer in hf.encoder.layer:  # post-norm: the attention block's norm, then the MLP's
        expected += [layer.attention.output.LayerNorm.weight, layer.output.LayerNorm.weight]
    np.testing.assert_array_equal(result.gains, np.stack([w.detach().numpy() for w in expected]))
    assert result.names[:3] == ["embed.ln.w", "blocks.0.ln1.w", "blocks.0.ln2.w"]
    assert norms.labels(result)[:2] == ["embed.ln", "L0 ln1"]
    top = result.outliers[0]
    assert top.count == int((np.nan_to_num(norms.robust_z(result.gains)[:, top.dim]) > norms.OUTLIER_Z).sum())
    text = norms.reading(result)
    assert f"Dimension **{top.dim}** stands out in **{top.count} of 13** norms" in text
    assert section(result).reading == text and section(result).data["outliers"][0]["dim"] == top.dim


def test_gemma_gains_are_one_plus_stored(tmp_path):
    hf, model = build("gemma", tmp_path, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, head_dim=16, vocab_size=100)
    result = norms.compute(model)
    assert result.names == ["blocks.0.ln1.w", "blocks.0.ln2.w", "blocks.1.ln1.w", "blocks.1.ln2.w", "ln_final.w"]
    stored = hf.model.layers[0].input_layernorm.weight.detach().numpy()
    np.testing.assert_allclose(result.gains[0], 1.0 + stored, rtol=1e-6)


def test_no_norms_is_said(tmp_path):
    from safetensors.numpy import save_file

    save_file({"w": np.ones((4, 4), np.float32)}, str(tmp_path / "m.safetensors"))
    result = norms.compute(open_model(str(tmp_path / "m.safetensors")))
    assert result.names == [] and "no norm weights" in norms.reading(result)
    assert section(result).data is None
