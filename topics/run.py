"""A training run: several checkpoints of one model over steps, each metric per layer and slot over time.

    steps = discover("out/")                                  # [Step('checkpoint-500', 'out/checkpoint-500', 500), ...]
    run = compute([open_model(s.source) for s in steps], steps)
    rows = run.rows            # {checkpoint, step, layer, slot, metric, value}: norm, alpha, stable_rank,
                               # change_prev / change_first (relative), rank_prev / rank_first (rank_99 of it)
    print(reading(run))

The work splits into one computation per checkpoint (`checkpoint_rows`) and one per pair (`change_rows`), so a
cache at the edge (the page's, the report's) makes a step added to a run cost one checkpoint and two pairs.
"""
from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from adapters import LoadError, schema
from adapters.views import tensor
from topics import compare, spectral
from topics.executor import Progress, quiet

METRICS = {"norm": "Frobenius norm ||W||", "alpha": "power-law alpha (spectral)",
           "stable_rank": "stable rank ||W||_F² / ||W||_2²",
           "change_prev": "relative change since the previous checkpoint",
           "change_first": "relative change since the first checkpoint",
           "rank_prev": "rank_99 of the change since the previous checkpoint",
           "rank_first": "rank_99 of the change since the first checkpoint"}
_STEP = re.compile(r"(?:checkpoint|step|ckpt|global_step|iter)[-_]?(\d+)$", re.IGNORECASE)


class RunMismatch(LoadError):
    """A checkpoint of the run that cannot be lined up with the others; the message names the step."""


@dataclass(frozen=True)
class Step:
    label: str  # 'checkpoint-500', 'step1000', or the source as given
    source: str  # what open_model takes
    step: int | None  # the training step when the name says it


def step_of(text: str) -> int | None:
    """The step a checkpoint's name or revision says: 'checkpoint-500' -> 500, 'owner/pythia@step1000' -> 1000."""
    tail = re.split(r"[/@\\]", text.rstrip("/\\"))[-1]
    m = _STEP.search(tail)
    return int(m.group(1)) if m else None


def step_revisions(names: list[str]) -> list[str]:
    """The branch and tag names that say a step ('step1000', 'checkpoint-500'), by step: a Hub repo's run."""
    return sorted({n for n in names if step_of(n) is not None}, key=step_of)


def spread(items: list, k: int) -> list:
    """`k` of `items` evenly spaced, the first and the last included (all of them when there are no more)."""
    if len(items) <= k:
        return list(items)
    return [items[round(i * (len(items) - 1) / (k - 1))] for i in range(k)]


def discover(folder: str) -> list[Step]:
    """The checkpoint-* (step*, ...) folders inside `folder`, by step; the folder itself last when it holds
    weights of its own (a Trainer's final save beside its checkpoints)."""
    if not os.path.isdir(folder):
        raise LoadError(f"{folder} is not a folder of checkpoints.")
    found = []
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        if os.path.isdir(path) and step_of(name) is not None:
            found.append(Step(name, path, step_of(name)))
    found.sort(key=lambda s: s.step)
    own = [f for f in os.listdir(folder) if f.endswith((".safetensors", ".bin", ".gguf"))]
    if own:
        found.append(Step("final", folder, None))
    if len(found) < 2:
        raise LoadError(f"{folder} holds {len(found)} checkpoint(s) (checkpoint-<step> folders); a run needs two "
                        "or more. Give the checkpoints one per line instead.")
    return found


def parse_steps(lines: list[str]) -> list[Step]:
    """Steps from sources given one per line (paths, Hub ids with @revision); a single folder of checkpoint-*
    folders is expanded. Ordered by step where every one names it, else as given."""
    sources = [s.strip() for s in lines if s.strip()]
    if len(sources) == 1 and os.path.isdir(sources[0]) and not _has_weights(sources[0]):
        return discover(sources[0])
    steps = [Step(os.path.basename(s.rstrip("/")) if os.path.exists(s) else s, s, step_of(s)) for s in sources]
    if steps and all(s.step is not None for s in steps):
        steps.sort(key=lambda s: s.step)
    if len(steps) < 2:
        raise LoadError("A run needs two or more checkpoints: a folder of checkpoint-* folders, or one source per "
                        "line (folders, files, Hub ids such as EleutherAI/pythia-70m@step1000).")
    return steps


