"""A training run: several checkpoints of one model, every metric per layer and slot over the steps, and
which layers moved most, when. Each checkpoint and each pair is cached, so adding a step computes one."""
import pandas as pd
import streamlit as st

from adapters import LoadError
from charts import compare as charts
from topics import run as topic
from ui.cache import cached, cached_pair
from ui.navigation import through_the_router
from ui.picker import hub_step_revisions
from ui.session import open_source

through_the_router()
st.title("Training run")
text = st.text_area("Checkpoints of one run, oldest first: a folder of checkpoint-* folders, one Hub id (its step "
                    "revisions are listed), or one source per line (folders, files, Hub ids with a revision)",
                    key="run_sources", height=110,
                    placeholder="runs/my-model\n— or —\nEleutherAI/pythia-70m\n— or —\nEleutherAI/pythia-70m@step1000\n"
                                "EleutherAI/pythia-70m@step2000")
with_spectral = st.toggle("Spectral metrics too (alpha, stable rank: one spectral scan per checkpoint)",
                          value=True, key="run_spectral")
if not text.strip():
    st.info("Give the checkpoints of a training run to follow each layer's norm, alpha and stable rank over the "
            "steps, how far each layer moved since the previous and the first checkpoint, and the rank of that "
            "change. The Trainer's output folder (checkpoint-500, checkpoint-1000, …) works as it is, and a Hub "
            "id whose branches or tags are steps (Pythia's step0 … step143000) offers them to pick from.")
    st.stop()

lines = [line.strip() for line in text.splitlines() if line.strip()]
revisions = hub_step_revisions(lines[0]) if len(lines) == 1 else None
if revisions:  # one Hub id: its step-named branches and tags are the run (Pythia's step0 ... step143000)
    chosen = st.multiselect(f"Checkpoints of {lines[0]} (its step-named branches and tags)", revisions,
                            default=topic.spread(revisions, 5), key="run_revisions")
    lines = [f"{lines[0]}@{revision}" for revision in chosen]
try:
    steps = topic.parse_steps(lines)
except LoadError as e:
    st.error(str(e))
    st.stop()
models = []
for s in steps:
    try:
        models.append(open_source(s.source))
    except LoadError as e:
        st.error(f"Could not open checkpoint **{s.label}**: {e}")
        st.stop()

bar = st.progress(0.0, text="Reading the run…")
try:
    run = topic.compute(
        models, steps, with_spectral, lambda f, text: bar.progress(min(f, 1.0), text=text),
        per_checkpoint=lambda m: cached("run", "checkpoint_rows", m, with_spectral=with_spectral),
        per_pair=lambda a, b, since: cached_pair("run", "change_rows", a, b, since=since))
except LoadError as e:
    bar.empty()
    st.error(str(e))
    st.stop()
bar.empty()

st.markdown(topic.reading(run))
left, right = st.columns(2)
left.altair_chart(charts.run_layer_map(topic.layer_movement(run, "prev"),
                                       "Which layers moved most, when (since the previous)"), width="stretch")
right.altair_chart(charts.run_layer_map(topic.layer_movement(run, "first"), "Distance from the first checkpoint"),
                   width="stretch")

metrics = [m for m in topic.METRICS if run.metric(m)]
slots = list(dict.fromkeys(r["slot"] for r in run.rows if r["layer"] is not None))
c1, c2 = st.columns(2)
metric = c1.selectbox("Metric", metrics, key="run_metric", format_func=lambda m: topic.METRICS[m])
slot = c2.selectbox("Weight", slots, key="run_slot")
st.altair_chart(charts.run_metric(run.rows, metric, slot, topic.METRICS[metric]), width="stretch")
with st.expander("Every number (one row per checkpoint x layer x slot x metric)"):
    st.dataframe(pd.DataFrame(run.rows), hide_index=True, width="stretch")
