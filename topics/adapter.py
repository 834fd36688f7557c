"""A LoRA adapter on its own: per target module its rank, alpha, scale, the size of the update it makes
(||scale * B @ A||_F) and that update's effective rank, computed through the factors (no full matrix).

    adapter = adapters.lora.read_adapter(folder)
    rows = modules(adapter)             # one dict per target module
    print(reading(rows))
"""
from __future__ import annotations

import numpy as np

from adapters import schema
from adapters.lora import Adapter
from analyses import compare
from topics.compare import layer_ranges


def modules(adapter: Adapter) -> list[dict]:
    """{module, layer, kind, rank, alpha, scale, update_norm, effective_rank, rank_99, top1_energy} per module,
    in the adapter file's order; `kind` is the module's last name ('q_proj')."""
    rows = []
    for m in adapter.modules:
        b, a = adapter.factors(m)  # [out, r], [r, in]
        finite = np.isfinite(a).all() and np.isfinite(b).all()
        s = compare.factor_singular_values(b, a) * m.scale if finite else None
        s = s[s > 0] if s is not None else None
        rows.append({"module": m.module, "layer": schema.guess_layer(m.module), "kind": m.kind,
                     "rank": m.rank, "alpha": m.alpha, "scale": m.scale,
                     "update_norm": float(np.sqrt(np.sum(s ** 2))) if s is not None else None,
                     "effective_rank": compare.effective_rank(s) if s is not None and s.size else None,
                     "rank_99": compare.rank_at(s) if s is not None else None,
                     "top1_energy": float(s[0] ** 2 / np.sum(s ** 2)) if s is not None and s.size else None,
                     "nonfinite": None if finite else "holds NaN or Inf"})
    return rows


def reading(rows: list[dict], replaced: list[str] = (), rslora: bool = False) -> str:
    """'A LoRA of rank 8 (alpha 16, scale 2.0) on q_proj and v_proj in layers 0-11; the largest update ...'."""
    if not rows:
        return "The adapter holds no LoRA factors" + (f"; it replaces {len(replaced)} full tensors." if replaced else ".")
    ranks = sorted({r["rank"] for r in rows})
    alphas = sorted({r["alpha"] for r in rows})
    kinds = list(dict.fromkeys(r["kind"] for r in rows))
    layers = [r["layer"] for r in rows if r["layer"] is not None]
    rank_text = f"rank {ranks[0]}" if len(ranks) == 1 else f"ranks {ranks[0]}-{ranks[-1]}"
    alpha_text = f"alpha {alphas[0]:g}" if len(alphas) == 1 else f"alphas {alphas[0]:g}-{alphas[-1]:g}"
    scales = sorted({round(r["scale"], 6) for r in rows})
    scale_text = f"scale {scales[0]:g}" if len(scales) == 1 else f"scales {scales[0]:g}-{scales[-1]:g}"
    text = (f"A {'rsLoRA' if rslora else 'LoRA'} adapter of {rank_text} ({alpha_text}, {scale_text}) on "
            f"{', '.join(f'`{k}`' for k in kinds)}" + (f" in {layer_ranges(layers)}" if layers else "")
            + f": {len(rows)} modules.")
    measured = [r for r in rows if r["update_norm"] is not None]
    if measured:
        top = max(measured, key=lambda r: r["update_norm"])
        unused = [r for r in measured if r["rank_99"] is not None and r["rank_99"] < r["rank"]]
        text += (f" The largest update is `{top['module']}` (||scale·BA|| = {top['update_norm']:.3g}, effective rank "
                 f"{top['effective_rank']:.1f} of {top['rank']}).") if top["effective_rank"] else ""
        if unused:
            text += (f" {len(unused)} of {len(measured)} modules use fewer directions than their rank "
                     "(99% of the update in fewer): the rank could be lower.")
        zero = [r for r in measured if r["update_norm"] == 0]
        if zero:
            text += f" {len(zero)} modules make no change at all (B is zero: untrained, as peft initialises it)."
    bad = [r for r in rows if r["nonfinite"]]
    if bad:
        text += f" ⚠️ {len(bad)} modules hold NaN or Inf factors: `{bad[0]['module']}`."
    if replaced:
        text += f" It also replaces {len(replaced)} full tensors (modules_to_save): " + ", ".join(
            f"`{n}`" for n in replaced[:4]) + "."
    return text
