"""Read the Altair charts an AppTest run rendered: title, subtitle, spec and row counts."""
from __future__ import annotations

import json
from dataclasses import dataclass

import pyarrow as pa


@dataclass
class Shown:
    title: str
    subtitle: str
    spec: dict
    rows: list[int]  # rows of each dataset sent to the browser
    data: list  # each dataset as a list of records


def charts(at) -> list[Shown]:
    out = []
    for element in at.get("vega_lite_chart"):
        spec = json.loads(element.proto.spec)
        title = spec.get("title") or {}
        title = title if isinstance(title, dict) else {"text": title}
        tables = [pa.ipc.open_stream(d.data.data).read_all() for d in element.proto.datasets]
        out.append(Shown(str(title.get("text", "")), str(title.get("subtitle", "")), spec,
                         [t.num_rows for t in tables], [t.to_pylist() for t in tables]))
    return out


def titled(at, prefix: str) -> Shown:
    found = [c for c in charts(at) if c.title.startswith(prefix)]
    assert len(found) == 1, (prefix, [c.title for c in charts(at)])
    return found[0]
