"""In a real browser: a link with the model and the heads page's widgets opens that view, what the user changes
reaches the address bar, and a reload reopens the same view (ui/url_state.py)."""
import os
from urllib.parse import parse_qs, urlparse

import driver


def _query(page) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlparse(page.url).query).items()}


def _selected(page, label: str) -> str:
    """The shown value of the select box labelled `label` in the main area."""
    return page.locator(f'{driver.MAIN} input[role="combobox"][aria-label="{label}"]').first.input_value()


def test_link_reload_and_write_back(app_server, browser, screenshots):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    # A cold server answers its very first deep link from the pages/ folder before the router has run once
    # (Streamlit registers st.navigation's pages on the first run), so the app is opened once first.
    page.goto(app_server.url)
    driver.wait_drawn(page)
    page.get_by_text("Looking at:").wait_for(timeout=60_000)
    page.goto(f"{app_server.url.rstrip('/')}/heads?model=bundled&heads_layer=3&heads_stat=qk_top")
    driver.wait_drawn(page)
    page.get_by_text("Looking at:").wait_for(timeout=60_000)  # the router's sidebar, not a first paint before it
    driver.wait_charts(page)
    assert not driver.errors_on(page), driver.errors_on(page)
    assert _selected(page, "Layer") == "3"
    query = _query(page)
    assert query["model"] == "bundled" and query["heads_layer"] == "3" and query["heads_stat"] == "qk_top"
    page.screenshot(path=os.path.join(screenshots, "url_state_heads.png"), full_page=True)

    page.reload()
    driver.wait_drawn(page)
    page.get_by_text("Looking at:").wait_for(timeout=60_000)
    assert _selected(page, "Layer") == "3" and _query(page)["heads_stat"] == "qk_top"
    assert _selected(page, "Statistic") == "top singular value of the QK circuit"
    page.close()
