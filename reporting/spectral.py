"""Report section: spectral training-quality diagnostics per matrix and per head."""
from __future__ import annotations

import math

from analyses import spectral_model as sm
from analyses import spectral_reading as reading

from . import Section

FIELDS = ("layer", "slot", "head", "alpha", "xmin", "ks_distance", "alpha_weighted", "stable_rank",
          "log_spectral_norm", "log_frobenius_norm", "mp_spikes", "effective_rank", "rand_alpha")


def _clean(value):
    """JSON has no inf / nan: a zero matrix's log norms become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def compute(model, shuffled: bool = False) -> dict:
    """The numbers, without charts: {"slots": rows, "heads": rows} (a report's second process runs this part).

    `shuffled` adds each one's element-wise shuffled baseline (rand_alpha; else null): off by default,
    as WeightWatcher's randomize, because it takes a second decomposition of every matrix and head.
    """
    return {"slots": sm.diagnose_slots(model, with_shuffled=shuffled),
            "heads": sm.diagnose_heads(model, with_shuffled=shuffled)}


def present(model, result: dict) -> Section:
    """Key "spectral": one record per schema matrix, then one per (layer, head, per-head matrix)."""
    from charts import spectral as charts  # Altair: only where the charts are drawn

    slots, heads = result["slots"], result["heads"]
    data = [{k: _clean(r[k]) for k in FIELDS} for r in slots + heads]
    text = reading.summary(slots)
    flags = reading.flagged(slots, limit=8)
    if flags:
        text += "\n\n" + "\n".join(f"- {line}" for line in flags)
    if heads:
        text += "\n\nPer head: " + reading.summary(heads)
    text += "\n\n" + reading.THRESHOLDS
    chart_list = [charts.metric_by_layer(slots, "alpha")] if slots else []
    if heads:
        chart_list.append(charts.head_heatmap(heads, "attn.OV", "alpha"))
    return Section(key="spectral", title="Training quality (spectra)", data=data, reading=text, charts=chart_list)


def section(model, shuffled: bool = False) -> Section:
    return present(model, compute(model, shuffled))
