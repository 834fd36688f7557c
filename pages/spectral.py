"""Training quality from the weights alone: power-law tails of each matrix's spectrum (WeightWatcher-style)."""
import streamlit as st

from analyses import spectral_model as sm
from analyses import spectral_reading as reading
from analyses.powerlaw import fit_power_law
from analyses.spectral import mp_fit
from charts import spectral as charts
from ui.session import model_caption, require_model

METRICS = ["alpha", "alpha_weighted", "stable_rank", "log_spectral_norm", "log_frobenius_norm", "mp_spikes",
           "effective_rank", "ks_distance"]
SHUFFLED_METRICS = ["rand_alpha", "learned_spikes"]  # only with the shuffled baselines
WHOLE = "whole matrix"


@st.cache_data(show_spinner=False, max_entries=256)
def _slot_rows(_model, identity: str, layer, shuffled: bool) -> list[dict]:
    return sm.diagnose_slots(_model, with_shuffled=shuffled, layers={layer})


@st.cache_data(show_spinner=False, max_entries=256)
def _head_rows(_model, identity: str, layer: int, shuffled: bool) -> list[dict]:
    return sm.diagnose_heads(_model, with_shuffled=shuffled, layers={layer})


@st.cache_data(show_spinner="Computing the spectrum…", max_entries=32)
def _esd(_model, identity: str, name: str, head, kind, shuffled: bool):
    evals, n = sm.matrix_eigenvalues(_model, name, head, kind)
    rand = sm.matrix_eigenvalues(_model, name, head, kind, shuffle=True)[0] if shuffled else None
    return evals, rand, n


def _all_rows(model, with_heads: bool, shuffled: bool) -> tuple[list[dict], list[dict]]:
    """Layer by layer through the caches, so the first visit shows progress and later ones are instant."""
    groups = [None] + list(range(model.cfg.n_layers or 0))
    bar = st.progress(0.0, "Spectra of every matrix…")
    slots, heads = [], []
    for i, layer in enumerate(groups):
        bar.progress(i / len(groups), f"Spectra: {'embeddings' if layer is None else f'layer {layer}'}")
        slots += _slot_rows(model, model.identity, layer, shuffled)
        if with_heads and layer is not None:
            heads += _head_rows(model, model.identity, layer, shuffled)
    bar.empty()
    return slots, heads


st.title("Training quality (spectra)")
model = require_model()
model_caption(model)
st.markdown(reading.THRESHOLDS)

left, right = st.columns(2)
with_heads = left.toggle("Per-head diagnostics (W_Q, W_K, W_V, W_O and the QK / OV circuits of every head)",
                         value=True, key="spectral_heads")
shuffled = right.toggle("Shuffled baselines (each matrix beside a copy with its entries shuffled: correlation "
                        "traps, learned spikes; a second decomposition of everything, about 4x the time)",
                        value=False, key="spectral_shuffled")
metrics = METRICS + SHUFFLED_METRICS if shuffled else METRICS
slot_rows, head_rows = _all_rows(model, with_heads, shuffled)
if not slot_rows:
    st.warning("No weight matrix with at least 8 eigenvalues in this model.")
    st.stop()

metric = st.selectbox("Metric", metrics, key="spectral_metric")
st.altair_chart(charts.metric_by_layer(slot_rows, metric), width="stretch")
st.markdown(reading.summary(slot_rows))
flags = reading.flagged(slot_rows)
st.markdown("\n".join(f"- {line}" for line in flags) if flags else "Every matrix is in the well-trained band.")

st.subheader("One matrix's spectrum")
names = [r["name"] for r in slot_rows]
left, mid, right = st.columns(3)
name = left.selectbox("Matrix", names, key="spectral_matrix")
is_attn = ".attn.W_" in name and with_heads and head_rows
head = mid.selectbox("Head", [WHOLE] + list(range(model.cfg.n_heads or 0)) if is_attn else [WHOLE],
                     key="spectral_head")
kind = right.selectbox("Per-head matrix", sm.HEAD_KINDS, key="spectral_kind", disabled=head == WHOLE)
head = None if head == WHOLE else int(head)
evals, rand, n_rows = _esd(model, model.identity, name, head, kind if head is not None else None, shuffled)
fit = fit_power_law(evals)
edge = mp_fit(evals, n_rows).edge if head is None or kind not in ("QK", "OV") else None
title = name if head is None else f"{name.rsplit('.', 1)[0]}.{kind} head {head}"
st.altair_chart(charts.esd(evals, fit, edge, rand, title), width="content")
row = next((r for r in (slot_rows if head is None else head_rows)
            if r["name"] == (name if head is None else f"{name.rsplit('.', 1)[0]}.{kind}[{head}]")), None)
if row:
    st.markdown(reading.verdict(row))
st.caption("Histogram in log-spaced bins (60), as a density over λ. Red: the power law fitted to the tail "
           "(Clauset-Shalizi-Newman, x_min by the smallest KS distance). Orange: the Marchenko-Pastur bulk edge "
           "of a random matrix with the same shape and bulk scale."
           + (" Right: the same entries shuffled." if shuffled else ""))

if with_heads and head_rows:
    st.subheader("Per head")
    a, b = st.columns(2)
    head_kind = a.selectbox("Per-head matrix", [f"attn.{k}" for k in sm.HEAD_KINDS], key="spectral_heatmap_kind")
    head_metric = b.selectbox("Metric", metrics, key="spectral_heatmap_metric")
    st.altair_chart(charts.head_heatmap(head_rows, head_kind, head_metric), width="stretch")
    chosen = [r for r in head_rows if r["slot"] == head_kind]
    st.markdown(reading.summary(chosen))
    st.caption(f"A head's {head_kind} has only d_head = {model.cfg.d_head} non-zero eigenvalues, so its alpha "
               "is far noisier than a whole matrix's.")