def _has_weights(folder: str) -> bool:
    return any(f.endswith((".safetensors", ".bin", ".gguf")) or f == "adapter_config.json" for f in os.listdir(folder))


# ---- one checkpoint, one pair --------------------------------------------------------------------
def _slot_names(model) -> list[str]:
    """The schema matrices a run follows: every 2-D-or-more slot (per-head ones included)."""
    return [n for n in model.names() if not n.endswith((".b", ".w")) and "attn.b_" not in n]


def checkpoint_rows(model, with_spectral: bool = True, progress: Progress = quiet) -> list[dict]:
    """{layer, slot, metric, value} for one checkpoint: the norm of every schema matrix, and with
    `with_spectral` its alpha and stable rank (topics.spectral's numbers, the same on the spectral page)."""
    rows = []
    names = _slot_names(model)
    for i, name in enumerate(names):
        w = tensor(model, name).astype(np.float64)
        key = schema.parse(name)
        norm = float(np.linalg.norm(w)) if np.isfinite(w).all() else None
        rows.append({"layer": key.layer, "slot": key.slot, "metric": "norm", "value": norm})
        progress((i + 1) / len(names) / (2 if with_spectral else 1), f"Norms: {name}")
    if with_spectral:
        spectra = spectral.compute(model, progress=lambda f, text: progress(0.5 + f / 2, text))
        for r in spectra.slots:
            rows += [{"layer": r["layer"], "slot": r["slot"], "metric": m, "value": r[m]}
                     for m in ("alpha", "stable_rank")]
    return rows


def change_rows(model_a, model_b, since: str, progress: Progress = quiet) -> list[dict]:
    """{layer, slot, metric, value} of B's change from A per schema tensor: change_<since> (relative) and
    rank_<since> (rank_99); `since` is 'prev' or 'first'."""
    result = compare.compute(model_a, model_b, progress=progress)
    rows = []
    for d in result.diffs:
        if d.name.startswith("raw:"):
            continue
        key = schema.parse(d.name)
        rows.append({"layer": key.layer, "slot": key.slot, "metric": f"change_{since}", "value": d.rel_change})
        if d.rank_99 is not None:
            rows.append({"layer": key.layer, "slot": key.slot, "metric": f"rank_{since}", "value": d.rank_99})
    return rows


# ---- the run -------------------------------------------------------------------------------------
@dataclass
class Run:
    steps: list[Step]
    rows: list[dict]  # {checkpoint, step, order, layer, slot, metric, value}

    def metric(self, name: str) -> list[dict]:
        return [r for r in self.rows if r["metric"] == name]


def compute(models: list, steps: list[Step], with_spectral: bool = True, progress: Progress = quiet,
            per_checkpoint: Callable | None = None, per_pair: Callable | None = None) -> Run:
    """Every checkpoint's metrics and its change since the previous and the first. `per_checkpoint(model)` and
    `per_pair(a, b, since)` replace `checkpoint_rows` / `change_rows` (a cached version of them, at the edge)."""
    per_checkpoint = per_checkpoint or (lambda m: checkpoint_rows(m, with_spectral))
    per_pair = per_pair or change_rows
    rows = []
    for i, (model, step) in enumerate(zip(models, steps, strict=True)):
        progress(i / len(models), f"Checkpoint {i + 1} of {len(models)}: {step.label}")
        found = [*per_checkpoint(model)]
        if i > 0:
            try:
                found += per_pair(models[i - 1], model, "prev")
                found += per_pair(models[0], model, "first") if i > 1 else [
                    {**r, "metric": r["metric"].replace("_prev", "_first")} for r in found if r["metric"].endswith("_prev")]
            except compare.NotComparable as e:
                raise RunMismatch(f"Checkpoint {step.label} does not match {steps[i - 1].label}: {e}") from e
        else:
            found += [{"layer": r["layer"], "slot": r["slot"], "metric": m, "value": 0.0}
                      for r in found if r["metric"] == "norm" for m in ("change_prev", "change_first")]
        rows += [{"checkpoint": step.label, "step": step.step, "order": i, **r} for r in found]
    progress(1.0, f"{len(models)} checkpoints")
    return Run(steps, rows)


