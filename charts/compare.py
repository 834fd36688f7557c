"""Charts of how two checkpoints differ: per tensor, per head, the change's spectrum, alpha of A against B,
and a training run's metrics over steps."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from adapters import schema
from analyses.spectral import OVER_TRAINED, UNDER_TRAINED
from charts import FIT_WIDTH
from charts.experts import map_height


def change_map(diffs) -> alt.Chart:
    """Relative change per layer and slot (a heatmap), or per tensor when there are no layers."""
    rows = []
    for d in diffs:
        key = schema.parse(d.name)
        rows.append({"tensor": d.name, "layer": "–" if key.layer is None else str(key.layer), "slot": key.slot,
                     "relative change": d.rel_change, "cosine": d.cosine, "max |Δ|": d.max_abs,
                     "rank_99 of Δ": d.rank_99})
    df = pd.DataFrame(rows)
    order = sorted(df["layer"].unique(), key=lambda v: (v != "–", int(v) if v.isdigit() else -1))
    tooltip = ["tensor", alt.Tooltip("relative change:Q", format=".3%"), alt.Tooltip("cosine:Q", format=".4f"),
               alt.Tooltip("max |Δ|:Q", format=".3g"), "rank_99 of Δ"]
    return alt.Chart(df).mark_rect().encode(
        x=alt.X("layer:O", sort=order), y=alt.Y("slot:N", title=None),
        color=alt.Color("relative change:Q", scale=alt.Scale(scheme="viridis")), tooltip=tooltip,
    ).properties(title="Relative change ||B − A|| / ||A|| per tensor")


def delta_histogram(delta: np.ndarray, bins: int = 80) -> alt.Chart:
    counts, edges = np.histogram(delta[np.isfinite(delta)], bins=bins)
    df = pd.DataFrame({"from": edges[:-1], "to": edges[1:], "count": counts})
    return alt.Chart(df).mark_bar().encode(
        x=alt.X("from:Q", title="B − A"), x2="to:Q", y=alt.Y("count:Q", scale=alt.Scale(type="symlog")),
        tooltip=["from", "to", "count"]).properties(title="Element-wise change (symlog counts)")


def delta_spectrum(s: np.ndarray, title: str = "Singular values of the change") -> alt.Chart:
    """The change's singular values, largest first, on log axes. Exact zeros (a rank-2 change of a 384 x 384 matrix
    has 382) have no place on a log axis and would blank the whole line: they are counted in the subtitle."""
    energy = s ** 2 / max(float(np.sum(s ** 2)), 1e-30)
    df = pd.DataFrame({"index": np.arange(1, len(s) + 1), "singular value": s, "cumulative energy": np.cumsum(energy)})
    df = df[df["singular value"] > 0]
    zeros = len(s) - len(df)
    note = "a few large ones, then a drop: a low-rank update" + (f"; {zeros:,} exact zeros not drawn" if zeros else "")
    if len(df) > 2000:
        df = df.iloc[np.unique(np.geomspace(1, len(df), 2000).astype(int) - 1)]
    return alt.Chart(df).mark_line(point=len(df) < 80).encode(
        x=alt.X("index:Q", scale=alt.Scale(type="log"), title="singular value index"),
        y=alt.Y("singular value:Q", scale=alt.Scale(type="log")),
        tooltip=["index", alt.Tooltip("singular value:Q", format=".4g"),
                 alt.Tooltip("cumulative energy:Q", format=".1%")]).properties(
        title=alt.TitleParams(title, subtitle=note))


def head_change_map(grid: list[dict], slot: str, snr: bool = False, unit: str = "head") -> alt.Chart:
    """Relative change (or, for quantization damage, SNR in dB: dark is worse) of each head's (or expert's:
    `unit`) matrix of one slot: layers down, heads (experts) across."""
    df = pd.DataFrame([g for g in grid if g["slot"] == slot])
    n_layers = df["layer"].nunique() if len(df) else 1
    field, title = ("snr_db", "SNR (dB)") if snr else ("rel_change", "relative change")
    if snr and len(df):
        df = df.assign(snr_db=df["snr_db"].where(np.isfinite(df["snr_db"])))  # an exact copy has no finite SNR
    # relative change from 0: a slot that did not change is all dark, not the middle colour of an empty range
    top = float(df[field].max()) if len(df) and np.isfinite(df[field].max()) else 0.0
    # (an unchanged slot: 0% to 100%, not three legend labels all reading 0.0%)
    scale = alt.Scale(scheme="viridis") if snr else alt.Scale(scheme="viridis", domain=[0, top if top > 0 else 1.0])
    return alt.Chart(df).mark_rect().encode(
        x=alt.X("head:O", title=unit), y=alt.Y("layer:O", title="layer"),
        color=alt.Color(f"{field}:Q", title=title, scale=scale, legend=alt.Legend(format=".1f" if snr else ".1%")),
        tooltip=["layer", alt.Tooltip("head:O", title=unit), alt.Tooltip(f"{field}:Q", format=".1f" if snr else ".3%",
                                                                         title=title)],
    ).properties(title=f"{slot[5:] if unit == 'head' else slot}: {title} per {unit}", height=map_height(n_layers),
                 autosize=FIT_WIDTH)


def damage_map(diffs) -> alt.Chart:
    """Quantization damage per layer and slot: the signal-to-noise ratio of B as a copy of A, in dB (dark: lost most)."""
    rows = []
    for d in diffs:
        if d.rel_change is None or d.rel_change == 0:
            continue
        key = schema.parse(d.name)
        rows.append({"tensor": d.name, "layer": "–" if key.layer is None else str(key.layer), "slot": key.slot,
                     "SNR (dB)": float(-20 * np.log10(d.rel_change)), "cosine": d.cosine})
    df = pd.DataFrame(rows)
    order = sorted(df["layer"].unique(), key=lambda v: (v != "–", int(v) if v.isdigit() else -1)) if len(df) else []
    return alt.Chart(df).mark_rect().encode(
        x=alt.X("layer:O", sort=order), y=alt.Y("slot:N", title=None),
        color=alt.Color("SNR (dB):Q", scale=alt.Scale(scheme="viridis")),
        tooltip=["tensor", alt.Tooltip("SNR (dB):Q", format=".1f"), alt.Tooltip("cosine:Q", format=".5f")],
    ).properties(title="Quantization damage: signal-to-noise ratio per tensor (dB; lower lost more)")


def alpha_pairs(pairs: list[dict], metric: str = "alpha") -> alt.Chart:
    """A's metric against B's per matrix (one point each), with the line y = x; for alpha, the 2-6 band of a
    well-trained layer shaded, so a move into or out of it shows."""
    df = pd.DataFrame([{"what": p["name"] or f"layer {p['layer']} head {p['head']} {p['slot'][5:]}",
                        "level": p["level"], "A": p[f"{metric}_a"], "B": p[f"{metric}_b"]} for p in pairs])
    df = df.dropna(subset=["A", "B"])
    hi = float(max(df["A"].max(), df["B"].max())) if len(df) else 1.0
    lo = float(min(df["A"].min(), df["B"].min())) if len(df) else 0.0
    line = alt.Chart(pd.DataFrame({"x": [lo, hi]})).mark_line(color="grey", strokeDash=[4, 4]).encode(
        x="x:Q", y="x:Q")
    points = alt.Chart(df).mark_circle(size=40, opacity=0.7).encode(
        x=alt.X("A:Q", title=f"{metric} in A", scale=alt.Scale(zero=False)),
        y=alt.Y("B:Q", title=f"{metric} in B", scale=alt.Scale(zero=False)),
        color=alt.Color("level:N", title=None), tooltip=["what", alt.Tooltip("A:Q", format=".3f"),
                                                         alt.Tooltip("B:Q", format=".3f")])
    layers = [line, points]
    if metric == "alpha":
        band = alt.Chart(pd.DataFrame({"lo": [OVER_TRAINED], "hi": [UNDER_TRAINED]})).mark_rect(
            opacity=0.08, color="green").encode(y="lo:Q", y2="hi:Q")
        layers.insert(0, band)
    return alt.layer(*layers).properties(title=f"{metric}: A (x) against B (y); above the line: larger in B")


def run_layer_map(movement: list[dict], title: str) -> alt.Chart:
    """How far each layer moved at each checkpoint (topics.run.layer_movement): checkpoints across, layers down."""
    df = pd.DataFrame(movement)
    order = list(dict.fromkeys(df.sort_values("order")["checkpoint"])) if len(df) else []
    n_layers = df["layer"].nunique() if len(df) else 1
    finite = df["value"].to_numpy(float)[np.isfinite(df["value"].to_numpy(float))] if len(df) else np.zeros(0)
    top = float(finite.max(initial=0.0))
    return alt.Chart(df).mark_rect().encode(
        x=alt.X("checkpoint:N", sort=order, title=None, axis=alt.Axis(labelAngle=-45, labelOverlap=True)),
        y=alt.Y("layer:O", title="layer"),
        # from 0, in percent, as the reading says it: a layer that barely moved is dark, whatever the others did
        color=alt.Color("value:Q", title="relative change", legend=alt.Legend(format=".1%"),
                        scale=alt.Scale(scheme="viridis", domain=[0, top if top > 0 else 1.0])),
        tooltip=["checkpoint", "layer", alt.Tooltip("value:Q", format=".3%", title="relative change")],
    ).properties(title=title, height=map_height(n_layers), autosize=FIT_WIDTH)


def run_metric(rows: list[dict], metric: str, slot: str, label: str) -> alt.Chart:
    """One metric of one slot over the run's checkpoints, one line per layer (colour: depth)."""
    df = pd.DataFrame([r for r in rows if r["metric"] == metric and r["slot"] == slot and r["value"] is not None])
    order = list(dict.fromkeys(df.sort_values("order")["checkpoint"])) if len(df) else []
    df = df.assign(layer=df["layer"].fillna(-1).astype(int)) if len(df) else df
    return alt.Chart(df).mark_line(point=True).encode(
        x=alt.X("checkpoint:N", sort=order, title=None, axis=alt.Axis(labelAngle=-45, labelOverlap=True)),
        y=alt.Y("value:Q", title=label, scale=alt.Scale(zero=False)),
        color=alt.Color("layer:O", scale=alt.Scale(scheme="viridis")),
        tooltip=["checkpoint", "layer", alt.Tooltip("value:Q", format=".4g", title=metric)],
    ).properties(title=f"{slot}: {label}")
