"""ui.navigation: the sidebar shows the model picker first, then every page of the router, grouped by section."""
from __future__ import annotations

from tests.pages.apptest import errors, run_page


def test_picker_comes_before_the_page_list():
    at = run_page()
    assert not errors(at), errors(at)
    kinds = [type(e).__name__ for e in at.sidebar]
    links = [e for e in at.sidebar if type(e).__name__ == "PageLink"]
    assert kinds.index("Selectbox") < kinds.index("PageLink")  # choose the model, then where to look
    assert len(links) == 13 and [link.label for link in links][:2] == ["Architecture", "Positional embeddings"]
    sections = [c.value for c in at.sidebar.caption if c.value.startswith("**")]
    assert sections == ["**Structure**", "**Weights**", "**Diagnostics**"]
