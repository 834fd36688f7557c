"""Compare two checkpoints: which tensors and heads changed, by how much, the rank of each change, and how the
spectral metrics moved. B may be a LoRA adapter, a folder or a Hub repo (read on its own and merged over A), or a quantized copy
of A (a GGUF, FP8): then the page reads as quantization damage, in signal-to-noise ratio."""

import pandas as pd
import streamlit as st

from adapters import LoadError
from adapters.lora import read_adapter
from bundled import source_label
from charts import compare as charts
from topics import adapter as adapter_topic
from topics import compare as topic
from topics import compare_rows as rows
from topics.skipped import words as skipped_words
from ui.cache import cached, cached_pair
from ui.picker import hub_choices
from ui.session import adapter_of, current_source, model_caption, open_adapter_over, open_source, require_model
from ui.uploads import take_upload

st.title("Compare checkpoints")
model = require_model()
model_caption(model)

other_text = st.text_input("Second checkpoint (B): a Hub id, folder, .safetensors path, or a LoRA adapter (a folder "
                           "or a Hub repo, merged over the model above)", key="compare_other",
                           placeholder="e.g. a fine-tune of the model above, or its LoRA adapter")
take_upload(st, "…or upload B (.safetensors or .gguf, with its config.json if you have it)", "compare_upload", "compare_uploaded")
if other_text.strip():
    st.session_state.pop("compare_uploaded", None)  # a typed source replaces an earlier upload
other_source = (hub_choices(other_text.strip(), st, "compare") if other_text.strip()  # a Hub id: its revisions
                else st.session_state.get("compare_uploaded"))
if other_source is None:
    st.info("Choose a second checkpoint to compare with the one in the sidebar (A): a fine-tune and its base, "
            "two training steps, two seeds, or a LoRA adapter (peft's adapter_config.json + "
            "adapter_model.safetensors) to see what it does to A. For many checkpoints, see **Training run**.")
    st.stop()
try:
    folder = adapter_of(other_source)  # a LoRA adapter (a folder, or a Hub repo): merged over A, not its base
    if folder:
        adapter, other = read_adapter(folder), open_adapter_over(model, folder)
    else:
        adapter, other = None, open_source(other_source)
except LoadError as e:
    st.error(f"Could not open **{source_label(other_source)}**: {e}")
    st.stop()

if adapter is not None:
    st.subheader("The adapter")
    modules = adapter_topic.modules(adapter)
    st.markdown(adapter_topic.reading(modules, list(adapter.replaced), bool(adapter.config.get("use_rslora"))))
    st.dataframe(pd.DataFrame(modules).drop(columns=["nonfinite"]), hide_index=True, width="stretch",
                 column_config={"update_norm": st.column_config.NumberColumn("‖scale·BA‖", format="%.4g"),
                                "scale": st.column_config.NumberColumn(format="%.4g"),
                                "effective_rank": st.column_config.NumberColumn(format="%.2f"),
                                "top1_energy": st.column_config.NumberColumn(format="percent")})
    st.caption("Below: the model in the sidebar (A) against A with the adapter merged (B), tensor by tensor.")

try:
    result = cached_pair("compare", "compute", model, other, progress="Comparing tensors…")
except LoadError as e:
    st.error(f"Cannot compare **{source_label(current_source())}** with **{source_label(other_source)}**: {e}")
    st.stop()
diffs = result.diffs
st.markdown(topic.reading(result, source_label(current_source()), source_label(other_source)))
if result.unmeasured():
    st.warning(skipped_words(result.unmeasured(), "tensor", "not compared (NaN or Inf)"))
measured = result.measured()
if not diffs:
    st.stop()

tabs = ["Per tensor", "Per head", *(["Per expert"] if result.experts else []), "Spectra: A against B"]
per_tensor, per_head, *per_expert, spectra = st.tabs(tabs)
with per_tensor:
    if measured:
        st.altair_chart(charts.damage_map(measured) if result.quantization else charts.change_map(measured),
                        width="stretch")
    st.dataframe([{"tensor": d.name, "shape": " x ".join(map(str, d.shape)), "relative change": d.rel_change,
                   "SNR (dB)": topic.snr_db(d), "cosine": d.cosine, "max |Δ|": d.max_abs, "rank_99 of Δ": d.rank_99,
                   "Δ effective rank": d.delta_effective_rank, "Δ energy in top direction": d.delta_top1_energy,
                   "NaN / Inf": d.nonfinite or ""} for d in diffs], hide_index=True, width="stretch")
    st.caption("rank_99: the directions holding 99% of the change's energy, on the matrix the layer applies "
               "(d_model x heads·d_head for Q, K, V). A LoRA of rank r leaves at most r.")

