"""Report section "layers": a slot's statistics across depth (attn.W_QKV: topics.layers' default)."""
from __future__ import annotations

from charts import layers as charts
from reporting import Section
from topics import layers as topic

TITLE = "Weights across layers"


def section(result: topic.Layers) -> Section:
    """data: per layer {layer, slot, mean, std, min, max, row_variance: {quartiles, whiskers, grid, density}}."""
    found, slot = result.summaries, result.slot
    if not found:
        return Section("layers", TITLE, None, topic.reading(result))
    data = [{"slot": slot, **s.record()} for s in found]
    return Section("layers", TITLE, data, topic.reading(result),
                   [charts.stats_band(found, slot), charts.box(found), charts.violin(found)])
