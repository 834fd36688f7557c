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


def test_all_layers_dendrogram_of_144_heads_is_drawn_whole(app_server, browser, screenshots, tmp_path):
    """GPT-2 small's 12 x 12 heads (at a small width) clustered across layers, opened from a link."""
    from urllib.parse import quote

    from tests.adapters.harness import build
    build("gpt2", tmp_path, n_embd=48, n_layer=12, n_head=12, vocab_size=64, n_positions=32)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{app_server.url.rstrip('/')}/heads?model={quote(str(tmp_path))}&heads_scope=All+layers")
    driver.wait_drawn(page)
    page.get_by_text("Ward clustering of 144 heads").first.wait_for(timeout=90_000)
    assert not driver.errors_on(page), driver.errors_on(page)
    tree = page.locator('[data-testid="stVegaLiteChart"]').last
    box = tree.bounding_box()
    assert box["height"] >= 144 * 13 and box["width"] > 600  # a 13 px row per head, as wide as the page
    driver.screenshot(page, os.path.join(screenshots, "heads_144_all_layers.png"))
    page.close()
