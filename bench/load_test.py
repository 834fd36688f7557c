"""Concurrent browser sessions against one real server: no session may see an error.

    python bench/load_test.py --sessions 8 --seconds 120

One chromium, one context (a separate Streamlit session) per simulated user. Each user opens
the app, then (at least once, and until the time is up): opens the next page of the navigation (each user starts at a
different one), waits for it to be drawn, changes a widget in the main area (a slider step, else
the next option of a select box, else a toggle), waits again, and records any error box. The server's memory (its process
tree, psutil) is sampled throughout; the peak is printed with the baseline of the idle server.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "browser"))
import driver  # noqa: E402


@dataclass
class Report:
    sessions: int
    seconds: float
    actions: int = 0
    page_loads: list[float] = field(default_factory=list)  # seconds from click to drawn
    errors: list[str] = field(default_factory=list)  # "session: page: text"
    rss_idle_mb: float = 0.0
    rss_peak_mb: float = 0.0
    wall: float = 0.0

    def lines(self) -> list[str]:
        loads = sorted(self.page_loads) or [float("nan")]
        p50, p95 = loads[len(loads) // 2], loads[min(len(loads) - 1, int(len(loads) * 0.95))]
        return [f"{self.sessions} sessions x {self.seconds:.0f} s (wall {self.wall:.0f} s): {self.actions} actions, "
                f"page/widget redraw median {p50:.1f} s, p95 {p95:.1f} s, {len(self.errors)} errors",
                f"server memory (process tree RSS): idle {self.rss_idle_mb:.0f} MB, peak {self.rss_peak_mb:.0f} MB"]


async def _drawn(page, timeout: float = 180, settle: float = 0.6) -> None:
    deadline, since = time.perf_counter() + timeout, None
    while True:
        now = time.perf_counter()
        ok = await page.evaluate(driver.DRAWN_JS, [driver.IDLE, driver.BUSY, driver.MAIN])
        if ok:
            since = since or now
            if now - since >= settle:
                return
        else:
            since = None
        if now > deadline:
            raise TimeoutError(f"{page.url} not drawn within {timeout:.0f} s")
        await page.wait_for_timeout(150)


async def _errors(page) -> list[str]:
    return [(await e.inner_text())[:300] for e in await page.locator(driver.ERRORS).all()]


async def _nudge(page) -> bool:
    """As driver.nudge_a_widget; a widget that vanishes under the cursor (a previous page's element
    cleared late on a busy machine) is looked for again once the page is drawn."""
    from playwright.async_api import TimeoutError as PlaywrightTimeout
    for attempt in range(2):
        try:
            return await _nudge_once(page)
        except PlaywrightTimeout:
            if attempt:
                raise
            await _drawn(page)
    return False


async def _nudge_once(page) -> bool:
    """As driver.nudge_a_widget: a slider step, else a select box's next option, else a toggle."""
    main = page.locator(driver.MAIN)
    slider = main.locator(driver.SLIDER)
    if await slider.count():
        await slider.first.focus(timeout=5000)
        await slider.first.press("ArrowRight", timeout=5000)
        return True
    select = main.locator(driver.SELECT)
    if await select.count():  # by keyboard: a popover option can move while the page redraws
        await select.first.click(timeout=5000)
        await page.locator(driver.OPTION).first.wait_for(timeout=10_000)
        await page.keyboard.press("ArrowDown")
        await page.keyboard.press("Enter")
        return True
    toggle = main.locator(driver.TOGGLE)
    if await toggle.count():
        await toggle.first.click(timeout=5000)
        return True
    return False


async def _user(browser, url: str, idx: int, until: float, report: Report) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    try:
        await page.goto(url)
        await _drawn(page)
        links = [" ".join((await a.inner_text()).split()[1:])
                 for a in await page.locator(driver.NAV_LINK).all()]
        step, action = idx, "opening the app"
        while step == idx or time.perf_counter() < until:  # at least one page and one widget change each
            title = links[step % len(links)]
            step += 1
            action = f"opening {title}"
            t0 = time.perf_counter()
            await page.locator(driver.NAV_LINK, has_text=title).first.click()
            await _drawn(page)
            report.page_loads.append(time.perf_counter() - t0)
            report.actions += 1
            report.errors += [f"session {idx}: {title}: {e}" for e in await _errors(page)]
            action = f"changing a widget on {title}"
            if await _nudge(page):
                t0 = time.perf_counter()
                await _drawn(page)
                report.page_loads.append(time.perf_counter() - t0)
                report.actions += 1
                report.errors += [f"session {idx}: {title} (after a widget change): {e}" for e in await _errors(page)]
    except Exception as e:  # a timeout or a crash of the page is a failure of the run, not of the harness
        report.errors.append(f"session {idx}, {action}: {type(e).__name__}: {str(e).splitlines()[0][:300]}")
        shot = os.path.join(ROOT, "artifacts", f"load_test_session{idx}.png")
        os.makedirs(os.path.dirname(shot), exist_ok=True)
        with contextlib.suppress(Exception):  # the page may be gone
            await page.screenshot(path=shot)
    finally:
        await context.close()


async def _run(server: driver.AppServer, sessions: int, seconds: float) -> Report:
    from playwright.async_api import async_playwright
    report = Report(sessions, seconds, rss_idle_mb=server.tree_rss_mb())
    stop = asyncio.Event()

    async def sample():
        while not stop.is_set():
            report.rss_peak_mb = max(report.rss_peak_mb, server.tree_rss_mb())
            await asyncio.sleep(0.25)

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=driver.CHROMIUM, args=driver.CHROMIUM_ARGS)
        sampler = asyncio.create_task(sample())
        t0 = time.perf_counter()
        until = t0 + seconds
        await asyncio.gather(*(_user(browser, server.url, i, until, report) for i in range(sessions)))
        report.wall = time.perf_counter() - t0
        stop.set()
        await sampler
        await browser.close()
    return report


def run(server: driver.AppServer, sessions: int = 8, seconds: float = 20) -> Report:
    """Drive `sessions` concurrent users for about `seconds` against a started, healthy server."""
    return asyncio.run(_run(server, sessions, seconds))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=120)
    args = ap.parse_args()
    why = driver.missing_browser()
    if why:
        raise SystemExit(f"cannot run: {why}")
    with driver.AppServer(log_path=os.path.join(ROOT, "artifacts", "load_test_server.log")
                          if os.path.isdir(os.path.join(ROOT, "artifacts")) else None) as server:
        report = run(server, args.sessions, args.seconds)
    print("\n".join(report.lines()))
    for e in report.errors[:20]:
        print("ERROR", e)
    raise SystemExit(1 if report.errors else 0)


if __name__ == "__main__":
    main()
