"""Report section "run": a training run's metrics per checkpoint, layer and slot (report.py --run SRC ...)."""
from __future__ import annotations

from charts import compare as charts
from reporting import Section
from topics import run as topic


def section(run: topic.Run) -> Section:
    """data: {checkpoints: [{label, source, step}], metrics: {name: meaning}, rows: [{checkpoint, step, order,
    layer, slot, metric, value}]}: one row per checkpoint x layer x slot x metric."""
    data = {"checkpoints": [{"label": s.label, "source": s.source, "step": s.step} for s in run.steps],
            "metrics": topic.METRICS, "rows": run.rows}
    chart_list = [charts.run_layer_map(topic.layer_movement(run, "prev"),
                                       "Which layers moved most, when: change since the previous checkpoint"),
                  charts.run_layer_map(topic.layer_movement(run, "first"), "Distance from the first checkpoint")]
    slots = list(dict.fromkeys(r["slot"] for r in run.rows if r["layer"] is not None))
    for metric in ("alpha", "change_first"):
        for slot in [s for s in ("attn.W_Q", "mlp.W_in") if s in slots][:2]:
            if any(r["metric"] == metric and r["slot"] == slot for r in run.rows):
                chart_list.append(charts.run_metric(run.rows, metric, slot, topic.METRICS[metric]))
    return Section("run", "Training run", data, topic.reading(run), chart_list)
