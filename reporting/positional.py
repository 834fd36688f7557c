"""Report section "positional": the learned W_pos in numbers, or what the model uses instead."""
from __future__ import annotations

import numpy as np

from analyses import vision as vision_analysis
from analyses.positional import STRONG_PEAK
from charts import positional as charts
from charts import vision as vision_charts
from reporting import Section, relative_bias
from topics import positional as topic
from topics import vision as vision_topic

TITLE = "Positional embeddings"


def _stat(fn, values: np.ndarray) -> float | None:
    """fn over the finite values given; None (JSON null) when there are none."""
    return float(fn(values)) if values.size else None


def section(result: topic.Positional) -> Section:
    """data is None unless the model has a learned W_pos; rotary models get their frequencies as a chart."""
    learned = result.learned
    if result.relative:  # T5: relative position bias tables instead of a W_pos
        return Section("positional", TITLE, {"relative": relative_bias.data(result.relative)}, topic.reading(result),
                       relative_bias.chart_list(result.relative))
    if learned is None:
        chart_list = [charts.rotary(result.rotary)] if result.rotary is not None else []
        if result.vision is None:
            return Section("positional", TITLE, None, topic.reading(result), chart_list)
        return Section("positional", TITLE, {"vision": _vision_data(result.vision)}, _reading(result),
                       [*_vision_charts(result.vision), *chart_list])
    s = learned.summary
    v = s.variances[np.isfinite(s.variances)]  # a dimension with no finite value has no variance
    bad = s.nonfinite
    data = {
        "n_ctx": s.n_ctx,
        "d_model": s.d_model,
        "highest_variance_dim": s.highest_variance_dim,
        "median_variance_dim": s.median_variance_dim,
        "lowest_variance_dim": s.lowest_variance_dim,
        "variances": {"min": _stat(np.min, v), "median": float(s.variances[s.median_variance_dim]),
                      "max": _stat(np.max, v), "mean": _stat(np.mean, v)},
        "adjacent_correlation": [float(r) for r in s.adjacent_correlation],
        "periods": [float(p) for p in s.periods],  # dominant period per dimension, in positions
        "period_power": [float(p) for p in s.peak_power],  # share of the dimension's power at that period
        "periodic_dims": int((s.peak_power >= STRONG_PEAK).sum()),
        "mean_adjacent_correlation": _stat(np.mean, s.adjacent_correlation[np.isfinite(s.adjacent_correlation)]),
        "nonfinite": None if bad is None else {"nan": bad.nan, "inf": bad.inf, "first": list(bad.first)},
        "degenerate": s.degenerate,
    }
    chart_list = [charts.heatmap(learned.heatmap),
                  charts.dimension_curves(learned.extremes, learned.extreme_dims,
                                          title="Highest-, median- and lowest-variance dimensions"),
                  charts.adjacent_correlation(s.adjacent_correlation), charts.cosine_heatmap(learned.cosine),
                  charts.periods(s)]
    if result.vision is not None:
        data["vision"] = _vision_data(result.vision)
        chart_list = [*_vision_charts(result.vision), *chart_list]
    return Section("positional", TITLE, data, _reading(result), chart_list)


def _reading(result: topic.Positional) -> str:
    """The positions' reading, after the patch grid's when the model is a vision transformer."""
    if result.vision is None:
        return topic.reading(result)
    return vision_topic.reading(result.vision) + "\n\n" + topic.reading(result)


def _finite(x) -> float | None:
    return float(x) if x is not None and np.isfinite(x) else None


def _vision_data(v: vision_topic.Vision) -> dict:
    """report.json's positional.vision. Keys: stack ('blocks', or 'vision' for a tower beside text); grid [rows,
    cols] of patches (null if unknown); patch_size; n_channels; n_prefix_rows (W_pos rows before the grid);
    n_registers; row_col_advantage (mean cosine to positions in the same row or column minus elsewhere),
    same_line_cosine, elsewhere_cosine, distance_rho (Spearman of cosine against grid distance), two_dimensional
    and local (whether the reading claims a 2-D layout, locality); prefix [{name, norm, mean_cosine_to_patches}];
    median_patch_position_norm; cls_norm; cls_cosine_to_patches {min, mean, max}; n_filters_drawn. Numbers
    that cannot be computed are null."""
    s = v.similarity
    cls_map = v.cls_to_positions
    return {
        "stack": v.stack, "grid": list(v.grid) if v.grid else None, "patch_size": v.patch_size,
        "n_channels": v.n_channels, "n_prefix_rows": v.n_prefix_rows, "n_registers": v.n_registers,
        "row_col_advantage": _finite(s.row_col_advantage) if s else None,
        "same_line_cosine": _finite(s.same_line) if s else None,
        "elsewhere_cosine": _finite(s.elsewhere) if s else None,
        "distance_rho": _finite(s.distance_rho) if s else None,
        "two_dimensional": vision_analysis.is_two_dimensional(s) if s else None,
        "local": vision_analysis.is_local(s) if s else None,
        "prefix": [{"name": name, "norm": _finite(norm), "mean_cosine_to_patches": _finite(m.mean())}
                   for name, norm, m in zip(v.prefix_names, v.prefix_norms,
                                            [] if v.prefix_maps is None else v.prefix_maps)],
        "median_patch_position_norm": _finite(v.median_patch_position_norm),
        "cls_norm": _finite(v.cls_norm),
        "cls_cosine_to_patches": None if cls_map is None else {
            "min": _finite(cls_map.min()), "mean": _finite(cls_map.mean()), "max": _finite(cls_map.max())},
        "n_filters_drawn": 0 if v.filters is None else len(v.filters),
    }


def _vision_charts(v: vision_topic.Vision) -> list:
    out = [vision_charts.similarity_maps(v.similarity)] if v.similarity is not None else []
    if v.cls_to_positions is not None:
        out.append(vision_charts.grid_map(v.cls_to_positions, "Class token vs patch positions",
                                          "cosine to each patch position's row of W_pos"))
    if v.filters is not None:
        out.append(vision_charts.filters(v.filters, v.d_model))
    return out
