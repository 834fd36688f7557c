"""The spectral page, driven by AppTest on the bundled MiniLM and a tiny GPT-2."""
import json

from tests.pages.apptest import errors, run_page

PAGE = "pages/spectral.py"


def _titles(at) -> list[str]:
    out = []
    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        parts = spec.get("hconcat") or [spec]
        for part in parts:
            t = part.get("title")
            out.append(t["text"] if isinstance(t, dict) else t)
    return out


def _text(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_bundled_model_charts_verdicts_and_widgets():
    at = run_page(PAGE)
    assert not errors(at), errors(at)
    assert at.title[0].value == "Training quality (spectra)"
    titles = _titles(at)
    assert "alpha by layer and matrix" in titles
    assert "embed.W_E" in titles and "element-wise shuffled copy" not in titles  # baselines are opt-in
    assert "alpha of attn.W_Q per head" in titles
    assert "rand_alpha" not in at.selectbox(key="spectral_metric").options
    assert "shuffled copy's largest" not in _text(at)
    text = _text(at)
    assert "alpha > 6" in text and "under-trained" in text  # thresholds written where the user reads
    assert "looks under-trained" in text and "layer 4 attn.W_V" in text  # a computed verdict on MiniLM
    heatmap = next(json.loads(c.proto.spec) for c in at.get("vega_lite_chart")
                   if "per head" in str(json.loads(c.proto.spec).get("title")))
    assert heatmap["encoding"]["color"]["scale"]["domain"] == ["alpha < 2: over-fit",
                                                               "2 ≤ alpha ≤ 6: well trained",
                                                               "alpha > 6: under-trained"]  # thresholds drawn
    assert heatmap["height"] == {"step": 20}  # a labelled row per layer
    assert "power-law tail exponent" in "\n".join(c.value for c in at.caption)  # the metric explained
    assert at.selectbox(key="spectral_metric").format_func("ks_distance") == "fit distance (Kolmogorov-Smirnov)"
    assert len(at.toggle(key="spectral_shuffled").label) < 40  # fits its column; the detail is in its help

    at.selectbox(key="spectral_metric").set_value("stable_rank").run()
    assert "stable_rank by layer and matrix" in _titles(at)
    at.selectbox(key="spectral_matrix").set_value("blocks.3.attn.W_Q").run()
    at.selectbox(key="spectral_head").set_value(5).run()
    at.selectbox(key="spectral_kind").set_value("OV").run()
    assert not errors(at), errors(at)
    assert "blocks.3.attn.OV head 5" in _titles(at)
    assert "layer 3 head 5 attn.OV" in _text(at)
    at.selectbox(key="spectral_heatmap_kind").set_value("attn.QK").run()
    assert "stable_rank of attn.QK per head" not in _titles(at)
    assert "alpha of attn.QK per head" in _titles(at)

    at.toggle(key="spectral_shuffled").set_value(True).run()  # the baselines: same seed as the report's
    assert not errors(at), errors(at)
    assert "element-wise shuffled copy" in _titles(at)
    at.selectbox(key="spectral_metric").set_value("rand_alpha").run()
    assert "rand_alpha by layer and matrix" in _titles(at)
    assert "above the shuffled copy's largest" in _text(at)  # the verdict reads the baseline too


def test_tiny_gpt2_without_heads(tmp_path):
    from tests.adapters.harness import build
    build("gpt2", tmp_path, n_embd=64, n_layer=2, n_head=4, vocab_size=100, n_positions=32)
    at = run_page(PAGE, source=str(tmp_path))
    assert not errors(at), errors(at)
    at.toggle(key="spectral_heads").set_value(False).run()
    assert not errors(at), errors(at)
    assert not any("per head" in (t or "") for t in _titles(at))
    assert "alpha by layer and matrix" in _titles(at)
