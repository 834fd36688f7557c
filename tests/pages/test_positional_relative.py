"""The positional page on T5-style models: relative position bias tables, charts and the reading, no error."""
from adapters import open_model
from tests.adapters.harness_encdec import build_seq2seq
from tests.adapters.test_t5 import TINY
from tests.pages.apptest import errors, run_page
from tests.pages.vega import charts, titled
from topics import positional as topic

PAGE = "pages/positional.py"


def test_t5_shows_both_stacks_bias(tmp_path):
    build_seq2seq("t5", tmp_path, **TINY)
    at = run_page(PAGE, source=str(tmp_path))
    assert not errors(at), errors(at)
    reading = topic.reading(topic.compute(open_model(str(tmp_path))))
    assert any(m.value == reading for m in at.markdown) and "favour" in reading
    heat = titled(at, "Encoder: relative position bias")
    assert len(heat.data[0]) == 10 * 4  # buckets x heads, all shown
    lines = titled(at, "Decoder: bias by distance").data[0]
    assert max(r["distance"] for r in lines) == 0  # causal: keys after the query have no bias
    assert all(sum(c.rows) <= 5000 for c in charts(at))


def test_umt5_chooses_a_layer(tmp_path):
    build_seq2seq("umt5", tmp_path, feed_forward_proj="gated-gelu", **TINY)
    at = run_page(PAGE, source=str(tmp_path))
    assert not errors(at), errors(at)
    assert titled(at, "Encoder layer 0: relative position bias")
    at.selectbox(key="positional_relative").set_value("Decoder layer 2").run()
    assert not errors(at), errors(at)
    assert titled(at, "Decoder layer 2: bias by distance")
