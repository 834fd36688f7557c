"""The app renders in a real browser: every page of the navigation, with no error box."""
import ast
import os
import re

import driver


def router_pages() -> list[str]:
    """The title of every st.Page(...) in streamlit_app.py, read from its source (importing it runs the app)."""
    with open(os.path.join(driver.ROOT, "streamlit_app.py"), encoding="utf-8") as f:
        tree = ast.parse(f.read())
    return [kw.value.value for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "Page"
            for kw in node.keywords if kw.arg == "title"]


def test_every_page_renders_without_errors(app_server, browser, screenshots):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(app_server.url)
    driver.wait_drawn(page)
    links = driver.nav_links(page)
    expected = router_pages()
    assert len(expected) >= 2, expected  # the parse found the router's pages
    assert len(links) == len(expected), (links, expected)
    assert all(any(title in shown for shown, _ in links) for title in expected), (links, expected)
    problems = {}
    for i, (title, _) in enumerate(links):
        driver.open_page(page, title)
        charts = driver.wait_charts(page)
        assert page.locator(f"{driver.MAIN} h1").count(), f"{title}: no title drawn"
        slug = re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")
        page.screenshot(path=os.path.join(screenshots, f"{i:02d}_{slug}.png"), full_page=True)
        errors = driver.errors_on(page)
        if errors:
            problems[title] = errors
        print(f"{title}: {charts} charts, {len(errors)} errors")
    page.close()
    assert not problems, problems
