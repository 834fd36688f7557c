"""Training quality from the weights alone: power-law tails of each matrix's spectrum (WeightWatcher-style)."""
import streamlit as st

from adapters import schema
from charts import spectral as charts
from topics import spectral as topic
from topics.spectral import flagged, metric_help, metric_label
from ui.cache import cached
from ui.progress import StoppableProgress
from ui.results_view import results_folder, spectra_in
from ui.session import model_caption, require_model
from ui.url_state import url_widget

METRICS = ["alpha", "alpha_weighted", "stable_rank", "log_spectral_norm", "log_frobenius_norm", "mp_spikes",
           "effective_rank", "ks_distance"]
SHUFFLED_METRICS = ["rand_alpha", "learned_spikes"]  # only with the shuffled baselines
WHOLE = "whole matrix"
STOPPED_KEY = "spectral_stopped"  # session_state: what the Stop button stopped ("shuffled" or "all"), for one run


def _all_rows(model, with_heads: bool, shuffled: bool) -> topic.Spectra:
    """Layer by layer through the cache, so the first visit shows progress (and can be stopped) and later ones are
    instant. The embeddings, the largest matrices, come last, so the bar moves from the start."""
    steps = [(layer, part) for layer in range(model.cfg.n_layers or 0)
             for part in (["slots", "heads"] if with_heads else ["slots"])] + [(None, "slots")]
    work = StoppableProgress("Spectra of every matrix…", key="spectral_stop", on_stop=_stop)
    slots, heads, outside = [], [], []  # outside: the embeddings' rows, listed first as before
    for i, (layer, part) in enumerate(steps):
        where = "embeddings" if layer is None else f"layer {layer}" + ("'s heads" if part == "heads" else "")
        work.update(i / len(steps), f"Spectra{' and shuffled baselines' if shuffled else ''}: {where}")
        if part == "slots":
            (outside if layer is None else slots).extend(
                cached("spectral", "layer_slots", model, layer=layer, shuffled=shuffled))
        else:
            heads += cached("spectral", "layer_heads", model, layer=layer, shuffled=shuffled)
    work.done()
    return topic.assemble(outside + slots, heads, shuffled)


def _stop() -> None:
    """The Stop button's callback, run before the page: stopping the shuffled baselines switches them off (the page
    then shows the plain spectra); otherwise the page stops until the next click."""
    if st.session_state.get("spectral_shuffled"):
        st.session_state["spectral_shuffled"] = False
        st.session_state[STOPPED_KEY] = "shuffled"
    else:
        st.session_state[STOPPED_KEY] = "all"


st.title("Training quality (spectra)")
if results_folder():  # a report's metrics.parquet, shown without the weights
    found = spectra_in(results_folder())
    metric = st.selectbox("Metric", METRICS, key="spectral_metric")
    st.altair_chart(charts.metric_by_layer(found.slots, metric), width="stretch")
    st.markdown(topic.reading(found))
    st.stop()
model = require_model()
model_caption(model)

left, right = st.columns(2)
with_heads = left.toggle("Per-head diagnostics", value=True, key="spectral_heads",
                         help="W_Q, W_K, W_V, W_O and the QK / OV circuits of every head.")
shuffled = right.toggle("Shuffled baselines (slower)", value=False, key="spectral_shuffled",
                        help="Each matrix beside a copy with its entries shuffled: correlation traps, learned "
                             "spikes. A second decomposition of everything, about 4x the time.")
stopped = st.session_state.pop(STOPPED_KEY, None)
if stopped == "shuffled":
    st.info("Shuffled baselines stopped and switched off; the layers they finished are kept, so switching them on "
            "again goes on from there.")
elif stopped == "all":
    st.info("Stopped. The layers finished are kept: click **Go on** to compute the rest.")
    st.button("Go on", key="spectral_resume")
    st.stop()
metrics = METRICS + SHUFFLED_METRICS if shuffled else METRICS
result = _all_rows(model, with_heads, shuffled)
if result.skipped:
    st.warning(topic.skipped_reading(result))
if not result.slots:
    st.warning(topic.reading(result, with_skipped=False))
    st.stop()

metric = st.selectbox("Metric", metrics, key=url_widget("spectral_metric", metrics), format_func=metric_label)
st.caption(f"**{metric_label(metric)}**: {metric_help(metric)}.")
st.altair_chart(charts.metric_by_layer(result.slots, metric), width="stretch")
st.markdown(topic.reading(result, with_skipped=False))  # the skipped ones are in the warning above
every_flag = flagged(result.slots)
if len(every_flag) > topic.FLAGGED:
    with st.expander(f"All {len(every_flag)} matrices outside the well-trained band"):
        st.markdown("\n".join(f"- {line}" for line in every_flag))
if model.layers("mlp.W_router"):
    st.info("The routed experts' matrices are diagnosed one by one on the **Experts (MoE)** page (alpha and "
            "stable rank per layer and expert); this page covers the matrices every token uses.")

st.subheader("One matrix's spectrum")
by_name = {r["name"]: r for r in result.slots}
left, mid, right = st.columns(3)
chosen = by_name[left.selectbox("Matrix", list(by_name), key=url_widget("spectral_matrix", list(by_name)))]
is_attn = chosen["slot"] in schema.ATTN_WEIGHTS and any(r["layer"] == chosen["layer"] for r in result.heads)
head = mid.selectbox("Head", [WHOLE] + list(range(model.cfg.n_heads or 0)) if is_attn else [WHOLE],
                     key="spectral_head")
kind = right.selectbox("Per-head matrix", list(topic.HEAD_KINDS), key="spectral_kind", disabled=head == WHOLE)
layer = chosen["layer"]
if head == WHOLE:
    one = cached("spectral", "spectrum", model, "Computing the spectrum…", slot=chosen["slot"], layer=layer,
                 shuffled=shuffled)
    title, row = chosen["name"], chosen
else:
    one = cached("spectral", "spectrum", model, "Computing the spectrum…", slot=chosen["slot"], layer=layer,
                 head=int(head), kind=kind, shuffled=shuffled)
    title = f"{schema.name(topic.HEAD_KINDS[kind], layer)} head {head}"
    row = topic.find_row(result.heads, layer, topic.HEAD_KINDS[kind], int(head))
st.altair_chart(charts.esd(one.evals, one.fit, one.mp_edge, one.shuffled, title), width="content")
if row:
    st.markdown(topic.row_reading(row))
st.caption("Histogram in log-spaced bins (60), as a density over λ. Red: the power law fitted to the tail "
           "(Clauset-Shalizi-Newman, x_min by the smallest KS distance). Orange: the Marchenko-Pastur bulk edge "
           "of a random matrix with the same shape and bulk scale."
           + (" Right: the same entries shuffled." if shuffled else ""))

if with_heads and result.heads:
    st.subheader("Per head")
    a, b = st.columns(2)
    head_kind = a.selectbox("Per-head matrix", list(topic.HEAD_KINDS.values()), key="spectral_heatmap_kind")
    head_metric = b.selectbox("Metric", metrics, key="spectral_heatmap_metric", format_func=metric_label)
    st.altair_chart(charts.head_heatmap(result.heads, head_kind, head_metric), width="stretch")
    st.markdown(topic.heads_reading(result, head_kind))
    st.caption(f"A head's {head_kind} has only d_head = {model.cfg.d_head} non-zero eigenvalues, so its alpha "
               "is far noisier than a whole matrix's.")
