"""Architecture overview: what the checkpoint holds, where the parameters go."""
import pandas as pd
import streamlit as st

from adapters.schema import CATEGORIES
from adapters.units import human_bytes, human_count
from charts import architecture as charts
from topics import architecture as topic
from topics import health as health_topic
from ui.cache import cached
from ui.session import model_caption, require_model

SCAN_ON_VISIT_BYTES = 1 << 30  # ~1-2 s to read on one core

st.title("Architecture")
model = require_model()
model_caption(model)

result = cached("architecture", "compute", model)
summary, tensors, c = result.summary, result.tensors, model.cfg

# The broken-checkpoint check reads every tensor, so on first visit it runs only for a model of at most
# SCAN_ON_VISIT_BYTES (a second or two); a larger model gets it when asked, or once this session's
# health page has scanned it (its result then comes from the shared cache at no cost).
scanned = st.session_state.get("health_scanned") == model.cache_key
if scanned or summary.bytes <= SCAN_ON_VISIT_BYTES or st.button(
        f"Check every tensor for NaN, Inf and all-zero matrices (reads all {human_bytes(summary.bytes)})",
        key="overview_scan"):
    health = cached("health", "compute", model, progress="Reading every tensor once…")
    st.session_state["health_scanned"] = model.cache_key
    if health.broken:
        st.warning(health_topic.broken_reading(health))
        st.dataframe(pd.DataFrame(health_topic.broken_rows(health)), hide_index=True, width="stretch",
                     key="overview_broken")
    else:
        st.caption("Every tensor is finite, and no matrix is all zero or constant.")

cols = st.columns(5 if summary.routed else 4)
cols[0].metric("Parameters (unique)", human_count(summary.params_unique), help=f"{summary.params_unique:,}")
if summary.routed:
    cols[4].metric("Active per token", human_count(result.params_active), help=f"{result.params_active:,}: the "
                   f"routed experts count {c.n_experts_per_token} of {c.n_experts}")
cols[1].metric("As stored in the state dict", human_count(summary.params_stored), help=f"{summary.params_stored:,}")
cols[2].metric("Size on disk", human_bytes(summary.bytes), help="each tensor as stored, its scales included")
cols[3].metric("Tensors", f"{len(tensors):,}")
st.markdown(topic.reading(result))

left, right = st.columns(2)
left.altair_chart(charts.by_category(summary.by_category), width="stretch",
                  height=28 * len(summary.by_category) + 60)  # Streamlit would shrink the layered chart
if summary.by_layer:
    right.altair_chart(charts.by_layer(summary.by_layer), width="stretch")

st.subheader("Storage")
storage = topic.storage_rows(summary)
if len(storage) > 1:
    st.altair_chart(charts.by_storage(storage), width="stretch", height=28 * len(storage) + 60)
st.dataframe(pd.DataFrame(storage).rename(columns={"bits_per_weight": "bits a weight", "bytes": "bytes on disk"}),
             hide_index=True, width="stretch", key="overview_storage")

st.subheader("Configuration")
st.dataframe(pd.DataFrame([(k, str(v)) for k, v in c.to_dict().items() if k != "notes"],
                          columns=["fact", "value"]), hide_index=True, width="stretch")

st.subheader("Every tensor")
df = pd.DataFrame([{"name": t.name, "shape": " x ".join(map(str, t.shape)), "stored": t.stored,
                    "bits a weight": round(t.bits_per_weight, 3), "on disk": human_bytes(t.nbytes),
                    "scales": t.scales, "params": t.params, "category": CATEGORIES.get(t.category, t.category),
                    "layer": t.layer, "tied to": t.tied_to or "",
                    "schema": ", ".join(t.slots)} for t in tensors if not t.tied_to])
st.dataframe(df, hide_index=True, width="stretch", key="overview_tensors")
