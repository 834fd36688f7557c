"""A results folder (a report's --out: metrics.parquet) for the spectral and health pages, weights untouched.

    folder = results_folder()          # the chosen source, when it is a results folder; else None
    if folder:
        result = spectra_in(folder)    # a scan made elsewhere (a Ray cluster), browsed here: the page charts it
"""
from __future__ import annotations

import os

import pandas as pd
import streamlit as st

from adapters import LoadError
from topics import results
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


def spectra_in(folder: str):
    """The folder's spectral rows (of the model chosen, when it holds several) as topics.spectral.Spectra;
    the page stops with a warning when it has none."""
    rows = _table(folder)
    result = results.spectra(rows, _pick_model(rows, folder, "spectral_results_model"))
    if not result.slots:
        st.warning(f"{results.path_in(folder)} holds no spectral numbers: write it with report.py without --only, "
                   "or with --only spectral.")
        st.stop()
    return result


def show_health(folder: str) -> None:
    """The health page's table, from the folder's statistics rows."""
    rows = _table(folder)
    records = results.stats(rows, _pick_model(rows, folder, "health_results_model"))
    if not records:
        st.warning(f"{results.path_in(folder)} holds no statistics: write it with report.py without --only, "
                   "or with --only stats.")
        return
    bad = [r["tensor"] for r in records if (r.get("nan") or 0) + (r.get("inf") or 0) > 0]
    if bad:
        st.warning(f"{len(bad)} tensor(s) hold NaN or Inf: " + ", ".join(f"`{t}`" for t in bad[:20]))
    df = pd.DataFrame(records).drop(columns=["model", "slot", "layer", "head"])
    st.dataframe(df, hide_index=True, width="stretch", key="health_results")
