"""A results folder (a report's --out: metrics.parquet) shown on the spectral and health pages, weights untouched.

    folder = results_folder()          # the chosen source, when it is a results folder; else None
    if folder:
        show_spectral(folder)          # the scan made elsewhere (a Ray cluster), browsed here
        st.stop()
"""
from __future__ import annotations

import os

import pandas as pd
import streamlit as st

from adapters import LoadError
from charts import spectral as charts
from topics import results
from topics import spectral as spectral_topic
from ui.session import current_source, is_hosted


def results_folder() -> str | None:
    """The chosen source when it is a folder with a metrics.parquet (never when hosted: no local paths there)."""
    source = current_source()
    return source if not is_hosted() and results.is_results_folder(source) else None


@st.cache_data(show_spinner=False, max_entries=8)
def _rows(path: str, mtime_ns: int) -> list[dict]:  # keyed by the file's mtime: a rewritten table is read afresh
    return results.read(path)


def _table(folder: str) -> list[dict]:
    path = results.path_in(folder)
    try:
        return _rows(path, os.stat(path).st_mtime_ns)
    except (LoadError, OSError) as e:
        st.error(f"Could not read **{path}**: {e}")
        st.stop()


def _pick_model(rows: list[dict], folder: str, key: str) -> str | None:
    """The model whose rows are shown (a training run's table holds one per checkpoint)."""
    names = results.models(rows)
    if not names:
        return None
    st.caption(f"From **{results.path_in(folder)}**: numbers computed earlier (weights not read).")
    return st.selectbox("Model", names, key=key) if len(names) > 1 else names[0]


def show_spectral(folder: str) -> None:
    """The spectral page's chart and reading, from the table."""
    rows = _table(folder)
    model = _pick_model(rows, folder, "spectral_results_model")
    result = results.spectra(rows, model)
    if not result.slots:
        st.warning(f"{results.path_in(folder)} holds no spectral numbers: write it with report.py without --only, "
                   "or with --only spectral.")
        return
    metric = st.selectbox("Metric", [m for m in results.SPECTRAL_METRICS if m != "xmin"], key="spectral_metric")
    st.altair_chart(charts.metric_by_layer(result.slots, metric), width="stretch")
    st.markdown(spectral_topic.reading(result))


def show_health(folder: str) -> None:
    """The health page's table, from the table."""
    rows = _table(folder)
    model = _pick_model(rows, folder, "health_results_model")
    records = results.stats(rows, model)
    if not records:
        st.warning(f"{results.path_in(folder)} holds no statistics: write it with report.py without --only, "
                   "or with --only stats.")
        return
    bad = [r["tensor"] for r in records if (r.get("nan") or 0) + (r.get("inf") or 0) > 0]
    if bad:
        st.warning(f"{len(bad)} tensor(s) hold NaN or Inf: " + ", ".join(f"`{t}`" for t in bad[:20]))
    df = pd.DataFrame(records).drop(columns=["model", "slot", "layer", "head"])
    st.dataframe(df, hide_index=True, width="stretch", key="health_results")