with per_head:
    grid = rows.head_grid(result)
    if not grid:
        st.info("This model has no per-head attention weights to compare head by head.")
    else:
        columns = st.columns(2)
        for i, slot in enumerate(s for s in topic.HEAD_SLOTS if any(g["slot"] == s for g in grid)):
            columns[i % 2].altair_chart(charts.head_change_map(grid, slot, snr=result.quantization), width="stretch")
        moved = sorted((h for h in result.heads if h.measured and h.rel_change > 0), key=lambda h: -h.rel_change)
        st.markdown(f"**The heads that {'lost' if result.quantization else 'changed'} most** ({len(moved)} of "
                    f"{len(result.heads)} head matrices changed)")
        st.dataframe([{"tensor": h.name, "head": h.head, "relative change": h.rel_change, "SNR (dB)": topic.snr_db(h),
                       "cosine": h.cosine, "rank_99 of Δ": h.rank_99, "Δ effective rank": h.delta_effective_rank}
                      for h in moved[:50]], hide_index=True, width="stretch")

if per_expert:
    with per_expert[0]:
        grid = rows.head_grid(result, experts=True)
        columns = st.columns(2)
        for i, slot in enumerate(dict.fromkeys(g["slot"] for g in grid)):
            columns[i % 2].altair_chart(charts.head_change_map(grid, slot, snr=result.quantization, unit="expert"),
                                        width="stretch")
        moved = sorted((e for e in result.experts if e.measured and e.rel_change > 0), key=lambda e: -e.rel_change)
        st.markdown(f"**The experts that {'lost' if result.quantization else 'changed'} most** ({len(moved)} of "
                    f"{len(result.experts)} expert matrices changed)")
        st.dataframe([{"tensor": e.name, "expert": e.head, "relative change": e.rel_change,
                       "SNR (dB)": topic.snr_db(e), "cosine": e.cosine, "rank_99 of Δ": e.rank_99,
                       "Δ effective rank": e.delta_effective_rank} for e in moved[:50]],
                     hide_index=True, width="stretch")

with spectra:
    st.caption("The power-law alpha and stable rank of every matrix and head in A and in B (the numbers of the "
               "Training quality page), side by side: a fine-tune that moved a layer out of the 2-6 band shows here.")
    if st.toggle("Compute the spectra of A and B", key="compare_spectral"):
        spec_a = cached("spectral", "compute", model, progress="Spectra of A…")
        spec_b = cached("spectral", "compute", other, progress="Spectra of B…")
        pairs = rows.spectral_pairs(spec_a, spec_b)
        left, right = st.columns(2)
        left.altair_chart(charts.alpha_pairs(pairs, "alpha"), width="stretch")
        right.altair_chart(charts.alpha_pairs(pairs, "stable_rank"), width="stretch")
        st.dataframe(pairs, hide_index=True, width="stretch")

# an unmeasured tensor can still be picked: its histogram shows the finite part of the change
changed = ([d.name for d in measured if d.rel_change > 0] + [d.name for d in diffs if not d.measured]
           or [d.name for d in diffs])
largest = max(measured, key=lambda d: d.rel_change).name if measured else changed[0]
pick = st.selectbox("Look at one tensor's change", changed, key="compare_tensor",
                    index=changed.index(largest) if largest in changed else 0)
n_units = sum(1 for u in [*result.heads, *result.experts] if u.name == pick)
unit = "Expert" if any(e.name == pick for e in result.experts) else "Head"
head = None
if n_units:
    choice = st.selectbox(unit, ["the whole matrix", *range(n_units)], key=f"compare_head_{pick}")
    head = None if choice == "the whole matrix" else int(choice)
one = topic.change(model, other, pick, head)
if one.skipped:
    st.warning(f"`{pick}`: the change's SVD is skipped: {one.skipped}.")
left, right = st.columns(2)
left.altair_chart(charts.delta_histogram(one.delta), width="stretch")
if one.singular_values is not None:
    right.altair_chart(charts.delta_spectrum(one.singular_values), width="stretch")
