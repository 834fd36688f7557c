"""Every page on broken checkpoints: no exception box and no error box; skipped matrices are named in a warning."""
import pytest
from streamlit.testing.v1 import AppTest

from adapters import open_model
from tests.faults.builder import FAULTS, inject, stored, target
from tests.pages.apptest import APP, errors

PAGES = ["pages/overview.py", "pages/positional.py", "pages/distributions.py", "pages/matrices.py",
         "pages/pca.py", "pages/layers.py", "pages/heads.py", "pages/health.py", "pages/spectral.py",
         "pages/compare.py"]


def _open(source: str, page: str, **state) -> AppTest:
    """One page of the app on `source`, with `state` put into the session first; no exception or error box."""
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["model_source"] = source
    at.run()
    for key, value in state.items():
        at.session_state[key] = value
    at.switch_page(page)
    at.run()
    assert not errors(at), f"{page}: {errors(at)}"
    return at


def _visit(source: str, pages: list[str]) -> dict[str, AppTest]:
    """Each page in one session; page -> its warnings' texts."""
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["model_source"] = source
    at.run()
    seen = {}
    for page in pages:
        at.switch_page(page)
        at.run()
        assert not errors(at), f"{page}: {errors(at)}"
        seen[page] = [w.value for w in at.warning]
    return seen


@pytest.mark.parametrize("fault", FAULTS)
def test_every_page_on_a_broken_tiny_model(tiny, fault, tmp_path):
    source = inject(tiny("llama"), tmp_path / "model", fault)
    warnings = _visit(source, PAGES)
    if fault in ("nan", "inf"):
        for page in ("pages/overview.py", "pages/health.py", "pages/spectral.py", "pages/pca.py"):
            assert any("first at" in w for w in warnings[page]), f"{page} names the bad matrix: {warnings[page]}"
        assert any(target(tmp_path / "model") in w for w in warnings["pages/health.py"])
    if fault in ("zero", "constant"):
        assert any("all zero" in w or "constant" in w for w in warnings["pages/overview.py"])


def test_broken_minilm_pages(minilm_dir, tmp_path):
    source = inject(minilm_dir, tmp_path / "model", "nan")
    warnings = _visit(source, ["pages/overview.py", "pages/distributions.py", "pages/heads.py"])
    assert any("3 NaN (first at" in w for w in warnings["pages/overview.py"])


@pytest.mark.parametrize("fault", ["nan", "inf"])
def test_matrices_page_names_the_bad_matrix(tiny, fault, tmp_path):
    source = inject(tiny("llama"), tmp_path / "model", fault)
    name = "raw:" + target(tmp_path / "model")
    at = _open(source, "pages/matrices.py")
    at.selectbox(key="matrices_name").set_value(name).run()
    assert not errors(at), errors(at)
    warnings = [w.value for w in at.warning]
    assert any(f"`{name}` holds" in w and "first at row" in w for w in warnings), warnings
    assert any("This window holds" in m.value for m in at.markdown)
    for view in ("maxabs", "mean"):  # both reductions draw with NaN or Inf in the window
        at.radio(key="matrices_method").set_value(view).run()
        assert not errors(at), errors(at)
    at.radio(key="matrices_view").set_value("Image (PNG)").run()
    assert not errors(at), errors(at)


@pytest.mark.parametrize("family", ["gpt2", "bert"])
@pytest.mark.parametrize("fault", ["nan", "inf", "zero", "constant"])
def test_positional_page_on_a_broken_w_pos(tiny, family, fault, tmp_path):
    into = stored(tiny(family), "pos_embed.W_pos")
    source = inject(tiny(family), tmp_path / "model", fault, into=into)
    warnings = [w.value for w in _open(source, "pages/positional.py").warning]
    if fault in ("nan", "inf"):
        assert any("`pos_embed.W_pos` holds" in w and "first at position" in w for w in warnings), warnings
    else:
        assert any("no position information" in w for w in warnings), warnings


@pytest.mark.parametrize("fault", ["nan", "inf"])
def test_compare_page_names_the_tensor_it_could_not_compare(tiny, fault, tmp_path):
    source = inject(tiny("llama"), tmp_path / "model", fault)
    raw = target(tmp_path / "model")
    model = open_model(source)
    (name,) = [n for n in model.names() if raw in model.sources(n)]
    at = _open(source, "pages/compare.py", compare_other=tiny("llama"))
    warnings = [w.value for w in at.warning]
    assert any("not compared" in w and f"`{name}` A holds" in w and "first at" in w for w in warnings), warnings
    assert any("not compared" in m.value and name in m.value for m in at.markdown)
    at.selectbox(key="compare_tensor").set_value(name).run()
    assert not errors(at), errors(at)
    assert any("SVD is skipped" in w.value and name in w.value for w in at.warning)
