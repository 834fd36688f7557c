"""topics.architecture: the parameter budget against transformers' own count, and its one reading."""
import math

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


def test_storage_of_an_fp8_checkpoint_is_its_real_bytes_on_disk(tmp_path):
    """Every projection FP8 with its block scales: the size by stored type adds up to the file's own data bytes
    (header excluded), the scales counted with their weights and not listed apart."""
    import json
    import os
    import struct

    from adapters import open_model
    from tests.adapters.harness import build
    from tests.adapters.test_quantized import _fp8_checkpoint

    build("llama", tmp_path / "bf", hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
          num_key_value_heads=2, vocab_size=101, max_position_embeddings=32)
    _fp8_checkpoint(tmp_path / "bf", tmp_path / "fp8")
    path = tmp_path / "fp8" / "model.safetensors"
    with open(path, "rb") as f:
        header_len = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(header_len))
    result = architecture.compute(open_model(str(tmp_path / "fp8")))
    s = result.summary
    assert s.bytes == os.path.getsize(path) - 8 - header_len
    fp8 = {k: v for k, v in header.items() if k != "__metadata__" and v["dtype"] == "F8_E4M3"}
    scales = {k: v for k, v in header.items() if k.endswith("_scale_inv")}
    assert len(scales) == len(fp8) == 14 and not [t for t in result.tensors if t.name in scales]
    size = lambda entries: sum(v["data_offsets"][1] - v["data_offsets"][0] for v in entries.values())
    params = sum(math.prod(v["shape"]) for v in fp8.values())
    assert s.by_storage["F8_E4M3"] == {"params": params, "bytes": size(fp8) + size(scales), "tensors": 14}
    assert s.by_storage["F32"]["bytes"] == s.bytes - size(fp8) - size(scales)
    text = architecture.reading(result)
    share = params / s.params_unique
    assert f"F8_E4M3 for {share:.0%} of the parameters at {8 * (size(fp8) + size(scales)) / params:.4g} bits" in text
    sec = section(result)
    assert {r["stored"] for r in sec.data["by_storage"]} == {"F8_E4M3", "F32"} and len(sec.charts) == 3
    row = next(t for t in sec.data["tensors"] if t["name"] == "model.layers.0.self_attn.q_proj.weight")
    assert (row["stored"], row["disk_bytes"], row["scales"]) == ("F8_E4M3", 64 * 64 + 2 * 2 * 4,
                                                                 "32x32 block scales (F32)")


def test_one_stored_type_is_said_once(minilm_dir):
    from adapters import open_model

    result = architecture.compute(open_model(minilm_dir))
    assert list(result.summary.by_storage) == ["F32"]
    assert "On disk: 90.9 MB, all F32 (32 bits a weight)." in architecture.reading(result)
    assert len(section(result).charts) == 2
