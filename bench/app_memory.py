"""Peak memory of the app server while one browser visits every page, for the bundled model and GPT-2 small.

    python bench/app_memory.py [--gpt2 bench/data/gpt2_small]

For each model a fresh `streamlit run` server (tests/browser/driver.AppServer) is started and one
headless Chromium session picks the model in the sidebar, then opens every page in the navigation,
waiting for each to be drawn. The server's process-tree RSS is sampled every 50 ms from another
thread; the table shows it idle (started, no session), after the model is opened, and its peak.
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _measure import ROOT, table  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "tests", "browser"))
import driver  # noqa: E402

PATH_CHOICE = "A local folder or file…"  # ui/picker.py


class Sampler(threading.Thread):
    """Samples `server.tree_rss_mb()` until stopped; keeps the peak."""

    def __init__(self, server: driver.AppServer, every: float = 0.05):
        super().__init__(daemon=True)
        self.server, self.every, self.peak = server, every, 0.0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            self.peak = max(self.peak, self.server.tree_rss_mb())
            time.sleep(self.every)


def pick_folder(page, folder: str) -> None:
    """Choose 'A local folder or file…' in the sidebar and type the folder."""
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"] [role="combobox"]').first.click()
    page.locator(driver.OPTION, has_text=PATH_CHOICE).first.click()
    driver.wait_drawn(page)
    box = page.locator('[data-testid="stSidebar"] input[aria-label="Folder or .safetensors path"]')
    box.fill(folder)
    box.press("Enter")
    driver.wait_drawn(page, timeout=180)


def measure(label: str, folder: str | None) -> dict:
    from playwright.sync_api import sync_playwright

    with driver.AppServer() as server:
        time.sleep(1.0)
        idle = server.tree_rss_mb()
        sampler = Sampler(server)
        sampler.start()
        start, errors = time.perf_counter(), []
        with sync_playwright() as p:
            browser = driver.launch(p)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(server.url)
            driver.wait_drawn(page, timeout=180)
            if folder:
                pick_folder(page, folder)
            opened = server.tree_rss_mb()
            titles = [t for t, _ in driver.nav_links(page)]
            for title in titles:
                driver.open_page(page, title, timeout=600)
                errors += [f"{title}: {e[:120]}" for e in driver.errors_on(page)]
            browser.close()
        sampler.stopped.set()
        sampler.join()
        return {"model": label, "pages": len(titles), "idle MB": idle, "model opened MB": opened,
                "peak MB": sampler.peak, "visit all s": time.perf_counter() - start,
                "errors": len(errors), "_errors": errors}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gpt2", default=os.path.join(ROOT, "bench", "data", "gpt2_small"),
                    help="GPT-2 small folder (bench/report_bench.py saves one)")
    args = ap.parse_args()
    if (missing := driver.missing_browser()):
        raise SystemExit(missing)
    rows = [measure("bundled (MiniLM)", None), measure("GPT-2 small", args.gpt2)]
    print("server process-tree RSS while one browser session opens every page once")
    print(table(rows, ["model", "pages", "idle MB", "model opened MB", "peak MB", "visit all s", "errors"]))
    for r in rows:
        for e in r["_errors"]:
            print(f"  {r['model']}: {e}")


if __name__ == "__main__":
    main()
