"""The app renders in a real browser: every page of the navigation, with no error box."""
import os
import re

import driver


def test_every_page_renders_without_errors(app_server, browser, screenshots):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(app_server.url)
    driver.wait_drawn(page)
    links = driver.nav_links(page)
    expected = driver.router_pages()
    assert len(expected) >= 2, expected  # the parse found the router's pages
    assert len(links) == len(expected), (links, expected)
    assert all(any(title in shown for shown, _ in links) for title in expected), (links, expected)
    problems = {}
    for i, (title, _) in enumerate(links):
        driver.open_page(page, title)
        charts = driver.wait_charts(page)
        assert page.locator(f"{driver.MAIN} h1").count(), f"{title}: no title drawn"
        slug = re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")
        driver.screenshot(page, os.path.join(screenshots, f"{i:02d}_{slug}.png"))
        errors = driver.errors_on(page)
        if errors:
            problems[title] = errors
        print(f"{title}: {charts} charts, {len(errors)} errors")
    page.close()
    assert not problems, problems
