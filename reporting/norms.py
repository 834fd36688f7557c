"""Report section "norms": every norm's gain profile and the residual dimensions the gains single out."""
from __future__ import annotations

from dataclasses import asdict

import numpy as np

from charts import norms as charts
from reporting import Section
from topics import norms as topic


def section(result: topic.NormGains) -> Section:
    """data: per norm {name, mean, std, min, max}, and the outlier dimensions; None when there are no norms."""
    if not result.names:
        return Section("norms", "Norm gains", None, topic.reading(result))
    data = {
        "norms": [{"name": n, **_moments(row)} for n, row in zip(result.names, result.gains)],
        "outlier_threshold_z": topic.OUTLIER_Z,
        "outliers": [asdict(o) for o in result.outliers],
    }
    labels = topic.labels(result)
    return Section("norms", "Norm gains", data, topic.reading(result),
                   [charts.z_map(topic.z_scores(result), labels), charts.profile(result.gains, labels)])


def _moments(gains: np.ndarray) -> dict:
    """mean, std, min and max of one norm's finite gains (None each when it has none)."""
    g = gains[np.isfinite(gains)].astype(np.float64)
    if g.size == 0:
        return dict.fromkeys(("mean", "std", "min", "max"))
    return {"mean": g.mean(), "std": g.std(), "min": g.min(), "max": g.max()}
