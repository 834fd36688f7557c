"""Every tensor's statistics in one streaming pass: NaN/Inf, constant tensors, heavy tails."""
import pandas as pd
import streamlit as st

from adapters.schema import CATEGORIES
from charts import health as charts
from topics import health as topic
from ui.cache import cached
from ui.results_view import results_folder, show_health
from ui.session import model_caption, require_model

st.title("Tensor health")
if results_folder():  # a report's metrics.parquet, shown without the weights
    show_health(results_folder())
    st.stop()
model = require_model()
model_caption(model)

result = cached("health", "compute", model, progress="Reading every tensor once…")
st.session_state["health_scanned"] = model.cache_key  # the architecture page may now show its result for free
if result.broken:
    st.warning(topic.broken_reading(result))
    st.dataframe(pd.DataFrame(topic.broken_rows(result)), hide_index=True, width="stretch", key="health_broken")
st.markdown(topic.reading(result))
metric = st.radio("Plot", list(charts.METRICS), format_func=charts.METRICS.get, horizontal=True,
                  key="health_metric")
st.altair_chart(charts.by_layer(topic.chart_rows(result), metric), width="stretch")
info = {t.name: t for t in model.tensors()}
df = pd.DataFrame([{"tensor": s.name, "category": CATEGORIES.get(info[s.name].category, ""),
                    "layer": info[s.name].layer, "dtype": s.dtype, "values": s.count + s.nan + s.inf,
                    "mean": s.mean, "std": s.std, "min": s.min, "max": s.max, "skew": s.skew,
                    "excess kurtosis": s.kurtosis, "NaN": s.nan, "Inf": s.inf} for s in result.stats])
only_bad = st.toggle("Only tensors with NaN or Inf", key="health_only_bad", value=False)
shown = df[(df["NaN"] > 0) | (df["Inf"] > 0)] if only_bad else df
st.dataframe(shown, hide_index=True, width="stretch")
st.caption("Moments use the finite values only; NaN and Inf are counted separately. One pass reads each "
           "tensor's bytes in 4 MB chunks, so memory stays flat whatever the model's size.")
