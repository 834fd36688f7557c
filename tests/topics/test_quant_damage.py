"""Quantization damage: a tiny Llama against its own GGUF (Q8_0, Q4_K) and FP8 copies, matched through the
schema (GGUF names are not Hugging Face names), with every number checked against numpy."""
import numpy as np
import pytest
from gguf import GGMLQuantizationType as Q

from adapters import open_model
from tests.adapters.gguf_craft import write_gguf
from tests.adapters.test_gguf import TINY
from tests.adapters.harness import build
from tests.pages.apptest import errors, run_page
from topics import compare as topic


@pytest.fixture(scope="module")
def llama(tmp_path_factory):
    folder = tmp_path_factory.mktemp("llama")
    _, model = build("llama", folder, **TINY)
    ggufs = {q: open_model(write_gguf(folder, tmp_path_factory.mktemp(q.name) / "m.gguf", q)[0])
             for q in (Q.Q8_0, Q.Q4_K)}
    return folder, model, ggufs


def test_damage_per_tensor_and_head_against_numpy(llama):
    _, st, ggufs = llama
    result = topic.compute(st, ggufs[Q.Q8_0])
    assert result.quantization and result.storage == {"A": "F32", "B": "Q8_0 (8.5 bits a weight)"}
    assert {d.name for d in result.diffs} == set(st.names())  # GGUF names lined up through the schema
    for d in result.diffs:
        a, b = st.weight(d.name).astype(np.float64), ggufs[Q.Q8_0].weight(d.name).astype(np.float64)
        want = np.linalg.norm(b - a) / np.linalg.norm(a)
        assert d.rel_change == pytest.approx(want, rel=1e-9, abs=1e-15), d.name
        if want > 0:
            assert topic.snr_db(d) == pytest.approx(10 * np.log10((a ** 2).sum() / ((b - a) ** 2).sum()), rel=1e-9)
    h = next(h for h in result.heads if h.name == "blocks.1.attn.W_V" and h.head == 1)
    a, b = st.weight("blocks.1.attn.W_V")[1], ggufs[Q.Q8_0].weight("blocks.1.attn.W_V")[1]
    assert h.rel_change == pytest.approx(np.linalg.norm(b - a) / np.linalg.norm(a), rel=1e-6)


def test_damage_reading_names_the_worst_and_orders_the_types(llama):
    _, st, ggufs = llama
    q8, q4 = (topic.compute(st, ggufs[q]) for q in (Q.Q8_0, Q.Q4_K))
    text = topic.reading(q4, "original", "q4")
    assert text.startswith("**Quantization damage**: **q4** is stored as Q4_K (4.5 bits a weight), **original** as F32.")
    worst = min((d for d in q4.measured() if d.matrix_shape), key=topic.snr_db)
    assert f"the worst is `{worst.name}` at **{topic.snr_db(worst):.1f} dB**" in text
    assert "The layers that lost most" in text and "The heads that lost most: layer" in text

    def median(r):
        return np.median([topic.snr_db(d) for d in r.measured() if d.matrix_shape and d.rel_change])
    assert median(q8) > median(q4) + 10  # 8-bit keeps far more signal than 4-bit
    # the other way round (A quantized) names A
    assert topic.reading(topic.compute(ggufs[Q.Q4_K], st), "q4", "original").startswith(
        "**Quantization damage**: **q4** is stored as Q4_K")


def test_two_full_precision_checkpoints_are_no_quantization(llama):
    _, st, _ = llama
    assert not topic.compute(st, st).quantization


def test_compare_page_shows_quantization_damage(llama):
    folder, _, ggufs = llama
    at = run_page("pages/compare.py", source=str(folder), compare_other=ggufs[Q.Q4_K].located.files[0])
    assert not errors(at), errors(at)
    assert any(m.value.startswith("**Quantization damage**") for m in at.markdown)
    specs = [c.proto.spec for c in at.get("vega_lite_chart")]
    assert any("Quantization damage: signal-to-noise ratio per tensor" in s for s in specs)
    assert sum("SNR (dB) per head" in s for s in specs) == 4
