"""How fast each page answers on a loaded model, through Streamlit's AppTest (the real scripts, in process).

    python bench/app_responsiveness.py [--source bench/data/gpt2_small]

One AppTest session looks at `--source` (session_state "model_source"; default the GPT-2 small
folder that bench/report_bench.py saves). For each page, in the app's order:
  first visit      switch to the page and run it (st.cache_data empty for it: computes)
  second visit     to the overview and back, timing the return (cached)
  widget change    set one widget of the page to another value (may compute, once)
  change, cached   set it back: the value seen before, so every cached call hits
Times are one script run each (AppTest's at.run()), so they include the page's charts being built
and serialised, but not the browser drawing them.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _measure import ROOT, peak_rss_mb, table  # noqa: E402

OVERVIEW = "pages/overview.py"
# page -> (widget kind, key, another value); None where the page has no widget to change on its own
WIDGETS = {
    "pages/overview.py": None,
    "pages/positional.py": ("slider", "positional_range", (0, 255)),
    "pages/distributions.py": ("toggle", "distributions_log", True),
    "pages/matrices.py": ("selectbox", "matrices_colormap", "purple–white–orange"),
    "pages/pca.py": ("radio", "pca_samples", "columns"),
    "pages/layers.py": ("radio", "layers_shape", "violin"),
    "pages/heads.py": ("selectbox", "heads_layer", 1),
    "pages/health.py": ("toggle", "health_only_bad", True),
    "pages/spectral.py": ("selectbox", "spectral_metric", "stable_rank"),
    "pages/compare.py": None,  # needs a second checkpoint
}


def _timed_run(at) -> float:
    start = time.perf_counter()
    at.run()
    if at.exception or at.error:
        raise RuntimeError(f"page failed: {(at.exception or at.error)[0].value}")
    return time.perf_counter() - start


def _widget(at, kind: str, key: str):
    return getattr(at, kind)(key=key)


def measure(source: str, timeout: float) -> list[dict]:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(os.path.join(ROOT, "streamlit_app.py"), default_timeout=timeout)
    at.session_state["model_source"] = source
    at.run()  # the overview, with the model opened
    rows = []
    for page, widget in WIDGETS.items():
        row = {"page": page.removeprefix("pages/")}
        at.switch_page(page)
        row["first visit s"] = _timed_run(at)
        at.switch_page(OVERVIEW if page != OVERVIEW else "pages/positional.py")
        at.run()
        at.switch_page(page)
        row["second visit s"] = _timed_run(at)
        if widget:
            kind, key, value = widget
            before = _widget(at, kind, key).value
            _widget(at, kind, key).set_value(value)
            row["widget"] = f"{key} -> {value}"
            row["widget change s"] = _timed_run(at)
            _widget(at, kind, key).set_value(before)
            row["change, cached s"] = _timed_run(at)
        rows.append(row)
        print(row, flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", default=os.path.join(ROOT, "bench", "data", "gpt2_small"))
    ap.add_argument("--timeout", type=float, default=600)
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    rows = measure(args.source, args.timeout)
    print(f"\nAppTest on {args.source}; one at.run() per cell; peak RSS of this process {peak_rss_mb():.0f} MB")
    print(table(rows, ["page", "first visit s", "second visit s", "widget", "widget change s", "change, cached s"]))


if __name__ == "__main__":
    main()
