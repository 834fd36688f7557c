"""ui.cache: a topic's result computed once per model(s) and options, its progress bar replayed on a hit."""
from streamlit.testing.v1 import AppTest

from tests.adapters.harness import build


def _script(a: str, b: str, n_heads: int | None) -> str:
    return f'''
import streamlit as st
from adapters import open_model
from ui.cache import cached_pair
a, b = open_model({a!r}), open_model({b!r}, n_heads={n_heads!r})
result = cached_pair("compare", "compute", a, b, progress="Comparing tensors…")
st.markdown(f"{{len(result.diffs)}} diffs")
st.button("again", key="again")
'''


def test_a_pair_is_computed_once_per_pair_of_models(tmp_path, monkeypatch):
    from topics import compare
    tiny = dict(n_embd=32, n_layer=1, n_head=2, vocab_size=60, n_positions=16)
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    build("gpt2", a, seed=0, **tiny)
    build("gpt2", b, seed=1, **tiny)
    calls, real = [], compare.compute
    monkeypatch.setattr(compare, "compute", lambda *models, **kw: calls.append(models) or real(*models, **kw))
    at = AppTest.from_string(_script(a, b, None), default_timeout=60).run()
    assert not at.exception and at.markdown[0].value.endswith(" diffs") and len(calls) == 1
    at.button(key="again").click().run()  # a hit: the bar made inside the cached call is replayed, then emptied
    assert not at.exception and len(calls) == 1
    other = AppTest.from_string(_script(a, b, 2), default_timeout=60).run()  # B's cache_key differs
    assert not other.exception and len(calls) == 2
