"""Norm gains: each LayerNorm / RMSNorm scale over the residual stream, and the dimensions they single out."""
import pandas as pd
import streamlit as st

from charts import norms as charts
from topics import norms as topic
from ui.cache import cached
from ui.session import model_caption, require_model

st.title("Norm gains")
model = require_model()
model_caption(model)

result = cached("norms", "compute", model, "Reading the norm weights…")
st.markdown(topic.reading(result))
if not result.names:
    st.stop()
labels = topic.labels(result)
st.altair_chart(charts.z_map(topic.z_scores(result), labels), width="stretch")
st.altair_chart(charts.profile(result.gains, labels), width="stretch")
if result.outliers:
    st.dataframe(pd.DataFrame([{"dimension": o.dim, "norms where it stands out": o.count,
                                "largest robust z": o.max_z, "its mean gain": o.mean_gain,
                                "typical gain": o.median_gain} for o in result.outliers]),
                 hide_index=True, width="stretch", key="norms_outliers")
st.caption(f"A gain stands out when it is more than {topic.OUTLIER_Z:g} robust standard deviations "
           "(1.4826 × the median absolute deviation) from its norm's median gain.")
