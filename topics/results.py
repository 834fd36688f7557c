"""One tidy table of a scan's numbers: metrics.parquet, one row per model x tensor x slot x layer x head x metric.

    rows = spectral_metrics("gpt2", spectral_records) + stats_metrics("gpt2", stats_records)
    write(rows, "out/metrics.parquet")
    table = read("out/metrics.parquet")          # the same rows, as a list of dicts
    spectra(table)                               # a results folder seen as the spectral topic's result

`head` is null for a whole matrix, `layer` for a matrix outside the layers (embeddings), `slot` for a stored
tensor (the statistics), `tensor` for a per-head row (a head is named by its slot, layer and head); a metric
that is undefined (alpha of a matrix with too few eigenvalues, the skew of a constant tensor) has a null value.
The records are the report's section data (reporting/spectral.py, reporting/stats.py), so a report served
from its cache writes the same table as one computed afresh, on any executor.
"""
from __future__ import annotations

import math
import os

from adapters import schema

COLUMNS = ("model", "topic", "tensor", "slot", "layer", "head", "metric", "value")
SPECTRAL_METRICS = ("alpha", "xmin", "ks_distance", "alpha_weighted", "stable_rank", "log_spectral_norm",
                    "log_frobenius_norm", "mp_spikes", "effective_rank", "rand_alpha")
STATS_METRICS = ("count", "mean", "std", "min", "max", "skew", "kurtosis", "nan", "inf")
FILE = "metrics.parquet"


def _value(v) -> float | None:
    """A metric as a float; None (null) for a missing or non-finite one (report.jsonable nulls them too)."""
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def _int(v) -> int | None:
    return None if v is None else int(v)


def spectral_metrics(model: str, records: list[dict]) -> list[dict]:
    """Rows of the spectral section's records ({layer, slot, head, alpha, ...}); skipped matrices have none."""
    rows = []
    for r in records:
        if "skipped" in r:
            continue
        tensor = schema.name(r["slot"], r["layer"]) if r["head"] is None else None
        where = {"model": model, "topic": "spectral", "tensor": tensor, "slot": r["slot"], "layer": _int(r["layer"]),
                 "head": _int(r["head"])}
        rows += [{**where, "metric": m, "value": _value(r.get(m))} for m in SPECTRAL_METRICS]
    return rows


def stats_metrics(model: str, records: list[dict]) -> list[dict]:
    """Rows of the statistics section's records (one per stored tensor: analyses.tensor_stats.TensorStats)."""
    return [{"model": model, "topic": "stats", "tensor": r["name"], "slot": None, "layer": None, "head": None,
             "metric": m, "value": _value(r.get(m))} for r in records for m in STATS_METRICS]


def run_metrics(records: list[dict]) -> list[dict]:
    """Rows of a training run's records ({checkpoint, layer, slot, metric, value}: topics/run.py): the model is
    the checkpoint's label."""
    return [{"model": r["checkpoint"], "topic": "run", "tensor": schema.name(r["slot"], r["layer"]),
             "slot": r["slot"], "layer": _int(r["layer"]), "head": None, "metric": r["metric"], "value": _value(r["value"])}
            for r in records]


def _schema():
    import pyarrow as pa

    return pa.schema([("model", pa.string()), ("topic", pa.string()), ("tensor", pa.string()),
                      ("slot", pa.string()), ("layer", pa.int32()), ("head", pa.int32()),
                      ("metric", pa.string()), ("value", pa.float64())])


def write(rows: list[dict], path: str) -> str:
    """`rows` as a Parquet file at `path` (written whole, then renamed: a reader never sees half a file)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(rows, schema=_schema())
    partial = path + ".partial"
    pq.write_table(table, partial)
    os.replace(partial, path)
    return path


def read(path: str) -> list[dict]:
    """The rows of a metrics.parquet file, in the order they were written."""
    import pyarrow.parquet as pq

    from adapters import LoadError

    try:
        table = pq.read_table(path)
    except (OSError, ValueError) as e:  # pyarrow's ArrowInvalid is a ValueError
        raise LoadError(f"{path} is not a readable metrics.parquet ({str(e)[:200]}); write it again with report.py.") from e
    missing = [c for c in COLUMNS if c not in table.column_names]
    if missing:
        raise LoadError(f"{path} has no column {', '.join(missing)}: it was not written by report.py.")
    return table.select(list(COLUMNS)).to_pylist()


def is_results_folder(source) -> bool:
    """Whether `source` is a folder holding a metrics.parquet (a report's --out folder): opened without weights."""
    return isinstance(source, str) and os.path.isfile(os.path.join(os.path.expanduser(source), FILE))


def path_in(folder: str) -> str:
    return os.path.join(os.path.expanduser(folder), FILE)


def models(rows: list[dict]) -> list[str]:
    """The models a table holds, in the order it lists them."""
    return list(dict.fromkeys(r["model"] for r in rows))


def _records(rows: list[dict], topic: str, model: str | None, key) -> list[dict]:
    """Long rows back to one wide record per `key(row)`, in first-seen order, the metrics as fields."""
    out: dict = {}
    for r in rows:
        if r["topic"] == topic and (model is None or r["model"] == model):
            out.setdefault(key(r), {"model": r["model"], "tensor": r["tensor"], "slot": r["slot"],
                                    "layer": r["layer"], "head": r["head"]})[r["metric"]] = r["value"]
    return list(out.values())


def spectra(rows: list[dict], model: str | None = None):
    """The spectral rows of `model` (None: all) as topics.spectral.Spectra, which its reading and charts take.
    Skipped matrices are not in the table, so none are listed."""
    from topics.spectral import Spectra

    records = _records(rows, "spectral", model, lambda r: (r["model"], r["slot"], r["layer"], r["head"]))
    for r in records:
        r["name"] = r["tensor"]
        r["level"] = "slot" if r["head"] is None else "head"
        if r.get("mp_spikes") is not None:
            r["mp_spikes"] = int(r["mp_spikes"])  # a count: "3 spikes", as the live rows say it
    shuffled = any(r.get("rand_alpha") is not None for r in records)
    return Spectra([r for r in records if r["level"] == "slot"], [r for r in records if r["level"] == "head"],
                   shuffled)


def stats(rows: list[dict], model: str | None = None) -> list[dict]:
    """One record per stored tensor: {model, tensor, count, mean, std, min, max, skew, kurtosis, nan, inf}."""
    return _records(rows, "stats", model, lambda r: (r["model"], r["tensor"]))
