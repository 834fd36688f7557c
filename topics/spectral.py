"""Training quality from the weights alone (WeightWatcher-style): the power-law tail of every matrix's spectrum.

    result = compute(model)                  # a row per schema matrix and per (layer, head, per-head matrix)
    print(reading(result))
    one = spectrum(model, "attn.W_Q", layer=3, head=5, kind="OV")     # the ESD a chart draws

The rows are in topics.spectral_rows; the page reads them layer by layer (`layer_slots`, `layer_heads`),
the report all at once (`compute`), with the same seeds, so both show the same numbers.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from adapters import schema
from analyses import spectral_reading
from analyses.powerlaw import PowerLawFit, fit_power_law
from analyses.spectral import eigenvalues, mp_fit
from analyses.spectral_reading import THRESHOLDS
from topics import spectral_rows
from topics.executor import LOCAL, Executor, Progress, quiet
from topics.skipped import Skipped, words

HEAD_KINDS = spectral_rows.HEAD_KINDS
# the metrics' names and explanations, and the flagged lines, as the page shows them (pages import topics only)
flagged, metric_help, metric_label = spectral_reading.flagged, spectral_reading.metric_help, spectral_reading.metric_label
FLAGGED = 8  # verdict lines listed under the summary, the most extreme first
NO_MATRICES = f"No weight matrix of this model has at least {spectral_rows.MIN_EVALS} eigenvalues."


@dataclass
class Spectra:
    slots: list[dict]  # one row per schema matrix (topics.spectral_rows)
    heads: list[dict]  # one row per (layer, head, per-head matrix); empty without a per-head view
    shuffled: bool  # whether rows carry the shuffled baselines (rand_alpha, learned_spikes, ...)
    skipped: list[dict] = field(default_factory=list)  # spectral_rows' skipped rows: {..., name, skipped: why}


def assemble(slots: list[dict], heads: list[dict], shuffled: bool) -> Spectra:
    """A Spectra from rows as spectral_rows makes them: skipped rows set apart from the rows with metrics."""
    keep = [r for r in slots + heads if not spectral_rows.is_skipped(r)]
    return Spectra([r for r in keep if r["level"] == "slot"], [r for r in keep if r["level"] == "head"], shuffled,
                   [r for r in slots + heads if spectral_rows.is_skipped(r)])


def skipped_reading(result: Spectra) -> str:
    """'⚠️ 2 matrices skipped: `blocks.0.attn.W_Q` holds 3 NaN (first at row 0, col 7); ...' or ''."""
    return words([Skipped(r["name"], r["skipped"], r["layer"]) for r in result.skipped])


def compute(model, shuffled: bool = False, executor: Executor = LOCAL, progress: Progress = quiet) -> Spectra:
    """Every schema matrix's and every head's diagnostics.

    `shuffled` adds each one's element-wise shuffled baseline (rand_alpha; else None): off by default,
    as WeightWatcher's randomize, because it takes a second decomposition of every matrix and head.
    """
    slots = spectral_rows.slot_rows(model, shuffled, executor, lambda f, text: progress(f / 2, text))
    heads = spectral_rows.head_rows(model, shuffled, executor, lambda f, text: progress(0.5 + f / 2, text))
    return assemble(slots, heads, shuffled)


def layer_slots(model, layer: int | None, shuffled: bool = False) -> list[dict]:
    """The slot rows of one layer (None: the embeddings and unembedding), as `compute` makes them."""
    return spectral_rows.slot_rows(model, shuffled, layers={layer})


def layer_heads(model, layer: int, shuffled: bool = False) -> list[dict]:
    """The head rows of one layer, as `compute` makes them."""
    return spectral_rows.head_rows(model, shuffled, layers={layer})


def reading(result: Spectra, with_skipped: bool = True) -> str:
    """How many matrices look well trained, the extremes, the flagged ones, the heads, and the thresholds;
    first what was skipped and why, unless the caller shows that on its own (`with_skipped=False`)."""
    warning = skipped_reading(result) if with_skipped else ""
    if not result.slots:
        return (warning + "\n\n" if warning else "") + NO_MATRICES
    text = (warning + "\n\n" if warning else "") + spectral_reading.summary(result.slots)
    text += "\n\n" + spectral_reading.flagged_list(result.slots, FLAGGED)
    if result.heads:
        text += "\n\nPer head: " + spectral_reading.summary(result.heads)
    return text + "\n\n" + THRESHOLDS


def heads_reading(result: Spectra, slot: str) -> str:
    """The summary of one per-head matrix's rows (`slot` a value of HEAD_KINDS) across layers and heads."""
    rows = [r for r in result.heads if r["slot"] == slot]
    return spectral_reading.summary(rows) if rows else f"No head's `{slot}` could be diagnosed."


def row_reading(row: dict) -> str:
    """One line on one row: its alpha and what it suggests, its spikes, what survives shuffling."""
    return spectral_reading.verdict(row)


def find_row(rows: list[dict], layer: int | None, slot: str, head: int | None = None) -> dict | None:
    """The row of (layer, slot, head), or None."""
    return next((r for r in rows if (r["layer"], r["slot"], r["head"]) == (layer, slot, head)), None)


@dataclass
class Spectrum:
    """One matrix's ESD, as the tables' numbers see it."""
    evals: np.ndarray  # (k,) ascending eigenvalues of W^T W
    shuffled: np.ndarray | None  # (k,) the element-wise shuffled copy's (the tables' seed), if asked
    n_rows: int  # N, the larger side
    fit: PowerLawFit | None  # the power law of the tail
    mp_edge: float | None  # the Marchenko-Pastur bulk edge; None for a circuit (a product of two factors)


def spectrum(model, slot: str, layer: int | None = None, head: int | None = None, kind: str | None = None,
             shuffled: bool = False) -> Spectrum:
    """The ESD of one schema matrix (head None), or of one head's `kind` (a key of HEAD_KINDS) in `layer`."""
    if head is None:
        key = schema.Key(slot, layer)
        evals, n_rows = spectral_rows.slot_eigenvalues(model, key)
        rand = eigenvalues(spectral_rows.shuffled_slot(model, key)) if shuffled else None
        return Spectrum(evals, rand, n_rows, fit_power_law(evals), mp_fit(evals, n_rows).edge)
    evals = spectral_rows.head_eigenvalues(model, layer)[kind][head]
    seed = spectral_rows.head_seed(layer)
    rand = spectral_rows.head_eigenvalues(model, layer, seed)[kind][head] if shuffled else None
    n_rows = model.cfg.d_model
    edge = None if kind in spectral_rows.CIRCUITS else mp_fit(evals, n_rows).edge
    return Spectrum(evals, rand, n_rows, fit_power_law(evals), edge)
