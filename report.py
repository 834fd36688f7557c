"""Headless report: every analysis of the app, as report.html (self-contained) and report.json.

    python report.py SOURCE --out DIR [--n-heads N] [--only architecture,positional]

SOURCE is anything open_model takes: a Hub id, a folder, a .safetensors file.
"""
from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import sys
import time

# Topic modules in reporting/, in the order the report shows them; each has section(model) -> Section.
TOPICS = ["architecture", "positional", "distributions", "layers", "pca", "heads", "spectral", "stats"]


def jsonable(value):
    """numpy scalars and arrays to plain JSON; NaN and Inf to null so any JSON parser reads the file."""
    import numpy as np

    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "__dataclass_fields__"):
        from dataclasses import asdict
        return jsonable(asdict(value))
    return value


def build(model, topics=TOPICS, log=lambda msg: None) -> list:
    sections = []
    for topic in topics:
        start = time.perf_counter()
        module = importlib.import_module(f"reporting.{topic}")
        sections.append(module.section(model))
        log(f"{topic:<14} {time.perf_counter() - start:6.2f} s")
    return sections


def write(model, sections, out: str) -> tuple[str, str]:
    from bundled import source_label
    from reporting.html import render

    os.makedirs(out, exist_ok=True)
    doc = {"model": {"source": model.source, "arch": model.arch, "cfg": model.cfg.to_dict()}}
    for s in sections:
        doc[s.key] = jsonable(s.data)
    json_path, html_path = os.path.join(out, "report.json"), os.path.join(out, "report.html")
    with open(json_path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, allow_nan=False)
    c = model.cfg
    subtitle = f"{model.arch} · {c.n_layers} layers · d_model {c.d_model} · {c.n_heads} heads · {model.source}"
    with open(html_path, "w", encoding="utf-8") as f:
        f.write(render(f"Weights report: {source_label(model.source)}", subtitle, sections))
    return json_path, html_path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="Hub id (gpt2, org/name@rev), folder, or .safetensors file")
    parser.add_argument("--out", required=True, help="folder for report.html and report.json")
    parser.add_argument("--n-heads", type=int, default=None, help="head count, if the checkpoint does not say")
    parser.add_argument("--only", default=None, help=f"comma-separated topics (default all: {','.join(TOPICS)})")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)

    from adapters import LoadError, open_model

    log = (lambda msg: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr))
    topics = args.only.split(",") if args.only else TOPICS
    unknown = [t for t in topics if t not in TOPICS]
    if unknown:
        print(f"error: unknown topic(s) {', '.join(unknown)}; choose from {', '.join(TOPICS)}", file=sys.stderr)
        return 2
    try:
        model = open_model(args.source, n_heads=args.n_heads)
        sections = build(model, topics, log)
        json_path, html_path = write(model, sections, args.out)
    except LoadError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    log(f"wrote {html_path} and {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
