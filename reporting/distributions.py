"""Report section "distributions": each layer's attention input projections (Q, K, V together: the topic's default)."""
from __future__ import annotations

from charts import distribution as charts
from reporting import Section
from topics import distributions as topic

TITLE = "Weight distributions"


def section(result: topic.Distributions) -> Section:
    """data: per layer {layer, slot, mean, std, skew, kurtosis, ks_statistic, ks_pvalue}; [] when no layer has the slot."""
    rows = topic.rows(result)
    if not rows:
        return Section("distributions", TITLE, [], topic.reading(result))
    first = result.by_layer[rows[0]["layer"]]
    chart_list = [charts.histogram(first.histogram, first.stats, first.name)]
    if len(rows) > 1:
        chart_list.append(charts.by_layer(rows))
    return Section("distributions", TITLE, rows, topic.reading(result), chart_list)
