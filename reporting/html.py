"""A self-contained HTML page: the Vega bundle inlined, each chart embedded as its spec."""
from __future__ import annotations

import html
import json
import re

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }}
h1 {{ font-size: 1.6em; }} h2 {{ border-bottom: 1px solid #ddd; padding-bottom: .2em; margin-top: 2em; }}
.reading {{ background: #f4f7fb; border-left: 4px solid #4c78a8; padding: .6em 1em; }}
div.chart {{ margin: 1em 0; display: block; width: 100%; }} code {{ background: #eee; padding: 0 .2em; }} .muted {{ color: #777; }}
</style>
<script>{bundle}</script></head>
<body><h1>{title}</h1><p class="muted">{subtitle}</p>
{body}
</body></html>
"""


def _json_in_script(value) -> str:
    """JSON placed inside <script>: '<\\/' is the same JSON string and cannot close the tag early."""
    return json.dumps(value, default=str).replace("</", "<\\/")


def markdown_inline(text: str) -> str:
    """The little markdown readings use: **bold**, `code`, and paragraphs."""
    out = html.escape(text)
    out = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", out)
    out = re.sub(r"`(.+?)`", r"<code>\1</code>", out)
    return "".join(f"<p>{p}</p>" for p in out.split("\n\n"))


def vega_bundle() -> str:
    """vega, vega-lite and vega-embed as one script (vl_convert builds it: ~1.5 s, so it is kept: see below).

    Built in a short-lived child process: vl_convert's JavaScript runtime peaks at ~150 MB and keeps
    most of it for the life of the process that ran it (measured), which is then not the report's.
    """
    import subprocess
    import sys

    script = "import sys, vl_convert; sys.stdout.write(vl_convert.javascript_bundle())"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, encoding="utf-8", check=False)
    if done.returncode or not done.stdout:
        import vl_convert  # no child process here (a sandbox): build it in this one

        return vl_convert.javascript_bundle()
    return done.stdout


def installed_vega_bundle() -> str:
    """vega_bundle(), built once per vl-convert release and kept with the tool's assets (reporting.cache)."""
    from reporting.cache import asset

    return asset(bundle_name(), vega_bundle)


def bundle_name() -> str:
    """A file name for the bundle that changes with the vl_convert release that built it."""
    from importlib.metadata import version

    return f"vega-bundle-{version('vl-convert-python')}.js"


def render(title: str, subtitle: str, sections, bundle: str | None = None) -> str:
    """The page; each section's charts may be Altair charts or their specs (dicts, from the cache)."""
    parts, n = [], 0
    for s in sections:
        parts.append(f'<h2 id="{s.key}">{html.escape(s.title)}</h2>')
        if s.reading:
            parts.append(f'<div class="reading">{markdown_inline(s.reading)}</div>')
        for chart in s.charts:
            n += 1
            spec = _json_in_script(chart if isinstance(chart, dict) else chart.to_dict())
            parts.append(f'<div class="chart" id="chart{n}"></div>'
                         f'<script>vegaEmbed("#chart{n}", {spec}, {{"actions": false}});</script>')
    bundle = vega_bundle() if bundle is None else bundle
    if "</script" in bundle.lower():
        raise RuntimeError("the Vega bundle contains '</script'; it cannot be inlined as is")
    return PAGE.format(title=html.escape(title), subtitle=html.escape(subtitle), bundle=bundle,
                       body="\n".join(parts))
