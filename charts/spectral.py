"""Spectral diagnostics charts: a metric across layers, one matrix's ESD, per-head heatmaps."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from analyses.powerlaw import PowerLawFit, fit_power_law, power_law_pdf
from analyses.spectral import OVER_TRAINED, UNDER_TRAINED
from analyses.spectral_reading import metric_label

ALPHA_METRICS = {"alpha", "rand_alpha"}  # metrics on which the well-trained band is drawn
_BINS = 60  # log-spaced histogram bins per ESD
_ROW_STEP = 20  # px per heatmap row: every layer's label fits at the default font
# The alpha colours are the verdict's three bands, so a cell's colour never disagrees with the text
_BAND_COLOURS = ["#7b3294", "#1a9641", "#e66101"]  # over-fit, well trained, under-trained


BANDS = (f"alpha < {OVER_TRAINED:g}: over-fit", f"{OVER_TRAINED:g} ≤ alpha ≤ {UNDER_TRAINED:g}: well trained",
         f"alpha > {UNDER_TRAINED:g}: under-trained")


def alpha_band(alpha: float) -> str:
    """The verdict's band of one alpha, as the heatmap's legend names it."""
    return BANDS[0] if alpha < OVER_TRAINED else BANDS[2] if alpha > UNDER_TRAINED else BANDS[1]


def _band(y_title: str) -> alt.Chart:
    band = pd.DataFrame({"lo": [OVER_TRAINED], "hi": [UNDER_TRAINED],
                         "what": [f"well trained ({OVER_TRAINED:g} ≤ alpha ≤ {UNDER_TRAINED:g}, WeightWatcher)"]})
    return alt.Chart(band).mark_rect(opacity=0.12, color="green").encode(
        y=alt.Y("lo:Q", title=y_title), y2="hi:Q", tooltip=["what"])


def _position(rows: list[dict]) -> list[str]:
    return ["embed" if r["layer"] is None and not r["slot"].startswith("unembed") else
            "unembed" if r["layer"] is None else str(r["layer"]) for r in rows]


def metric_by_layer(rows: list[dict], metric: str = "alpha") -> alt.Chart:
    """Points and lines of `metric` per layer, one colour per slot; click the legend to highlight a slot."""
    df = pd.DataFrame([{"where": p, "slot": r["slot"], "value": r[metric], "name": r["name"]}
                       for p, r in zip(_position(rows), rows) if r.get(metric) is not None],
                      columns=["where", "slot", "value", "name"])
    order = list(dict.fromkeys(_position(rows)))
    pick = alt.selection_point(fields=["slot"], bind="legend")
    base = alt.Chart(df).encode(
        x=alt.X("where:N", sort=order, title="layer"),
        y=alt.Y("value:Q", title=metric_label(metric), scale=alt.Scale(zero=False)),
        color=alt.Color("slot:N"),
        opacity=alt.condition(pick, alt.value(1.0), alt.value(0.15)),
        tooltip=["name", "slot", alt.Tooltip("value:Q", format=".3f", title=metric)])
    chart = base.mark_line() + base.mark_point(filled=True, size=50)
    if metric in ALPHA_METRICS:
        chart = _band(metric_label(metric)) + chart  # one y title for both layers
    return chart.add_params(pick).properties(title=f"{metric} by layer and matrix", height=320)


def _log_histogram(evals: np.ndarray, edges: np.ndarray) -> pd.DataFrame:
    counts, _ = np.histogram(evals, bins=edges)
    density = counts / (len(evals) * np.diff(edges))  # a density over lambda, so the fitted pdf overlays it
    df = pd.DataFrame({"lo": edges[:-1], "hi": edges[1:], "density": density, "count": counts})
    return df[df["count"] > 0]


def esd(evals: np.ndarray, fit: PowerLawFit | None, mp_edge: float | None, rand_evals: np.ndarray | None,
        title: str) -> alt.Chart:
    """Log-log ESD with the fitted power-law tail (red) and MP bulk edge (orange); the shuffled copy beside it."""
    positive = evals[evals > 1e-12]
    pool = np.concatenate([positive, rand_evals[rand_evals > 1e-12]]) if rand_evals is not None else positive
    if pool.size == 0:  # an all-zero matrix has no spectrum on a log axis
        return alt.Chart(pd.DataFrame({"text": ["no positive eigenvalue to draw"]})).mark_text(size=14).encode(
            text="text:N").properties(title=title, height=80)
    edges = np.geomspace(pool.min(), pool.max() * (1 + 1e-9), _BINS + 1)
    x = alt.X("lo:Q", scale=alt.Scale(type="log", domain=[float(edges[0]), float(edges[-1])]),
              title="eigenvalue λ = s² (log)")
    y = alt.Y("density:Q", scale=alt.Scale(type="log"), title="density (log)")

    def panel(values: np.ndarray, name: str, color: str, fit_: PowerLawFit | None, edge: float | None,
              top: float | None = None):
        layers = [alt.Chart(_log_histogram(values, edges)).mark_bar(color=color, opacity=0.7).encode(
            x=x, x2="hi:Q", y=y, tooltip=[alt.Tooltip("lo:Q", format=".3g", title="from λ"),
                                          alt.Tooltip("hi:Q", format=".3g", title="to λ"), "count"])]
        if fit_ is not None:
            grid = np.geomspace(fit_.xmin, values.max(), 40)
            line = pd.DataFrame({"lo": grid, "density": power_law_pdf(grid, fit_, fit_.n_tail / len(values))})
            layers.append(alt.Chart(line).mark_line(color="red", strokeWidth=2).encode(
                x="lo:Q", y="density:Q", tooltip=[alt.Tooltip("lo:Q", format=".3g", title="λ")]))
            layers.append(_rule(fit_.xmin, "red", f"power-law x_min, alpha = {fit_.alpha:.2f}"))
        if edge is not None:
            layers.append(_rule(edge, "orange", "Marchenko-Pastur bulk edge λ+"))
        if top is not None:
            layers.append(_rule(top, "black", "shuffled copy's largest λ"))
        return alt.layer(*layers).properties(title=name, width=330, height=260)

    left = panel(evals, title, "steelblue", fit, mp_edge)
    if rand_evals is None:
        return left
    right = panel(rand_evals, "element-wise shuffled copy", "gray", fit_power_law(rand_evals), None,
                  float(rand_evals.max()))
    return alt.hconcat(left, right).resolve_scale(y="shared")


def _rule(at: float, color: str, what: str) -> alt.Chart:
    return alt.Chart(pd.DataFrame({"lo": [at], "what": [what]})).mark_rule(color=color, strokeDash=[4, 3]).encode(
        x="lo:Q", tooltip=["what", alt.Tooltip("lo:Q", format=".3g", title="λ")])


def head_heatmap(rows: list[dict], kind: str, metric: str = "alpha") -> alt.Chart:
    """Layer x head grid of `metric` for one per-head kind ('attn.W_Q', ..., 'attn.QK', 'attn.OV')."""
    df = pd.DataFrame([{"layer": r["layer"], "head": r["head"], "value": r[metric]}
                       for r in rows if r["slot"] == kind and r.get(metric) is not None],
                      columns=["layer", "head", "value"])
    if metric in ALPHA_METRICS:  # coloured by band, with the thresholds in the legend, as the verdict counts
        df["band"] = [alpha_band(v) for v in df["value"]]
        color = alt.Color("band:N", title=f"{metric} band", scale=alt.Scale(domain=list(BANDS), range=_BAND_COLOURS),
                          legend=alt.Legend(labelLimit=0, orient="bottom", direction="vertical"))
    else:
        color = alt.Color("value:Q", title=metric, scale=alt.Scale(scheme="viridis"))
    # the step gives every layer a labelled row; labelOverlap off keeps Vega from thinning them
    return alt.Chart(df).mark_rect().encode(
        x=alt.X("head:O"), y=alt.Y("layer:O", axis=alt.Axis(labelOverlap=False)), color=color,
        tooltip=["layer", "head", alt.Tooltip("value:Q", format=".3f", title=metric)],
    ).properties(title=f"{metric} of {kind} per head", height=alt.Step(_ROW_STEP))
