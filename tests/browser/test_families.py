"""A mixture-of-experts model and a vision transformer opened in a real browser by their folder path:
the pages made for them draw their charts with no error box."""
import os
import re

import pytest

import driver

SIDEBAR = '[data-testid="stSidebar"]'
PATH_CHOICE = "A local folder or file…"


def open_path(page, folder: str) -> None:
    """Pick 'A local folder or file…' in the sidebar's checkpoint box and type the folder into its field."""
    page.locator(f'{SIDEBAR} {driver.SELECT}').first.click()
    page.locator(driver.OPTION, has_text=PATH_CHOICE).first.click()
    driver.wait_drawn(page)
    field = page.get_by_label("Folder or .safetensors path")
    field.wait_for(timeout=30_000)
    field.click()
    field.fill(folder)
    field.press("Enter")
    page.locator(SIDEBAR, has_text=f"Looking at: {folder}").wait_for(timeout=60_000)
    driver.wait_drawn(page)


def _tiny(kind: str, folder) -> str:
    from tests.adapters.harness import build
    if kind == "mixtral":
        build("mixtral", folder, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
              intermediate_size=48, vocab_size=101, max_position_embeddings=64, num_local_experts=4)
    else:
        build("vit", folder, causal_lm=False, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
              intermediate_size=96, image_size=32, patch_size=8)
    return str(folder)


CASES = {  # model -> (pages to open, words one of them must show)
    "mixtral": (["Architecture", "Experts (MoE)", "Across layers"], "Active per token"),
    "vit": (["Architecture", "Positional embeddings", "Attention heads"], "patch"),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_model_opens_by_path_and_its_pages_draw(kind, app_server, browser, tmp_path):
    folder = _tiny(kind, tmp_path)
    titles, words = CASES[kind]
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(app_server.url)
    driver.wait_drawn(page)
    open_path(page, folder)
    shots = os.path.join(driver.ROOT, "artifacts", "screenshots", "families")
    os.makedirs(shots, exist_ok=True)
    seen, problems = "", {}
    for title in titles:
        driver.open_page(page, title)
        charts = driver.wait_charts(page)
        assert charts, f"{kind}, {title}: no chart drawn"
        seen += page.locator(driver.MAIN).inner_text()
        slug = re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")
        driver.screenshot(page, os.path.join(shots, f"{kind}_{slug}.png"))
        if driver.errors_on(page):
            problems[title] = driver.errors_on(page)
    page.close()
    assert not problems, problems
    assert words.lower() in seen.lower(), f"{kind}: {words!r} not shown"
