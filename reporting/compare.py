"""Report section "compare": how checkpoint B differs from A, per tensor and per head (report.py --compare B)."""
from __future__ import annotations

from charts import compare as charts
from reporting import Section
from topics import adapter as adapter_topic
from topics import compare as topic
from topics import compare_rows as rows


def section(result: topic.Comparison, label_a: str, label_b: str, adapter=None) -> Section:
    """data: {a, b, rows: [{tensor, layer, slot, head (None: the whole matrix), rel_change, cosine, max_abs,
    rank_99, effective_rank, top1_energy, snr_db, nonfinite}], left_out, only_in, storage: {A, B} stored types,
    quantization (the sides differ in precision, one quantized), adapter: per-module rows or None}."""
    modules = adapter_topic.modules(adapter) if adapter is not None else None
    reading = topic.reading(result, label_a, label_b)
    if adapter is not None:
        reading = adapter_topic.reading(modules, list(adapter.replaced), bool(adapter.config.get("use_rslora"))) \
            + "\n\n" + reading
    data = {"a": label_a, "b": label_b, "rows": rows.records(result),
            "left_out": [{"tensor": n, "shape_a": list(a), "shape_b": list(b)} for n, a, b in result.left_out],
            "only_in": result.only_in, "storage": result.storage, "quantization": result.quantization,
            "adapter": modules}
    chart_list = []
    if result.measured():
        chart_list.append(charts.damage_map(result.measured()) if result.quantization
                          else charts.change_map(result.measured()))
    grid = rows.head_grid(result)
    chart_list += [charts.head_change_map(grid, s, snr=result.quantization) for s in topic.HEAD_SLOTS
                   if any(g["slot"] == s for g in grid)]
    return Section("compare", f"Compared with {label_b}", data, reading, chart_list)
