"""An on-disk cache of finished report sections, so a second report of the same model is nearly free.

    cache = SectionCache()                      # $XDG_CACHE_HOME/weights-explorer/report (or ~/.cache/...)
    section = cache.load(model, "heads")        # a Section, or None
    cache.store(model, "heads", section)        # section.data already JSON-ready (report.jsonable)

What is stored is what the report writes: the section's JSON data, its reading, and each chart as
its Vega-Lite spec (a dict, `chart.to_dict()`), since the HTML needs nothing else from a chart. A
section read back carries those specs in `charts` (reporting.html.render takes either).

The key is the model's identity (path + size + mtime of its files, the Hub revision, or an upload's
digest), its architecture and config (so --n-heads counts), the topic and its options, and
CODE_VERSION: a hash of this program's sources and of the library versions that shape the numbers
and the charts, so any change of code is a miss rather than a stale hit. Files are JSON, written atomically; anything that
fails to parse or to match its key is ignored and recomputed. Nothing is ever unpickled.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from functools import lru_cache
from importlib import metadata

from reporting import Section

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_SOURCES = ("adapters", "analyses", "topics", "charts", "reporting", "bundled.py", "report.py")
_LIBRARIES = ("numpy", "scipy", "scikit-learn", "altair", "vl-convert-python", "safetensors")


def default_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "weights-explorer", "report")


@lru_cache(maxsize=1)
def code_version() -> str:
    """A hash of every source file the report runs and of the versions of the libraries it leans on."""
    h = hashlib.sha256()
    for top in _SOURCES:
        path = os.path.join(ROOT, top)
        files = [path] if os.path.isfile(path) else sorted(
            os.path.join(d, f) for d, _, names in os.walk(path) for f in names if f.endswith(".py"))
        for f in files:
            h.update(os.path.relpath(f, ROOT).encode())
            with open(f, "rb") as fh:
                h.update(hashlib.sha256(fh.read()).digest())
    for lib in _LIBRARIES:
        try:
            h.update(f"{lib}={metadata.version(lib)}".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{lib}=none".encode())
    return h.hexdigest()[:16]


# The results folder is pruned, least recently used first, whenever a store takes it past this size:
# every code change writes new keys, so without it stale sections would pile up for ever.
MAX_BYTES = 256 << 20


class SectionCache:
    """Report sections on disk, one JSON file per (model, topic, options, code version)."""

    def __init__(self, folder: str | None = None, max_bytes: int = MAX_BYTES):
        self.folder = folder or default_dir()
        self.max_bytes = max_bytes

    def _key(self, model, topic: str, options: dict | None) -> dict:
        key = {"identity": model.identity, "arch": model.arch, "cfg": model.cfg.to_dict(), "topic": topic,
               "code": code_version()}
        if options:  # the section's keyword arguments (report --shuffled); none keeps the plain key
            key["options"] = options
        if getattr(model, "stack", "blocks") != "blocks":  # another stack's layers (report --stack encoder)
            key["stack"] = model.stack
        return key

    def _path(self, key: dict) -> str:
        digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:32]
        return os.path.join(self.folder, f"{key['topic']}-{digest}.json")

    def load(self, model, topic: str, options: dict | None = None) -> Section | None:
        """The stored section of this model, topic and options, or None (never stored, stale, or unreadable)."""
        key = self._key(model, topic, options)
        path = self._path(key)
        try:
            with open(path, encoding="utf-8") as f:
                doc = json.load(f)
        except (OSError, ValueError):
            return None
        if not isinstance(doc, dict) or json.dumps(doc.get("key"), sort_keys=True, default=str) != \
                json.dumps(key, sort_keys=True, default=str):
            return None
        s = doc.get("section") or {}
        if not (isinstance(s.get("key"), str) and isinstance(s.get("title"), str) and isinstance(s.get("reading"), str)
                and isinstance(s.get("charts"), list) and all(isinstance(c, dict) for c in s["charts"])):
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: pruned last
        return Section(s["key"], s["title"], s.get("data"), s["reading"], s["charts"])

    def store(self, model, topic: str, section: Section, options: dict | None = None) -> None:
        """Write `section` (data JSON-ready, charts as specs or Altair charts); a failure only loses the cache."""
        key = self._key(model, topic, options)
        doc = {"key": key, "section": {"key": section.key, "title": section.title, "data": section.data,
                                       "reading": section.reading,
                                       "charts": [spec(c) for c in section.charts]}}
        try:
            text = json.dumps(doc, separators=(",", ":"))
        except (TypeError, ValueError):  # data that is not JSON: not cached
            return
        _write(self._path(key), text)
        self.prune()

    def prune(self) -> None:
        """Delete the least recently used sections until the folder holds at most `max_bytes`."""
        try:
            entries = [(e.stat().st_mtime, e.stat().st_size, e.path) for e in os.scandir(self.folder)
                       if e.is_file() and e.name.endswith(".json")]
        except OSError:
            return
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries):  # oldest first
            if total <= self.max_bytes:
                break
            with contextlib.suppress(OSError):
                os.unlink(path)
                total -= size


def assets_dir() -> str:
    """$XDG_CACHE_HOME/weights-explorer/assets (or ~/.cache/...): files the tool builds once, for every model."""
    return os.path.join(os.path.dirname(default_dir()), "assets")


def asset(name: str, make, folder: str | None = None) -> str:
    """A static text file the tool builds once and reuses for every model (e.g. "vega-bundle-1.9.0.js":
    name it by what it depends on), made by `make()` when missing. Kept in assets_dir(), apart from the
    results: --no-cache recomputes results, not these."""
    path = os.path.join(folder or assets_dir(), name)
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError:
        pass
    value = make()
    _write(path, value)
    return value


def _write(path: str, text: str) -> None:
    """Write atomically (a temporary file, then a rename); a failure only loses the cache entry."""
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
    except OSError:
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def spec(chart) -> dict:
    """A chart's Vega-Lite spec: an Altair chart's `to_dict()`, or the dict itself when already one."""
    return chart if isinstance(chart, dict) else chart.to_dict()
