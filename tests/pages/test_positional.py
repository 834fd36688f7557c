"""The positional page, driven by AppTest: bundled MiniLM, a tiny GPT-2, a rotary model, a model without W_pos."""
import numpy as np
import pytest
from safetensors.numpy import save_file

from adapters import open_model
from analyses import positional as pos
from reporting import positional as report_section
from topics import positional as topic
from tests.pages.apptest import errors, run_page
from tests.pages.vega import charts, titled

PAGE = "pages/positional.py"
LEARNED_CHARTS = ["W_pos", "Chosen dimensions", "Highest-", "Correlation of each position", "Cosine similarity",
                  "Dominant period"]


def test_bundled_model_shows_every_chart_and_the_reading(minilm_dir):
    at = run_page(PAGE)
    assert not errors(at), errors(at)
    assert at.title[0].value == "Positional embeddings"
    shown = charts(at)
    for prefix in LEARNED_CHARTS:
        titled(at, prefix)
    assert all(sum(c.rows) <= 5000 for c in shown)
    assert "downsampled" in titled(at, "W_pos").subtitle and "512 × 384" in titled(at, "W_pos").subtitle
    result = topic.compute(open_model(minilm_dir))
    s = result.learned.summary
    reading = topic.reading(result)
    assert reading == report_section.section(result).reading  # the page and the report say the same
    assert any(m.value == reading for m in at.markdown)
    extremes = titled(at, "Highest-")
    assert {r["dimension"] for r in extremes.data[0]} == {str(s.highest_variance_dim), str(s.median_variance_dim),
                                                          str(s.lowest_variance_dim)}
    r = titled(at, "Correlation of each position").data[0]
    assert len(r) == 511 and r[5]["r"] == pytest.approx(s.adjacent_correlation[5])


def test_widgets_change_the_charts():
    at = run_page(PAGE)
    assert {r["dimension"] for r in titled(at, "Chosen dimensions").data[0]} == {"0", "1", "2"}
    at.multiselect(key="positional_dims").set_value([7]).run()
    assert not errors(at), errors(at)
    assert {r["dimension"] for r in titled(at, "Chosen dimensions").data[0]} == {"7"}
    at.multiselect(key="positional_dims").set_value([]).run()
    assert not [c for c in charts(at) if c.title.startswith("Chosen dimensions")]
    at.slider(key="positional_range").set_value((100, 131)).run()
    heat = titled(at, "W_pos")
    assert "of 32 × 384" in heat.subtitle
    assert {r["position"] for r in heat.data[0]} <= set(range(100, 132))
    curve = titled(at, "Highest-").data[0]
    assert min(r["position"] for r in curve) == 100 and max(r["position"] for r in curve) == 131


def test_tiny_gpt2_is_shown_whole(tmp_path):
    from tests.adapters.harness import build
    build("gpt2", tmp_path, n_embd=32, n_layer=1, n_head=2, vocab_size=50, n_positions=16)
    at = run_page(PAGE, source=str(tmp_path))
    assert not errors(at), errors(at)
    assert titled(at, "W_pos").subtitle == "all 16 × 32 cells"
    assert titled(at, "Cosine similarity").rows == [256]


ROTARY = {  # arch in adapters.FAMILIES -> (config.json model_type, tiny config)
    "llama": ("llama", dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2,
                            intermediate_size=64, vocab_size=50, max_position_embeddings=64, rope_theta=5000.0)),
    "neox": ("gpt_neox", dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                              vocab_size=50, max_position_embeddings=64, rotary_pct=0.5)),  # partial rotary
}


@pytest.mark.parametrize("arch", sorted(ROTARY))
def test_rotary_model_shows_frequencies(arch, tmp_path):
    from tests.adapters.harness import build
    model_type, config = ROTARY[arch]
    _, model = build(model_type, tmp_path, **config)
    c = model.cfg
    assert c.positional == "rotary"
    at = run_page(PAGE, source=str(tmp_path))
    assert not errors(at), errors(at)
    chart = titled(at, "Rotary frequencies")
    expected = pos.rotary_frequencies(c.rotary_dim, c.rotary_base, c.n_ctx)
    assert len(chart.data[0]) == c.rotary_dim // 2
    assert [r["wavelength"] for r in chart.data[0]] == pytest.approx(expected.wavelength.tolist())
    assert any(m.value == topic.reading(topic.compute(model)) for m in at.markdown)
    assert not [x for x in charts(at) if x.title == "W_pos"]


def test_alibi_model_says_so(tmp_path):
    from tests.adapters.harness import build
    _, model = build("bloom", tmp_path, hidden_size=32, n_layer=1, n_head=2, vocab_size=50)
    at = run_page(PAGE, source=str(tmp_path))
    assert not errors(at), errors(at)
    assert any("ALiBi" in i.value for i in at.info)
    assert [i.value for i in at.info] == [report_section.section(topic.compute(model)).reading]
    assert not charts(at)


def test_model_without_positions_says_so(tmp_path):
    rng = np.random.default_rng(0)
    save_file({"layers.0.weight": rng.normal(size=(8, 8)).astype(np.float32)}, str(tmp_path / "w.safetensors"))
    at = run_page(PAGE, source=str(tmp_path / "w.safetensors"))
    assert not errors(at), errors(at)
    assert any("no learned positional embedding matrix" in i.value for i in at.info)
    assert not charts(at)
