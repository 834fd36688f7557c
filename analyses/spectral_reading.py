"""Plain-language readings of spectral diagnostics rows (the dicts of topics.spectral_rows)."""
from __future__ import annotations

from .spectral import OVER_TRAINED, UNDER_TRAINED

THRESHOLDS = (f"Thresholds follow WeightWatcher (Martin & Mahoney, *Heavy-Tailed Self-Regularization*): "
              f"a power-law exponent **alpha between {OVER_TRAINED:g} and {UNDER_TRAINED:g}** is typical of "
              f"well-trained layers; **alpha > {UNDER_TRAINED:g}** looks under-trained (the spectrum is still "
              f"close to a random matrix's), **alpha < {OVER_TRAINED:g}** looks over-fit / over-trained. "
              "Alphas from few eigenvalues (a head has only d_head) are noisy: read them as a pattern, not one by one. "
              "A positional embedding is not judged by these bands: its spectrum follows the positions' "
              "structure (smooth, often sinusoid-like), not how well a layer learned.")

# Slots whose alpha is reported but not judged: the bands were calibrated on layer matrices, and a learned
# positional table's spectrum is shaped by smoothness across positions, not by how far training went.
NOT_JUDGED = frozenset({"pos_embed.W_pos"})

# metric -> (short label, what it measures); the page's selectors and captions read these
METRICS = {
    "alpha": ("alpha (power-law tail exponent)",
              "exponent of the power law fitted to the eigenvalue tail; 2-6 is WeightWatcher's well-trained band"),
    "alpha_weighted": ("weighted alpha (alpha x log10 largest eigenvalue)",
                       "alpha scaled by the log of the largest eigenvalue, WeightWatcher's quality score "
                       "(lower is better when comparing models of one architecture)"),
    "stable_rank": ("stable rank (sum of eigenvalues / largest)",
                    "how many directions carry the matrix's energy; small when one direction dominates"),
    "log_spectral_norm": ("log10 spectral norm² (largest eigenvalue)",
                          "log10 of the largest eigenvalue of WᵀW: the matrix's largest gain, squared"),
    "log_frobenius_norm": ("log10 Frobenius norm² (sum of eigenvalues)",
                           "log10 of the sum of squared entries: the matrix's overall size"),
    "mp_spikes": ("spikes above the random bulk (Marchenko-Pastur)",
                  "eigenvalues clear above the edge a random matrix of this shape and scale would reach: "
                  "learned directions"),
    "effective_rank": ("effective rank (entropy of the singular values)",
                       "exp of the entropy of the normalised singular values (Roy & Vetterli): how many "
                       "directions are in use"),
    "ks_distance": ("fit distance (Kolmogorov-Smirnov)",
                    "largest gap between the tail and the fitted power law; above ~0.1 the alpha is unreliable"),
    "rand_alpha": ("alpha of the shuffled copy",
                   "alpha of the same entries shuffled: what alpha would be without learned correlations"),
    "learned_spikes": ("eigenvalues above the shuffled copy's largest",
                       "structure that shuffling destroys; 0 means the spectrum looks like noise"),
}


def metric_label(metric: str) -> str:
    """'alpha (power-law tail exponent)' for 'alpha'; an unknown metric as itself."""
    return METRICS.get(metric, (metric, ""))[0]


def metric_help(metric: str) -> str:
    """One sentence on what `metric` measures, '' for an unknown one."""
    return METRICS.get(metric, ("", ""))[1]


def label(row: dict) -> str:
    """'layer 10 mlp.W_out', 'layer 3 head 5 attn.QK', 'embed.W_E'."""
    where = f"layer {row['layer']} " if row["layer"] is not None else ""
    head = f"head {row['head']} " if row.get("head") is not None else ""
    return f"{where}{head}{row['slot']}"


def judged(row: dict) -> bool:
    """Whether the well-trained bands apply to this row (fitted, and not a positional embedding)."""
    return row["alpha"] is not None and row["slot"] not in NOT_JUDGED


