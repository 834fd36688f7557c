"""Drive the real app in a real browser: start `streamlit run`, open pages in Debian's chromium.

Shared by tests/browser and bench/{cold_start,load_test}.py. Playwright's own browser download
does not work here; the system chromium (`apt-get install chromium`) is launched instead.
"""
from __future__ import annotations

import ast
import os
import socket
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

MAIN = '[data-testid="stMain"] [data-testid="stMainBlockContainer"]'
# Streamlit's own e2e tests wait on these attributes of the app root.
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"][data-test-connection-state="CONNECTED"]'
BUSY = '[data-testid="stSkeleton"], [data-testid="stSpinner"], [data-stale="true"]'
CHARTS = '[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg'
# a slider's thumb: a role="slider" div in older Streamlit, an <input> in 1.6x
SLIDER = '[data-testid="stSlider"] [role="slider"], [data-testid="stSlider"] input'
SELECT = '[data-testid="stSelectbox"] [role="combobox"]'
OPTION = '[role="option"]'
TOGGLE = '[data-testid="stCheckbox"] label'
# st.exception / an uncaught exception, and st.error (an alert whose content is the error kind)
ERRORS = '[data-testid="stException"], [data-testid="stAlertContentError"]'


def missing_browser() -> str | None:
    """Why browser tests cannot run here, or None."""
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    if not _module_exists("playwright"):
        return "playwright is not installed (pip install -r requirements-dev.txt)"
    if not _module_exists("streamlit"):
        return "streamlit is not installed"
    return None


def _module_exists(name: str) -> bool:
    import importlib.util
    return importlib.util.find_spec(name) is not None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppServer:
    """`streamlit run streamlit_app.py` on a free loopback port, headless; a context manager."""

    def __init__(self, port: int | None = None, log_path: str | None = None, app_dir: str = ROOT):
        self.app_dir = app_dir  # the folder holding streamlit_app.py (bench/cold_start runs a baseline app)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0

    def start(self) -> "AppServer":
        cmd = [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(self.port),
               "--server.address", "127.0.0.1", "--server.headless", "true",
               "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
        log = open(self.log_path, "w") if self.log_path else subprocess.DEVNULL
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
        self.started_at = time.perf_counter()
        self.proc = subprocess.Popen(cmd, cwd=self.app_dir, stdout=log, stderr=subprocess.STDOUT, env=env)
        return self

    def wait_healthy(self, timeout: float = 60) -> float:
        """Seconds from start until /_stcore/health answers 'ok'."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self.proc.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(self.url + "_stcore/health", timeout=2) as r:
                    if r.status == 200 and r.read().strip() == b"ok":
                        return time.perf_counter() - self.started_at
            except OSError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"streamlit did not answer on {self.url} within {timeout:.0f} s")

    def tree_rss_mb(self) -> float:
        """Resident memory of the server and its children now, in MB."""
        import psutil
        try:
            root = psutil.Process(self.proc.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0.0
        total = 0
        for p in procs:
            try:
                total += p.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total / 2**20

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> "AppServer":
        self.start()
        self.wait_healthy()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


# The script is not running, nothing is stale or loading, and the main block shows something.
DRAWN_JS = """([idle, busy, main]) => {
    const m = document.querySelector(main);
    return !!document.querySelector(idle) && !document.querySelector(busy)
        && !!m && m.innerText.trim().length > 0;
}"""


def is_drawn(page) -> bool:
    """DRAWN_JS on a sync Playwright page (bench/load_test.py awaits the same on async pages)."""
    return page.evaluate(DRAWN_JS, [IDLE, BUSY, MAIN])


def wait_drawn(page, timeout: float = 90, settle: float = 0.6) -> None:
    """Wait until the page has been drawn and stayed so for `settle` seconds (a rerun starts late)."""
    deadline, since = time.perf_counter() + timeout, None
    while True:
        now = time.perf_counter()
        if is_drawn(page):
            since = since or now
            if now - since >= settle:
                return
        else:
            since = None
        if now > deadline:
            raise TimeoutError(f"{page.url} was not drawn within {timeout:.0f} s")
        page.wait_for_timeout(100)


def wait_charts(page, timeout: float = 30) -> int:
    """Wait for every Vega-Lite chart on the page to have drawn its canvas or svg; returns how many."""
    charts = page.locator('[data-testid="stVegaLiteChart"]').count()
    if charts:
        page.wait_for_function(
            """() => Array.from(document.querySelectorAll('[data-testid="stVegaLiteChart"]'))
                     .every(c => c.querySelector('canvas, svg'))""", timeout=timeout * 1000)
    return charts


def errors_on(page) -> list[str]:
    """Text of every exception box and st.error on the page."""
    return [e.inner_text()[:500] for e in page.locator(ERRORS).all()]


def router_pages() -> list[str]:
    """The title of every st.Page(...) in streamlit_app.py, read from its source (importing it runs the app)."""
    with open(os.path.join(ROOT, "streamlit_app.py"), encoding="utf-8") as f:
        tree = ast.parse(f.read())
    return [kw.value.value for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "Page"
            for kw in node.keywords if kw.arg == "title"]


NAV_LINK = '[data-testid="stSidebar"] a[data-testid="stPageLink-NavLink"]'  # ui/navigation.page_list


def nav_links(page) -> list[tuple[str, str]]:
    """(title, href) of every page in the sidebar's page list."""
    out = []
    for a in page.locator(NAV_LINK).all():
        title = " ".join(a.inner_text().split()[1:]) or a.inner_text().strip()  # drop the icon
        out.append((title, a.get_attribute("href")))
    return out


def open_page(page, title: str, timeout: float = 90) -> None:
    """Click a navigation link by its title and wait for the page to be drawn."""
    page.locator(NAV_LINK, has_text=title).first.click()
    wait_drawn(page, timeout)


def screenshot(page, path: str, max_px: int = 16000) -> None:
    """The whole page, not only the window: Streamlit scrolls inside its main pane, so a full-page screenshot of
    the document stops at the window's edge. The window is grown to the pane's height for the shot, then restored."""
    size = page.viewport_size
    height = page.evaluate('() => document.querySelector(\'[data-testid="stMain"]\').scrollHeight')
    page.set_viewport_size({"width": size["width"], "height": min(max_px, max(size["height"], int(height)))})
    try:
        page.wait_for_timeout(800)  # charts re-lay out to the new height
        page.screenshot(path=path)
    finally:
        page.set_viewport_size(size)


def nudge_a_widget(page) -> str | None:
    """Change one widget in the main area: a slider by one step, else a select box to its next
    option, else a toggle or checkbox; returns which kind, or None when the page has none.
    A widget that vanishes under the cursor (a previous page's element cleared late on a busy
    machine) is looked for again once the page is drawn."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    for attempt in range(2):
        try:
            return _nudge_once(page)
        except PlaywrightTimeout:
            if attempt:
                raise
            wait_drawn(page)
    return None


def _nudge_once(page) -> str | None:
    main = page.locator(MAIN)
    slider = main.locator(SLIDER)
    if slider.count():
        slider.first.focus(timeout=5000)
        slider.first.press("ArrowRight", timeout=5000)
        return "slider"
    select = main.locator(SELECT)
    if select.count():  # by keyboard: a popover option can move while the page redraws
        select.first.click(timeout=5000)
        page.locator(OPTION).first.wait_for(timeout=10_000)
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Enter")
        return "select box"
    toggle = main.locator(TOGGLE)
    if toggle.count():
        toggle.first.click(timeout=5000)
        return "toggle"
    return None
