"""The Compare page with a second checkpoint and the Training run page, in a real browser: the bundled MiniLM
against a copy with a planted rank-2 change, and a run of three checkpoints typed as a folder."""
import os
import shutil

import numpy as np

import driver

MAIN = driver.MAIN


def _type(page, label: str, text: str, submit: str = "Enter") -> None:
    field = page.get_by_label(label)
    field.wait_for(timeout=30_000)
    field.click()
    field.fill(text)
    field.press(submit)
    driver.wait_drawn(page)


def _planted_minilm(folder) -> str:
    """The bundled MiniLM with a rank-2 update of layer 3's query weights."""
    from safetensors.numpy import load_file, save_file
    from bundled import minilm_path
    src = minilm_path()
    os.makedirs(folder)
    shutil.copy(os.path.join(src, "config.json"), folder)
    tensors = load_file(os.path.join(src, "model.safetensors"))
    name = next(n for n in tensors if n.endswith("layer.3.attention.self.query.weight"))
    rng = np.random.default_rng(0)
    tensors[name] = tensors[name] + (rng.normal(size=(384, 2)) @ rng.normal(size=(2, 384)) * 0.01).astype(np.float32)
    save_file(tensors, os.path.join(folder, "model.safetensors"))
    return str(folder)


def visible_charts(page, timeout: float = 60) -> int:
    """Wait for every chart in the open tab (charts of hidden tabs are not drawn) to draw; how many."""
    page.wait_for_function(
        """() => Array.from(document.querySelectorAll('[data-testid="stVegaLiteChart"]'))
                 .filter(c => c.offsetParent !== null).every(c => c.querySelector('canvas, svg'))""",
        timeout=timeout * 1000)
    return page.evaluate("""() => Array.from(document.querySelectorAll('[data-testid="stVegaLiteChart"]'))
                            .filter(c => c.offsetParent !== null).length""")


def _run(root) -> str:
    from tests.pages.test_run import _run as make
    return str(make(root))


def test_compare_and_run_pages_draw(app_server, browser, tmp_path):
    planted = _planted_minilm(tmp_path / "planted")
    run = _run(tmp_path)
    shots = os.path.join(driver.ROOT, "artifacts", "screenshots", "compare")
    os.makedirs(shots, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(app_server.url)
    driver.wait_drawn(page)
    driver.open_page(page, "Compare checkpoints")
    _type(page, "Second checkpoint (B)", planted)
    page.locator(MAIN, has_text="rank 2").first.wait_for(timeout=120_000)
    assert visible_charts(page) >= 2
    text = page.locator(MAIN).inner_text()
    assert "1 of" in text and "layer 3 attn.W_Q: rank 2" in text.replace("`", ""), text[:2000]
    page.get_by_role("tab", name="Per head").click()
    driver.wait_drawn(page)
    assert visible_charts(page) >= 4
    driver.screenshot(page, os.path.join(shots, "compare_per_head.png"))
    assert not driver.errors_on(page), driver.errors_on(page)

    driver.open_page(page, "Training run")
    _type(page, "Checkpoints of one run", run, submit="Control+Enter")
    page.locator(MAIN, has_text="3 checkpoints, from checkpoint-10").first.wait_for(timeout=120_000)
    driver.wait_drawn(page)
    assert driver.wait_charts(page) == 3
    driver.screenshot(page, os.path.join(shots, "training_run.png"))
    assert not driver.errors_on(page), driver.errors_on(page)
    page.close()
