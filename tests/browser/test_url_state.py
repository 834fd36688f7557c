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
    # The server is cold: its very first request is this deep link (ui/navigation.through_the_router)
    page.goto(f"{app_server.url.rstrip('/')}/heads?model=bundled&heads_layer=3&heads_stat=qk_top")
    driver.wait_drawn(page)
    page.get_by_text("Looking at:").wait_for(timeout=60_000)  # the router's sidebar, not pages/heads.py alone
    driver.wait_charts(page)
    assert len(driver.nav_links(page)) == len(driver.router_pages()) and not page.get_by_text("streamlit app").count()
    assert not driver.errors_on(page), driver.errors_on(page)
    assert _selected(page, "Layer") == "3"
    query = _query(page)
    assert query["model"] == "bundled" and query["heads_layer"] == "3" and query["heads_stat"] == "qk_top"
    driver.screenshot(page, os.path.join(screenshots, "url_state_heads.png"))

    page.reload()
    driver.wait_drawn(page)
    page.get_by_text("Looking at:").wait_for(timeout=60_000)
    assert _selected(page, "Layer") == "3" and _query(page)["heads_stat"] == "qk_top"
    assert _selected(page, "Statistic") == "top singular value of the QK circuit"
    page.close()
