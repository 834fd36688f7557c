"""The headless report: each topic module builds a `Section`; report.py assembles HTML + JSON."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Section:
    """One topic of the report, built by `reporting.<topic>.section(model)`."""
    key: str  # its key in report.json ("positional", "distributions", ...)
    title: str  # heading in report.html
    data: object  # JSON-serialisable (dict, list or None): every figure the page shows
    reading: str = ""  # the computed plain-language reading, markdown (**bold**, `code`)
    charts: list = field(default_factory=list)  # Altair charts, built by charts/*