def judgement(alpha: float | None, slot: str | None = None) -> str:
    if slot in NOT_JUDGED and alpha is not None:
        return "not judged (a positional embedding: the bands are calibrated on layer matrices)"
    if alpha is None:
        return "no power-law fit (too few non-zero eigenvalues)"
    if alpha > UNDER_TRAINED:
        return "looks under-trained"
    if alpha < OVER_TRAINED:
        return "looks over-fit"
    return "in the well-trained range"


def verdict(row: dict) -> str:
    """One line: 'layer 10 mlp.W_out: alpha 7.1, looks under-trained; 3 spikes above the random bulk.'"""
    alpha = row["alpha"]
    text = f"**{label(row)}**: " + (f"alpha {alpha:.2f}, " if alpha is not None else "") + judgement(alpha, row["slot"])
    notes = []
    if row.get("mp_spikes"):
        notes.append(f"{row['mp_spikes']} spike{'s' * (row['mp_spikes'] != 1)} above the random (Marchenko-Pastur) bulk")
    if row.get("learned_spikes") is not None:
        notes.append(f"{row['learned_spikes']} eigenvalue{'s' * (row['learned_spikes'] != 1)} above the "
                     "shuffled copy's largest")
    if row.get("rand_mp_spikes"):
        notes.append(f"{row['rand_mp_spikes']} survive shuffling (correlation traps: a few very large entries)")
    return text + ("; " + "; ".join(notes) if notes else "") + "."


def summary(rows: list[dict]) -> str:
    """A paragraph reading a table of rows: how many in each band, the worst in each direction."""
    fitted = [r for r in rows if judged(r)]
    unjudged = [r for r in rows if r["alpha"] is not None and not judged(r)]
    aside = (" Not judged by the bands: " + ", ".join(f"{label(r)} (alpha {r['alpha']:.2f})" for r in unjudged)
             + " (positional embeddings)." if unjudged else "")
    if not fitted:
        return ("No matrix had enough non-zero eigenvalues for a power-law fit." if not unjudged
                else "No layer matrix could be judged." + aside)
    under = [r for r in fitted if r["alpha"] > UNDER_TRAINED]
    over = [r for r in fitted if r["alpha"] < OVER_TRAINED]
    good = len(fitted) - len(under) - len(over)
    mean = sum(r["alpha"] for r in fitted) / len(fitted)
    text = (f"Of **{len(fitted)}** matrices, **{good}** have alpha in [{OVER_TRAINED:g}, {UNDER_TRAINED:g}], "
            f"**{len(under)}** look under-trained (alpha > {UNDER_TRAINED:g}) and **{len(over)}** over-fit "
            f"(alpha < {OVER_TRAINED:g}); mean alpha **{mean:.2f}**.")
    if under:
        worst = max(under, key=lambda r: r["alpha"])
        text += f" Highest: {label(worst)} (alpha {worst['alpha']:.2f})."
    if over:
        worst = min(over, key=lambda r: r["alpha"])
        text += f" Lowest: {label(worst)} (alpha {worst['alpha']:.2f})."
    randomish = [r for r in fitted if r.get("learned_spikes") == 0]
    if randomish and len(randomish) >= len(fitted) / 2:
        text += (f" {len(randomish)} of them have no eigenvalue above their shuffled copy's largest: "
                 "their spectra look like noise, as in an untrained model.")
    return text + aside


def flagged(rows: list[dict], limit: int | None = None) -> list[str]:
    """Verdict lines for the judged rows outside the well-trained band, the most extreme first (`limit` of them)."""
    out = [r for r in rows if judged(r) and not OVER_TRAINED <= r["alpha"] <= UNDER_TRAINED]
    out.sort(key=lambda r: -abs(r["alpha"] - (OVER_TRAINED + UNDER_TRAINED) / 2))
    return [verdict(r) for r in out[:limit]]


def flagged_list(rows: list[dict], limit: int) -> str:
    """The flagged rows as a markdown list, saying how many are left out when there are more than `limit`."""
    lines = flagged(rows)
    if not lines:
        return "Every matrix is in the well-trained band."
    head = (f"The {limit} most extreme of the {len(lines)} matrices outside the band:\n" if len(lines) > limit
            else f"The {len(lines)} matri{'x' if len(lines) == 1 else 'ces'} outside the band:\n")
    return head + "\n".join(f"- {line}" for line in lines[:limit])
