"""topics.architecture: the parameter budget against transformers' own count, and its one reading."""
from transformers import AutoModel

from reporting.architecture import section
from topics import architecture


def test_minilm_budget_matches_torch(minilm_dir):
    from adapters import open_model

    result = architecture.compute(open_model(minilm_dir))
    hf = AutoModel.from_pretrained(minilm_dir)
    assert result.summary.params_unique == sum(p.numel() for p in hf.parameters()) == 22_713_216
    assert result.n_layers == 6
    assert sum(result.summary.by_category.values()) == result.summary.params_unique
    text = architecture.reading(result)
    assert "**22,713,216** unique parameters (22.7M) in 6 layers" in text


def test_gpt2_tie_and_stored_count_in_reading_and_report(gpt2_small):
    result = architecture.compute(gpt2_small)
    s = result.summary
    assert (s.params_stored, s.params_unique) == (163_037_184, 124_439_808)
    assert s.tied == [("lm_head.weight", "transformer.wte.weight")]
    text = architecture.reading(result)
    assert "`lm_head.weight` is tied to `transformer.wte.weight`" in text and "**163,037,184** as stored" in text
    sec = section(result)
    assert sec.reading == text  # the page and the report say the same thing
    assert sec.data["params_unique"] == 124_439_808 and sec.data["tied"] == [["lm_head.weight",
                                                                            "transformer.wte.weight"]]
    assert len(sec.data["tensors"]) == len(result.tensors) == 149  # 148 stored + the tied lm_head


def test_unmapped_and_buffers_are_said(tmp_path):
    import numpy as np
    from safetensors.numpy import save_file

    from adapters import open_model

    save_file({"encoder.mystery.weight": np.ones((3, 4), np.float32),
               "encoder.position_ids": np.arange(8, dtype=np.int64)[None]}, str(tmp_path / "m.safetensors"))
    result = architecture.compute(open_model(str(tmp_path / "m.safetensors")))
    text = architecture.reading(result)
    assert "**12** unique parameters" in text
    assert "8 values in buffers" in text
    assert "outside the schema" in text and "`encoder.mystery.weight`" in text
