"""Report section "experts": per-expert statistics and alphas per MoE layer, and the router's column norms."""
from __future__ import annotations

from charts import experts as charts
from reporting import Section
from topics import experts as topic


def section(result: topic.Experts) -> Section:
    """data: None for a model without experts; else {slot, layers, n_experts, n_experts_per_token,
    n_shared_experts, metrics: {metric: [[value per expert] per layer]}, router_norms, skipped}."""
    if not result.layers:
        return Section("experts", "Mixture of experts", None, topic.reading(result))
    data = {"slot": result.slot, "layers": result.layers, "n_experts": result.n_experts,
            "n_experts_per_token": result.n_experts_per_token, "n_shared_experts": result.n_shared_experts,
            "metrics": result.metrics, "router_norms": result.router_norms,
            "skipped": [{"name": s.name, "reason": s.reason} for s in result.skipped]}
    chart_list = [charts.layer_by_expert(result.metrics[m], result.layers, m, f"{m} of {result.slot}")
                  for m in ("std", "alpha") if m in result.metrics]
    if result.router_norms is not None:
        chart_list.append(charts.layer_by_expert(result.router_norms, result.layers, "router norm",
                                                 "Router column norm per layer and expert"))
    return Section("experts", "Mixture of experts", data, topic.reading(result), chart_list)
