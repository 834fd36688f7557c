"""Cold start: `streamlit run streamlit_app.py` to the first page drawn in a real browser.

    python bench/cold_start.py [--repeat 2]

Chromium is started first (not timed). Each run starts a fresh server on a free loopback port
and times: health check answered, the page's title painted, and the page fully drawn (script
finished, every chart drawn). The baseline, in the same run, is a one-line Streamlit app started
and measured the same way: the framework's own floor on this machine.

It also lists the heavy modules (torch, transformers, sklearn, scipy, ...) imported by the
time the first page is drawn, with the file that imported each first: the default page is run
in a child process under Streamlit's AppTest with an import hook that records the importer.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "browser"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import driver  # noqa: E402
from _measure import table  # noqa: E402

HEAVY = ["torch", "transformers", "sklearn", "scipy", "safetensors", "huggingface_hub", "vl_convert", "matplotlib"]

_PROBE = r"""
import sys, traceback, json, os, importlib.abc
HEAVY = %r
first = {}
class Spy(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        top = name.split(".")[0]
        if top in HEAVY and top not in first:
            frames = [f for f in traceback.extract_stack()[:-1] if "importlib" not in f.filename]
            ours = [f for f in frames if f.filename.startswith(%r) and "/bench/" not in f.filename]
            site = ours[-1] if ours else frames[-1]
            first[top] = f"{os.path.relpath(site.filename, %r)}:{site.lineno}"
        return None
import streamlit
before = {m for m in HEAVY if m in sys.modules}
sys.meta_path.insert(0, Spy())
from streamlit.testing.v1 import AppTest
at = AppTest.from_file("streamlit_app.py", default_timeout=120)
at.run()
print(json.dumps({"by_streamlit": sorted(before), "at_first_page": {m: first.get(m, "before the app") for m in HEAVY if m in sys.modules},
                  "errors": [str(e.value)[:200] for e in at.exception]}))
"""


def heavy_imports() -> dict:
    code = _PROBE % (HEAVY, ROOT, ROOT)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={**os.environ, "HF_HUB_OFFLINE": "1"}).stdout
    return json.loads(out.strip().splitlines()[-1])


def one_start(browser, app_dir: str | None = None) -> dict:
    server = driver.AppServer(app_dir=app_dir or driver.ROOT)
    try:
        server.start()
        healthy = server.wait_healthy(120)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(server.url)
        page.wait_for_selector(f"{driver.MAIN} h1", timeout=120_000)
        painted = time.perf_counter() - server.started_at
        driver.wait_drawn(page, timeout=120, settle=0.3)
        charts = driver.wait_charts(page, timeout=60)
        drawn = time.perf_counter() - server.started_at - 0.3  # less the settle wait
        errors = driver.errors_on(page)
        page.close()
        rss = server.tree_rss_mb()
    finally:
        server.stop()
    return {"healthy": healthy, "painted": painted, "drawn": drawn, "charts": charts, "errors": errors, "rss": rss}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    why = driver.missing_browser()
    if why:
        raise SystemExit(f"cannot run: {why}")
    from playwright.sync_api import sync_playwright
    with tempfile.TemporaryDirectory(prefix="st_hello_") as hello, sync_playwright() as p:
        with open(os.path.join(hello, "streamlit_app.py"), "w") as f:
            f.write("import streamlit as st\nst.title('hello')\n")
        browser = driver.launch(p)
        ours, base = [], []
        for _ in range(args.repeat):  # interleaved so both see the same load
            base.append(one_start(browser, hello))
            ours.append(one_start(browser))
        browser.close()
    best = lambda runs, k: min(r[k] for r in runs)  # noqa: E731
    rows = [{"case": f"cold start to {what}, best of {args.repeat}", "ours": f"{best(ours, key):.2f} s",
             "baseline": f"hello-world app {best(base, key):.2f} s", "ratio": round(best(ours, key) / best(base, key), 2),
             "peak RSS MB": f"{max(r['rss'] for r in ours):.0f} vs {max(r['rss'] for r in base):.0f}"}
            for what, key in (("/_stcore/health", "healthy"), ("title painted", "painted"),
                              ("page drawn (charts too)", "drawn"))]
    print(table(rows, ["case", "ours", "baseline", "ratio", "peak RSS MB"]))
    print("runs (healthy / painted / drawn s): ours " + "; ".join(
        f"{r['healthy']:.2f}/{r['painted']:.2f}/{r['drawn']:.2f}" for r in ours) + " | hello " + "; ".join(
        f"{r['healthy']:.2f}/{r['painted']:.2f}/{r['drawn']:.2f}" for r in base))
    print(f"charts on the first page: {ours[0]['charts']}; errors: {ours[0]['errors'] or 'none'}")
    probe = heavy_imports()
    print(f"heavy modules already imported by `import streamlit`: {', '.join(probe['by_streamlit']) or 'none'}")
    print("heavy modules imported by the time the first page is drawn (module: first importer in the app):")
    for mod, site in probe["at_first_page"].items():
        print(f"  {mod}: {site}")
    missing = [m for m in ("torch", "transformers", "sklearn") if m not in probe["at_first_page"]]
    print(f"not imported at first paint: {', '.join(missing) or 'none of torch, transformers, sklearn'}")


if __name__ == "__main__":
    main()
