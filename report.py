"""Headless report: every analysis of the app, as report.html (self-contained) and report.json.

    python report.py SOURCE --out DIR [--n-heads N] [--only architecture,positional] [--no-cache]

SOURCE is anything open_model takes: a Hub id, a folder, a .safetensors file. Finished sections are
cached on disk (reporting/cache.py), so a second report of the same, unchanged model is nearly free.
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


def build(model, topics=TOPICS, log=lambda msg: None, cache=None) -> list:
    """Every topic's Section, in `topics` order; from and into `cache` (a reporting.cache.SectionCache) if given.

    BLAS is pinned to one thread: these are many mid-sized matrices, for which multi-threaded OpenBLAS
    on a busy 2-core machine is several times slower than one thread (a stacked QR of 12 heads measured
    20x, a 768 x 768 eigvalsh 2x); the spectral topic runs its matrices on a pool of its own.
    Topics run one after another: two at once measured no steadier gain, for ~250 MB more peak RSS.
    """
    from threadpoolctl import threadpool_limits  # ships with scikit-learn

    with threadpool_limits(1, user_api="blas"):
        return [_section(model, t, cache, log) for t in topics]


def _section(model, topic: str, cache, log):
    start = time.perf_counter()
    section = cache.load(model, topic) if cache else None
    if section is not None:
        log(f"{topic:<14} {time.perf_counter() - start:6.2f} s (cached)")
        return section
    module = importlib.import_module(f"reporting.{topic}")
    section = module.section(model)
    if cache:  # the stored form is also what write() needs: JSON data, chart specs
        from reporting.cache import spec

        section.data, section.charts = jsonable(section.data), [spec(c) for c in section.charts]
        cache.store(model, topic, section)
    log(f"{topic:<14} {time.perf_counter() - start:6.2f} s")
    return section


def write(model, sections, out: str, cache=None) -> tuple[str, str]:
    from bundled import source_label
    from reporting.html import bundle_name, render, vega_bundle

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
        bundle = cache.text(bundle_name(), vega_bundle) if cache else None
        f.write(render(f"Weights report: {source_label(model.source)}", subtitle, sections, bundle))
    return json_path, html_path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="Hub id (gpt2, org/name@rev), folder, or .safetensors file")
    parser.add_argument("--out", required=True, help="folder for report.html and report.json")
    parser.add_argument("--n-heads", type=int, default=None, help="head count, if the checkpoint does not say")
    parser.add_argument("--only", default=None, help=f"comma-separated topics (default all: {','.join(TOPICS)})")
    parser.add_argument("--no-cache", action="store_true",
                        help="compute every section afresh and store nothing (default: reuse sections "
                             "stored under $XDG_CACHE_HOME/weights-explorer/report for this model and code)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)

    from adapters import LoadError, open_model
    from reporting.cache import SectionCache

    log = (lambda msg: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr))
    topics = args.only.split(",") if args.only else TOPICS
    unknown = [t for t in topics if t not in TOPICS]
    if unknown:
        print(f"error: unknown topic(s) {', '.join(unknown)}; choose from {', '.join(TOPICS)}", file=sys.stderr)
        return 2
    try:
        start = time.perf_counter()
        model = open_model(args.source, n_heads=args.n_heads)
        cache = None if args.no_cache else SectionCache()
        sections = build(model, topics, log, cache)
        log(f"{'(all topics)':<14} {time.perf_counter() - start:6.2f} s")
        json_path, html_path = write(model, sections, args.out, cache)
    except LoadError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    log(f"wrote {html_path} and {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
