"""Headless report: every analysis of the app, as report.html (self-contained) and report.json.

    python report.py SOURCE --out DIR [--n-heads N] [--only architecture,positional] [--shuffled] [--no-cache]
    python report.py SOURCE --compare B --out DIR     # adds "compare": B against SOURCE, per tensor and head
    python report.py --run SRC [SRC ...] --out DIR    # a training run's checkpoints: the "run" section only
    python report.py SOURCE --out DIR --executor ray [--ray-address ADDRESS]   # the spectral scan on Ray

Every report also writes DIR/metrics.parquet: every number of the spectral and statistics sections, one row
per model x tensor x slot x layer x head x metric (topics/results.py); the app opens such a folder as is.

SOURCE is anything open_model takes: a Hub id, a folder, a .safetensors file, a LoRA adapter folder. Finished sections are
cached on disk (reporting/cache.py), so a second report of the same, unchanged model is nearly free.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

from reporting.assemble import SECTIONS, TOPICS, build, jsonable, store, write  # the engine; this is its command line

__all__ = ["SECTIONS", "TOPICS", "build", "jsonable", "main", "write"]


def open_showing_progress(source: str, n_heads, log, quiet: bool = False):
    """open_model, with a Hub download's bytes, rate and time left on stderr (one line, redrawn) unless quiet,
    and the notice of a cached copy opened while the Hub was down said in the log."""
    from adapters import open_model
    from adapters.hub import progress_text, progress_to

    state, tty = {"start": None, "first": 0, "drawn": 0.0}, sys.stderr.isatty()

    def show(done: int, total: int, name: str) -> None:
        now = time.perf_counter()
        if state["start"] is None:
            state["start"], state["first"] = now, done
        if now - state["drawn"] >= (0.5 if tty else 5.0) or done >= total:  # a log file gets a line every 5 s
            state["drawn"] = now
            text = progress_text(done - state["first"], max(total - state["first"], 0), now - state["start"], name)
            if tty:  # one line, redrawn in place
                print(f"\rdownloading: {text}\033[K", end="\n" if done >= total else "", file=sys.stderr, flush=True)
            else:
                print(f"downloading: {text}", file=sys.stderr, flush=True)

    with progress_to((lambda *_: None) if quiet else show):  # quiet: huggingface_hub's own bars stay off too
        model = open_model(source, n_heads=n_heads)
    if getattr(model.located, "notice", None):
        log(f"note: {model.located.notice}")
    return model



def compare_section(model, other: str, cache, log):
    """The "compare" section: `other` (a checkpoint, or a LoRA adapter, a folder or a Hub repo, merged over `model`)
    against it."""
    from adapters import open_located, open_model
    from adapters.lora import over, read_adapter
    from adapters.sources import adapter_folder
    from bundled import source_label
    from reporting import compare as present
    from topics import compare

    start = time.perf_counter()
    folder = adapter_folder(other)  # a local adapter folder, or a Hub repo that is an adapter
    adapter = read_adapter(folder) if folder else None
    model_b = (open_located(over(model.located, folder), model.requested_heads).view(getattr(model, "stack", "blocks"))
               if adapter else open_model(other, n_heads=model.requested_heads))
    options = {"with": model_b.cache_key}
    section = cache.load(model, "compare", options) if cache else None
    if section is None:
        section = present.section(compare.compute(model, model_b), source_label(model.source),
                                  source_label(model_b.source), adapter)
        store(model, "compare", section, cache, options)
    log(f"{'compare':<14} {time.perf_counter() - start:6.2f} s")
    return section


def _main_run(args, log) -> int:
    """report.py --run: open every checkpoint, compute the run (each checkpoint and pair cached on disk)."""
    from concurrent.futures import ThreadPoolExecutor

    from adapters import LoadError, open_model
    from reporting import Section
    from reporting import run as present
    from reporting.cache import SectionCache
    from reporting.html import installed_vega_bundle
    from topics import run as topic

    problem = _unwritable(args.out)
    if problem:
        print(f"error: --out {args.out}: {problem}", file=sys.stderr)
        return 2
    cache = None if args.no_cache else SectionCache()
    spectral = not args.no_spectral_run
    try:
        start = time.perf_counter()
        steps = topic.parse_steps(args.run)
        models = []
        for s in steps:
            try:
                models.append(open_model(s.source, n_heads=args.n_heads))
            except LoadError as e:
                raise LoadError(f"checkpoint {s.label}: {e}") from e

        def rows(model, key: str, options: dict, compute):
            found = cache.load(model, key, options) if cache else None
            if found is None:
                found = Section(key, key, jsonable(compute()))
                store(model, key, found, cache, options)
            return found.data

        def per_checkpoint(model):
            return rows(model, "run-checkpoint", {"spectral": spectral},
                        lambda: topic.checkpoint_rows(model, spectral))

        def per_pair(a, b, since):
            return rows(b, "run-change", {"since": since, "from": a.cache_key}, lambda: topic.change_rows(a, b, since))

        run = topic.compute(models, steps, spectral, lambda f, text: log(f"run {f:4.0%} {text}"),
                            per_checkpoint, per_pair)
        with ThreadPoolExecutor(1, thread_name_prefix="vega-bundle") as pool:
            bundle = pool.submit(installed_vega_bundle)
            section = present.section(run)
            json_path, html_path = write(models[-1], [section], args.out, bundle.result())
            _write_metrics(args.out, run_rows=section.data["rows"])
    except LoadError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    log(f"{'(run)':<14} {time.perf_counter() - start:6.2f} s; wrote {html_path} and {json_path}")
    return 0


def _write_metrics(out: str, source: str | None = None, sections=(), run_rows=None) -> str:
    """out/metrics.parquet: the spectral and statistics sections' numbers (or a run's), as topics.results' rows."""
    from topics import results

    by_key = {s.key: s.data for s in sections}
    rows = results.spectral_metrics(source, by_key.get("spectral") or [])
    rows += results.stats_metrics(source, by_key.get("stats") or [])
    if run_rows is not None:
        rows += results.run_metrics(run_rows)
    return results.write(rows, os.path.join(out, results.FILE))


