"""Compare two checkpoints: which tensors changed, by how much, and whether the change is low-rank."""
import streamlit as st

from adapters import LoadError
from bundled import source_label
from charts import compare as charts
from topics import compare as topic
from topics.skipped import words as skipped_words
from ui.cache import cached_pair
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


result = cached_pair("compare", "compute", model, other, progress="Comparing tensors…")
diffs = result.diffs
st.markdown(topic.reading(result, source_label(current_source()), source_label(other_source)))
if result.unmeasured():
    st.warning(skipped_words(result.unmeasured(), "tensor", "not compared (NaN or Inf)"))
measured = result.measured()
if not diffs:
    st.stop()
if measured:
    st.altair_chart(charts.change_map(measured), width="stretch")
st.dataframe([{"tensor": d.name, "shape": " x ".join(map(str, d.shape)), "relative change": d.rel_change,
               "cosine": d.cosine, "max |Δ|": d.max_abs, "Δ effective rank": d.delta_effective_rank,
               "Δ energy in top direction": d.delta_top1_energy, "NaN / Inf": d.nonfinite or ""} for d in diffs],
             hide_index=True, width="stretch")

# an unmeasured tensor can still be picked: its histogram shows the finite part of the change
changed = ([d.name for d in measured if d.rel_change > 0] + [d.name for d in diffs if not d.measured]
           or [d.name for d in diffs])
largest = max(measured, key=lambda d: d.rel_change).name if measured else changed[0]
pick = st.selectbox("Look at one tensor's change", changed, key="compare_tensor",
                    index=changed.index(largest) if largest in changed else 0)
one = topic.change(model, other, pick)
if one.skipped:
    st.warning(f"`{pick}`: the change's SVD is skipped: {one.skipped}.")
left, right = st.columns(2)
left.altair_chart(charts.delta_histogram(one.delta), width="stretch")
if one.singular_values is not None:
    right.altair_chart(charts.delta_spectrum(one.singular_values), width="stretch")
