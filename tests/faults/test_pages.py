"""Every page on broken checkpoints: no exception box and no error box; skipped matrices are named in a warning."""
import pytest
from streamlit.testing.v1 import AppTest

from tests.faults.builder import FAULTS, inject, target
from tests.pages.apptest import APP, errors

PAGES = ["pages/overview.py", "pages/positional.py", "pages/distributions.py", "pages/matrices.py",
         "pages/pca.py", "pages/layers.py", "pages/heads.py", "pages/health.py", "pages/spectral.py",
         "pages/compare.py"]


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
