"""The real app in a real browser: a `streamlit run` server and a chromium, both per module."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import driver  # noqa: E402

ARTIFACTS = os.path.join(driver.ROOT, "artifacts")


@pytest.fixture(scope="module")
def app_server(tmp_path_factory):
    """A started, healthy server (skips with the reason when the browser toolchain is missing)."""
    why = driver.missing_browser()
    if why:
        pytest.skip(f"browser tests need chromium and playwright: {why}")
    log = str(tmp_path_factory.mktemp("streamlit") / "server.log")
    server = driver.AppServer(log_path=log).start()
    try:
        server.wait_healthy(timeout=90)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser():
    why = driver.missing_browser()
    if why:
        pytest.skip(f"browser tests need chromium and playwright: {why}")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = driver.launch(p)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def screenshots() -> str:
    """artifacts/screenshots, emptied once per run: every browser test's shots of this run stay side by side."""
    folder = os.path.join(ARTIFACTS, "screenshots")
    os.makedirs(folder, exist_ok=True)
    for old in os.listdir(folder):  # pages come and go: keep only this run's
        if old.endswith(".png"):
            os.remove(os.path.join(folder, old))
    return folder