def layer_movement(run: Run, since: str = "prev") -> list[dict]:
    """{checkpoint, order, layer, value} per checkpoint and layer: how far the layer moved, as
    sqrt(sum ||ΔW||²) / sqrt(sum ||W_before||²) over its matrices (a norm-weighted mean of their changes)."""
    norms = {(r["order"], r["layer"], r["slot"]): r["value"] for r in run.metric("norm")}
    before = (lambda o: o - 1) if since == "prev" else (lambda o: 0)
    acc: dict[tuple, list[float]] = {}
    labels = {}
    for r in run.metric(f"change_{since}"):
        if r["layer"] is None or r["value"] is None or r["order"] == 0:
            continue
        norm = norms.get((before(r["order"]), r["layer"], r["slot"]))
        if norm is None or not math.isfinite(r["value"]):
            continue
        d, w = acc.setdefault((r["order"], r["layer"]), [0.0, 0.0]), norm
        d[0] += (r["value"] * w) ** 2
        d[1] += w ** 2
        labels[r["order"]] = r["checkpoint"]
    return [{"checkpoint": labels[o], "order": o, "layer": layer, "value": math.sqrt(num / den) if den else 0.0}
            for (o, layer), (num, den) in sorted(acc.items())]


def reading(run: Run) -> str:
    """Which layers moved most and when, whether the change since the first checkpoint keeps growing, and
    how the spectral alpha moved."""
    moved = layer_movement(run, "prev")
    if not moved:
        return f"{len(run.steps)} checkpoints; no layer tensor could be compared."
    top = max(moved, key=lambda r: r["value"])
    unmeasured = {(r["checkpoint"], r["layer"], r["slot"]) for r in run.metric("change_prev") if r["value"] is None}
    warning = ""
    if unmeasured:
        at, layer, slot = min(unmeasured, key=str)
        warning = (f"⚠️ {len(unmeasured)} changes not measured (NaN or Inf in a checkpoint; see Tensor health), e.g. "
                   f"layer {layer} `{slot}` at {at}: the layer moves below leave them out. ")
    text = warning + (f"{len(run.steps)} checkpoints, from {run.steps[0].label} to {run.steps[-1].label}. "
                      "The largest move "
            f"between two checkpoints is layer {top['layer']} at {top['checkpoint']} "
            f"({top['value']:.2%} of its weights' norm).")
    first = layer_movement(run, "first")
    if first:
        totals = {}
        for r in first:
            totals.setdefault(r["order"], []).append(r["value"])
        series = [float(np.mean(totals[o])) for o in sorted(totals)]
        if len(series) >= 2:
            grows = all(b >= a for a, b in zip(series, series[1:]))
            text += (" The distance from the first checkpoint grows at every step" if grows else
                     " The distance from the first checkpoint does not grow at every step (the weights came back "
                     "toward it at least once)")
            text += f", reaching {series[-1]:.2%} (mean over layers)."
    alphas = run.metric("alpha")
    if alphas:
        by = {}
        for r in alphas:
            if r["value"] is not None:
                by.setdefault(r["order"], []).append(r["value"])
        if len(by) >= 2:
            first_o, last_o = min(by), max(by)
            a0, a1 = float(np.median(by[first_o])), float(np.median(by[last_o]))
            text += (f" The median alpha went from {a0:.2f} to {a1:.2f}"
                     + (" (heavier tails: more structure learned)." if a1 < a0 - 0.05 else
                        " (lighter tails)." if a1 > a0 + 0.05 else " (about unchanged)."))
    return text
