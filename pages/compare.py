"""Compare two checkpoints: which tensors changed, by how much, and whether the change is low-rank."""
import numpy as np
import streamlit as st

from adapters import LoadError
from adapters.views import shared_names, tensor
from analyses import compare
from bundled import source_label
from charts import compare as charts
from ui.session import current_source, model_caption, open_source, require_model
from ui.uploads import take_upload

st.title("Compare checkpoints")
model = require_model()
model_caption(model)

other_text = st.text_input("Second checkpoint (B): a Hub id, folder or .safetensors path", key="compare_other",
                           placeholder="e.g. a fine-tune of the model above")
take_upload(st, "…or upload B (.safetensors)", "compare_upload", "compare_uploaded")
if other_text.strip():
    st.session_state.pop("compare_uploaded", None)  # a typed source replaces an earlier upload
other_source = other_text.strip() or st.session_state.get("compare_uploaded")
if other_source is None:
    st.info("Choose a second checkpoint to compare with the one in the sidebar (A): a fine-tune and its base, "
            "two training steps, or two seeds.")
    st.stop()
try:
    other = open_source(other_source)
except LoadError as e:
    st.error(f"Could not open **{source_label(other_source)}**: {e}")
    st.stop()


@st.cache_data(show_spinner=False, max_entries=8)
def _diffs(_a, id_a: str, _b, id_b: str) -> list:
    names = shared_names(_a, _b)
    bar = st.progress(0.0, text="Comparing tensors…")
    out = []
    for i, name in enumerate(names):
        out.append(compare.tensor_diff(name, tensor(_a, name), tensor(_b, name)))
        bar.progress((i + 1) / len(names), text=f"Comparing {name}")
    bar.empty()
    return out


diffs = _diffs(model, model.identity, other, other.identity)
label_a, label_b = source_label(current_source()), source_label(other_source)
st.markdown(compare.reading(diffs, label_a, label_b))
if not diffs:
    st.stop()
st.altair_chart(charts.change_map(diffs), width="stretch")
st.dataframe([{"tensor": d.name, "shape": " x ".join(map(str, d.shape)), "relative change": d.rel_change,
               "cosine": d.cosine, "max |Δ|": d.max_abs, "Δ effective rank": d.delta_effective_rank,
               "Δ energy in top direction": d.delta_top1_energy} for d in diffs],
             hide_index=True, width="stretch")

changed = [d.name for d in diffs if d.rel_change > 0] or [d.name for d in diffs]
pick = st.selectbox("Look at one tensor's change", changed, key="compare_tensor",
                    index=changed.index(max(diffs, key=lambda d: d.rel_change).name) if changed else 0)
delta = tensor(other, pick).astype(np.float64) - tensor(model, pick)
left, right = st.columns(2)
left.altair_chart(charts.delta_histogram(delta), width="stretch")
if delta.ndim >= 2 and np.any(delta):
    s = compare.singular_values(delta.reshape(delta.shape[0], -1))
    right.altair_chart(charts.delta_spectrum(s), width="stretch")
