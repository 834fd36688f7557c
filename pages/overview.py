"""Architecture overview: what the checkpoint holds, where the parameters go."""
import pandas as pd
import streamlit as st

from adapters.schema import CATEGORIES
from analyses.architecture import human_bytes, human_count, summarize
from charts import architecture as charts
from ui.session import model_caption, require_model

st.title("Architecture")
model = require_model()
model_caption(model)

tensors = model.tensors()
summary = summarize(tensors)
c = model.cfg

cols = st.columns(4)
cols[0].metric("Parameters (unique)", human_count(summary.params_unique), help=f"{summary.params_unique:,}")
cols[1].metric("As stored in the state dict", human_count(summary.params_stored), help=f"{summary.params_stored:,}")
cols[2].metric("Size on disk", human_bytes(summary.bytes), help="in each tensor's own dtype")
cols[3].metric("Tensors", f"{len(tensors):,}")

largest = max(summary.by_category, key=summary.by_category.get)
share = summary.by_category[largest] / max(summary.params_unique, 1)
reading = (f"**{summary.params_unique:,}** unique parameters in {c.n_layers} layers. "
           f"The largest share, **{share:.0%}**, sits in the {CATEGORIES[largest]} tensors.")
if summary.tied:
    reading += " " + "; ".join(f"`{a}` is tied to `{t}` (shown once, counted once in 'unique')"
                               for a, t in summary.tied) + "."
if summary.buffers:
    reading += f" {summary.buffers:,} values in buffers (masks, position ids) are not counted as parameters."
st.markdown(reading)

left, right = st.columns(2)
left.altair_chart(charts.by_category(summary.by_category), width="stretch",
                  height=28 * len(summary.by_category) + 60)  # Streamlit would shrink the layered chart
if summary.by_layer:
    right.altair_chart(charts.by_layer(summary.by_layer), width="stretch")

st.subheader("Configuration")
st.dataframe(pd.DataFrame([(k, str(v)) for k, v in c.to_dict().items() if k != "notes"],
                          columns=["fact", "value"]), hide_index=True, width="stretch")

st.subheader("Every tensor")
df = pd.DataFrame([{"name": t.name, "shape": " x ".join(map(str, t.shape)), "dtype": t.dtype,
                    "params": t.params, "category": CATEGORIES.get(t.category, t.category),
                    "layer": t.layer, "tied to": t.tied_to or "",
                    "schema": ", ".join(t.slots)} for t in tensors if not t.tied_to])
st.dataframe(df, hide_index=True, width="stretch", key="overview_tensors")
if model.unmapped:
    st.warning(f"{len(model.unmapped)} tensors are outside the schema and were sorted by name: "
               + ", ".join(f"`{n}`" for n in model.unmapped[:10]) + ("…" if len(model.unmapped) > 10 else ""))
