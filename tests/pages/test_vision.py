"""The positional page on vision transformers: the patch grid's similarity maps, the class token, the filters,
and the reading the report gives too."""
import pytest
import torch

from adapters import open_model
from reporting import positional as report_section
from tests.adapters.harness import build
from tests.pages.apptest import errors, run_page
from tests.pages.vega import charts, titled
from topics import positional as topic
from topics import vision as vision_topic

PAGE = "pages/positional.py"
VISION = dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=4, intermediate_size=48, image_size=24,
              patch_size=4)


def test_vit_shows_the_patch_grid_filters_and_class_token(tmp_path):
    _, model = build("vit", tmp_path, causal_lm=False, **VISION)
    at = run_page(PAGE, source=str(tmp_path))
    assert not errors(at), errors(at)
    result = topic.compute(model)
    maps = titled(at, "Position similarity on the patch grid")
    anchors = {r["anchor"] for r in maps.data[0]}
    assert len(maps.data[0]) == len(anchors) * 36 and len(anchors) == len(result.vision.similarity.anchors)
    one = next(r for r in maps.data[0] if r["anchor"] == "row 0, col 0" and r["row"] == 2 and r["col"] == 3)
    assert one["cosine"] == pytest.approx(float(result.vision.similarity.maps[0, 2, 3]), abs=1e-6)
    assert len(titled(at, "Class token vs patch positions").data[0]) == 36
    assert len(titled(at, "Patch embedding filters").data[0]) == 32 * 16
    assert all(sum(c.rows) <= 5000 for c in charts(at))
    reading = vision_topic.reading(result.vision)
    assert any(m.value == reading for m in at.markdown)
    assert report_section.section(result).reading.startswith(reading)
    titled(at, "W_pos")  # the sequence view stays below


def test_grey_filters_for_other_channel_counts(tmp_path):
    build("vit", tmp_path, causal_lm=False, **VISION, num_channels=2)
    at = run_page(PAGE, source=str(tmp_path))
    assert not errors(at), errors(at)
    filters = titled(at, "Patch embedding filters")
    assert {r["channel"] for r in filters.data[0]} == {"0", "1"} and "2 channels" in filters.subtitle


def test_clip_shows_its_vision_tower_beside_the_text_positions(tmp_path):
    from transformers import AutoConfig, AutoModel
    torch.manual_seed(0)
    text = dict(hidden_size=24, num_hidden_layers=1, num_attention_heads=2, intermediate_size=40, vocab_size=60,
                max_position_embeddings=12)
    AutoModel.from_config(AutoConfig.for_model("clip", text_config=text, vision_config=VISION)).save_pretrained(tmp_path)
    at = run_page(PAGE, source=str(tmp_path))
    assert not errors(at), errors(at)
    assert any(s.value == "Patch grid (vision tower)" for s in at.subheader)
    assert len(titled(at, "Class token vs patch positions").data[0]) == 36
    assert "12 × 24" in titled(at, "W_pos").subtitle  # the text tower's positions
    assert topic.compute(open_model(str(tmp_path))).vision.stack == "vision"