def _executor(args):
    """The executor --executor names (None: the local default), or a LoadError saying how to get Ray."""
    from adapters import LoadError

    if args.executor == "local":
        if args.ray_address:
            raise LoadError("--ray-address needs --executor ray.")
        return None
    from topics.ray_executor import RayExecutor, require_ray

    require_ray()
    return RayExecutor(args.ray_address)


def _positive_int(text: str) -> int:
    """argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} heads: a model has at least one")
    return value


def _unwritable(out: str) -> str | None:
    """Why report files cannot be written into folder `out` (None: they can): checked before any work."""
    path = os.path.abspath(out)
    if os.path.exists(path) and not os.path.isdir(path):
        return "exists and is not a folder"
    existing = path
    while not os.path.exists(existing):  # the nearest one that exists is where the folder is created ('/' does)
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        return f"{existing} is not a folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} is not writable"
    return None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", help="Hub id (gpt2, org/name@rev), folder, or .safetensors file")
    parser.add_argument("--compare", metavar="B", default=None,
                        help="also compare checkpoint B with SOURCE (a fine-tune, another step, or a LoRA adapter "
                             "folder, merged over SOURCE): the 'compare' section")
    parser.add_argument("--run", nargs="+", metavar="SRC", default=None,
                        help="the checkpoints of one training run, oldest first (or one folder of checkpoint-* "
                             "folders): writes the 'run' section instead of the single-model sections")
    parser.add_argument("--no-spectral-run", action="store_true",
                        help="--run: leave out alpha and stable rank (the spectral scan of every checkpoint)")
    parser.add_argument("--out", required=True, help="folder for report.html and report.json")
    parser.add_argument("--n-heads", type=_positive_int, default=None,
                        help="head count, if the checkpoint does not say")
    parser.add_argument("--only", default=None, help=f"comma-separated topics (default all: {','.join(TOPICS)})")
    parser.add_argument("--shuffled", action="store_true",
                        help="spectral: also compare every matrix and head with an element-wise shuffled copy "
                             "(WeightWatcher's randomize: rand_alpha, correlation traps, learned spikes); "
                             "a second decomposition of each, about twice the spectral topic's time")
    parser.add_argument("--no-cache", action="store_true",
                        help="compute every section afresh and store nothing (default: reuse sections "
                             "stored under $XDG_CACHE_HOME/weights-explorer/report for this model and code; "
                             "the Vega script, the same for every report, is kept under .../assets either way)")
    parser.add_argument("--stack", default="blocks",
                        help="for a model with more than one stack of layers: which one the sections describe "
                             "('blocks', the decoder or main stack; 'encoder'; 'vision'; 'cross', the "
                             "decoder's cross-attention)")
    parser.add_argument("--executor", choices=("local", "ray"), default="local",
                        help="where the spectral scan's tasks run: 'local' (this machine's cores) or 'ray' (one Ray "
                             "task per matrix; a local Ray instance, or the cluster at --ray-address); "
                             "Ray: pip install -r requirements-cluster.txt")
    parser.add_argument("--ray-address", default=None, metavar="ADDRESS",
                        help="with --executor ray: an existing cluster (ray://head:10001, or auto); "
                             "default: start a local instance on this machine")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)

    from concurrent.futures import ThreadPoolExecutor

    from adapters import LoadError
    from reporting.cache import SectionCache
    from reporting.html import installed_vega_bundle

    log = (lambda msg: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr))
    topics = args.only.split(",") if args.only else TOPICS
    unknown = [t for t in topics if t not in TOPICS]
    if unknown:
        print(f"error: unknown topic(s) {', '.join(unknown)}; choose from {', '.join(TOPICS)}", file=sys.stderr)
        return 2
    options = {"spectral": {"shuffled": True}} if args.shuffled else {}
    problem = _unwritable(args.out)  # said now, not after every topic was computed
    if problem:
        print(f"error: --out {args.out}: {problem}", file=sys.stderr)
        return 2
    if (args.source is None) == (args.run is None):
        print("error: give a SOURCE, or --run with the checkpoints of a run (not both)", file=sys.stderr)
        return 2
    if args.run is not None:
        return _main_run(args, log)
    try:
        executor = _executor(args)
        start = time.perf_counter()
        model = open_showing_progress(args.source, args.n_heads, log, quiet=args.quiet)
        if args.stack not in model.views() and not (args.stack == "blocks" and not model.stacks()):
            print(f"error: --stack {args.stack}: this model's stacks are {', '.join(model.views()) or 'none'}",
                  file=sys.stderr)
            return 2
        model = model.view(args.stack)
        cache = None if args.no_cache else SectionCache()
        # The Vega bundle is the same for every report: read from the tool's assets, or built the first time
        # (~1.5 s, in a child process) while the topics run.
        with ThreadPoolExecutor(1, thread_name_prefix="vega-bundle") as pool:
            bundle = pool.submit(installed_vega_bundle)
            sections = build(model, topics, log, cache, options, executor)
            if args.compare:
                sections.append(compare_section(model, args.compare, cache, log))
            log(f"{'(all topics)':<14} {time.perf_counter() - start:6.2f} s")
            json_path, html_path = write(model, sections, args.out, bundle.result())
            metrics_path = _write_metrics(args.out, model.source, sections)
    except LoadError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    log(f"wrote {html_path}, {json_path} and {metrics_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
