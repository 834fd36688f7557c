"""report.py on a tiny ViT: the positional section carries the patch grid's numbers (positional.vision)."""
import json
import math

import report
from tests.adapters.harness import build


def test_report_on_a_tiny_vit(tmp_path):
    build("deit", tmp_path / "model", causal_lm=False, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
          intermediate_size=48, image_size=16, patch_size=4)
    assert report.main([str(tmp_path / "model"), "--out", str(tmp_path / "out"), "--no-cache"]) == 0
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    vision = data["positional"]["vision"]
    assert vision["grid"] == [4, 4] and vision["n_prefix_rows"] == 2 and vision["patch_size"] == 4
    assert [p["name"] for p in vision["prefix"]] == ["class token", "distillation token"]
    assert vision["two_dimensional"] is False and vision["n_filters_drawn"] == 32
    assert math.isfinite(vision["distance_rho"]) and vision["cls_cosine_to_patches"]["min"] >= -1
    assert "Position similarity on the patch grid" in (tmp_path / "out" / "report.html").read_text()
