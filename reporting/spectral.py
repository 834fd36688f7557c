"""Report section "spectral": training-quality diagnostics per matrix and per head."""
from __future__ import annotations

from charts import spectral as charts
from reporting import Section
from topics import spectral as topic

FIELDS = ("layer", "slot", "head", "alpha", "xmin", "ks_distance", "alpha_weighted", "stable_rank",
          "log_spectral_norm", "log_frobenius_norm", "mp_spikes", "effective_rank", "rand_alpha")


def section(result: topic.Spectra) -> Section:
    """One record per schema matrix, then one per (layer, head, per-head matrix); report.jsonable nulls inf/nan.
    Then one per skipped matrix (a layer's heads: one for them all): {layer, slot, head, name, skipped: why}."""
    data = [{k: r[k] for k in FIELDS} for r in result.slots + result.heads]
    data += [{k: r[k] for k in ("layer", "slot", "head", "name", "skipped")} for r in result.skipped]
    chart_list = [charts.metric_by_layer(result.slots, "alpha")] if result.slots else []
    if result.heads:
        chart_list.append(charts.head_heatmap(result.heads, "attn.OV", "alpha"))
    return Section("spectral", "Training quality (spectra)", data, topic.reading(result), chart_list)
