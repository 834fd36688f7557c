"""Plain-language readings of spectral diagnostics rows (the dicts of topics.spectral_rows)."""
from __future__ import annotations

from .spectral import OVER_TRAINED, UNDER_TRAINED

THRESHOLDS = (f"Thresholds follow WeightWatcher (Martin & Mahoney, *Heavy-Tailed Self-Regularization*): "
              f"a power-law exponent **alpha between {OVER_TRAINED:g} and {UNDER_TRAINED:g}** is typical of "
              f"well-trained layers; **alpha > {UNDER_TRAINED:g}** looks under-trained (the spectrum is still "
              f"close to a random matrix's), **alpha < {OVER_TRAINED:g}** looks over-fit / over-trained. "
              "Alphas from few eigenvalues (a head has only d_head) are noisy: read them as a pattern, not one by one.")


def label(row: dict) -> str:
    """'layer 10 mlp.W_out', 'layer 3 head 5 attn.QK', 'embed.W_E'."""
    where = f"layer {row['layer']} " if row["layer"] is not None else ""
    head = f"head {row['head']} " if row.get("head") is not None else ""
    return f"{where}{head}{row['slot']}"


def judgement(alpha: float | None) -> str:
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
    text = f"**{label(row)}**: " + (f"alpha {alpha:.2f}, " if alpha is not None else "") + judgement(alpha)
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
    fitted = [r for r in rows if r["alpha"] is not None]
    if not fitted:
        return "No matrix had enough non-zero eigenvalues for a power-law fit."
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
    return text


def flagged(rows: list[dict], limit: int = 12) -> list[str]:
    """Verdict lines for the rows outside the well-trained band, the most extreme first."""
    out = [r for r in rows if r["alpha"] is not None and not OVER_TRAINED <= r["alpha"] <= UNDER_TRAINED]
    out.sort(key=lambda r: -abs(r["alpha"] - (OVER_TRAINED + UNDER_TRAINED) / 2))
    return [verdict(r) for r in out[:limit]]
