"""What each attention head does, from its weights alone: copying (OV circuit) and previous-token (QK circuit over
learned positions) scores, a head-role table the clustering can use, and the tokens a head's OV circuit maps most.

    roles = compute(model)            # (n_layers, n_heads) scores, None where the model lacks what a score reads
    print(reading(roles))
    rows = top_tokens(model, layer=0)  # per head: tokens it copies most, and its strongest read -> write mapping

The numerics (and their conventions, TransformerLens's) are analyses.head_roles'.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from adapters.vocabulary import vocabulary
from analyses import head_roles as roles
from topics.heads import head_labels, layer_weights

MAX_POSITIONS = 256  # positions the previous-token score reads (the first ones): (n_heads, 256, 256) at a time
LOOP_BUDGET = 1e11  # multiply-adds for W_U @ W_E (d_model^2 d_vocab); past it the copying score is not computed
VOCAB_CHUNK = 8192  # rows of W_E multiplied at a time, so W_U @ W_E runs in float32 without a float64 copy
RANGES = {"copying": (-1.0, 1.0), "positive": (0.0, 1.0), "previous": (0.0, 1.0), "self": (0.0, 1.0)}
COPYING, PREVIOUS = 0.5, 0.3  # a head reads as copying / previous-token past these (the reading's words only)
SCORES = {  # key -> label shown to users
    "copying": "OV copying score (Re Σλ / Σ|λ| of W_E W_V W_O W_U)",
    "positive": "share of positive OV eigenvalues",
    "previous": "previous-token score (attention to i−1 from positions alone)",
    "self": "self score (attention to i from positions alone)",
}


@dataclass
class HeadRoles:
    layers: list[int]
    n_heads: int
    scores: dict[str, np.ndarray]  # key of SCORES -> (n_layers, n_heads); a key is absent when it cannot be read
    notes: list[str] = field(default_factory=list)  # what was assumed or could not be read, in words

    def table(self) -> list[dict]:
        """One row per head: layer, head, and every score computed (the head-role table)."""
        return [{"layer": l, "head": h, **{SCORES[k]: float(v[i, h]) for k, v in self.scores.items()}}
                for i, l in enumerate(self.layers) for h in range(self.n_heads)]

    def features(self, layers: tuple[int, ...]) -> np.ndarray:
        """(len(layers) * n_heads, n_scores): the scores of those layers' heads, for clustering heads by role."""
        rows = [self.layers.index(l) for l in layers]
        return np.stack([v[rows].reshape(-1) for v in self.scores.values()], axis=1)


def _unembedding(model) -> tuple[np.ndarray, str | None]:
    """W_U (d_model, d_vocab), or W_E.T with a note when the checkpoint stores no LM head (BERT's MLM head is tied)."""
    if model.has("unembed.W_U"):
        return model.weight("unembed.W_U"), None
    return model.weight("embed.W_E").T, "No unembedding is stored, so W_Eᵀ stands for W_U (as in a tied LM head)."


def _token_loop(model) -> tuple[np.ndarray | None, list[str]]:
    """W_U @ W_E (d_model, d_model) and notes, or None with the reason."""
    if not model.has("embed.W_E"):
        return None, ["No token embedding (embed.W_E): no copying score."]
    W_E = model.weight("embed.W_E")  # (d_vocab, d_model)
    W_U, note = _unembedding(model)
    if W_U.shape[1] != W_E.shape[0]:
        return None, [f"W_E has {W_E.shape[0]} tokens and W_U {W_U.shape[1]}: no copying score."]
    d_vocab, d_model = W_E.shape
    if d_model * d_model * d_vocab > LOOP_BUDGET:
        return None, [f"W_U W_E would take {d_model * d_model * d_vocab:.2g} multiply-adds: no copying score."]
    loop = np.zeros((d_model, d_model))
    for a in range(0, d_vocab, VOCAB_CHUNK):  # float32 products, float64 sum
        loop += W_U[:, a:a + VOCAB_CHUNK] @ W_E[a:a + VOCAB_CHUNK]
    return loop, [note] if note else []


def _positions(model) -> tuple[np.ndarray | None, list[str]]:
    c = model.cfg
    if not model.has("embed.W_E"):  # a vision tower's positions are patches: "previous" has no meaning there
        return None, ["No token embedding: no previous-token score."]
    if c.positional != "learned" or not model.has("pos_embed.W_pos"):
        return None, [f"Positions are {c.positional}, not a learned table: no previous-token score from weights."]
    W_pos = model.weight("pos_embed.W_pos")[:MAX_POSITIONS]  # (n_pos, d_model)
    return W_pos, [] if len(W_pos) < MAX_POSITIONS else [f"Previous-token scores read the first {MAX_POSITIONS} positions."]


def compute(model, progress=None) -> HeadRoles:
    """Copying, positive-eigenvalue share, previous-token and self scores of every head; one layer in memory at a time."""
    c = model.cfg
    layers = model.layers("attn.W_Q")
    if not layers or not model.has_heads or not c.d_head:
        return HeadRoles(list(layers), c.n_heads or 0, {}, ["No per-head attention weights to read."])
    loop, notes = _token_loop(model)
    if loop is not None and not np.isfinite(loop).all():  # broken embeddings: reported by Tensor health
        loop, notes = None, notes + ["W_U W_E holds NaN or Inf (see Tensor health): no copying score."]
    W_pos, more = _positions(model)
    notes += more
    if W_pos is not None and not np.isfinite(W_pos).all():
        W_pos, notes = None, notes + ["W_pos holds NaN or Inf (see Tensor health): no previous-token score."]
    causal = not model.family.encoder
    scale = c.attn_scale if c.attn_scale is not None else 1.0 / np.sqrt(c.d_head)
    per: dict[str, list[np.ndarray]] = {k: [] for k in SCORES}
    for i, l in enumerate(layers):
        w = layer_weights(model, l)
        kv = w.kv()
        if loop is not None:
            eig = roles.ov_eigenvalues(w.W_V[kv], w.W_O, loop)  # (n_heads, d_head)
            per["copying"].append(roles.copying_score(eig))
            per["positive"].append(roles.positive_share(eig))
        if W_pos is not None:
            pattern = roles.positional_attention(W_pos, w.W_Q, w.W_K[kv], scale, causal)  # (n_heads, n_pos, n_pos)
            per["previous"].append(roles.previous_token_score(pattern))
            per["self"].append(roles.self_score(pattern))
        if progress:
            progress((i + 1) / len(layers), f"Head roles: layer {l}")
    scores = {k: np.stack(v) for k, v in per.items() if v}
    if scores:
        notes.append("LayerNorm and biases are left out, as in TransformerLens's weight-only circuits.")
    return HeadRoles(list(layers), c.n_heads, scores, notes)


def reading(result: HeadRoles) -> str:
    """Which heads copy, which attend to the previous position, and the strongest of each."""
    if not result.scores:
        return "No head-role score could be read: " + " ".join(result.notes)
    parts = []
    for key, label, threshold in (("copying", "copying", COPYING), ("previous", "previous-token", PREVIOUS)):
        if key not in result.scores:
            continue
        v = result.scores[key]
        found = [f"L{result.layers[i]}H{h} ({v[i, h]:+.2f})" for i, h in zip(*np.nonzero(v > threshold))]
        if np.isnan(v).all():
            parts.append(f"No {label} score could be computed (NaN or Inf in the weights it needs).")
            continue
        best = np.unravel_index(np.nanargmax(v), v.shape)
        head = f"L{result.layers[best[0]]}H{best[1]}"
        text = (f"**{len(found)} of {v.size} heads** look {label} (score > {threshold}): " + ", ".join(found[:12])
                + (f", and {len(found) - 12} more" if len(found) > 12 else "") + "." if found
                else f"No head looks {label} (score > {threshold}).")
        parts.append(f"{text} Strongest: **{head}** ({v[best]:+.2f}).")
    if "copying" in result.scores:
        neg = int((result.scores["copying"] < -COPYING).sum())
        if neg:
            parts.append(f"{neg} head{'s' * (neg != 1)} score below −{COPYING}: {'they suppress' if neg != 1 else 'it suppresses'}"
                         " the token attended to (negative copying).")
    return "\n\n".join(parts + [" ".join(result.notes)])


@dataclass
class HeadTokens:
    head: str
    copied: list[tuple[str, float]]  # tokens whose own logit the head raises most when it attends to them
    reads: list[str]  # its strongest OV direction: the tokens it reads most ...
    writes: list[str]  # ... and the tokens it then writes most
    strength: float  # that direction's singular value


def top_tokens(model, layer: int, k: int = 8) -> list[HeadTokens] | None:
    """For each head of `layer`: the tokens it copies most and its strongest read -> write mapping, in the
    checkpoint's own token strings; None when no tokenizer file is beside the weights."""
    vocab = vocabulary(model.located)
    if vocab is None or not model.has("embed.W_E"):
        return None
    W_E = model.weight("embed.W_E")  # (d_vocab, d_model)
    W_U, _ = _unembedding(model)
    word = lambda t: vocab[t] if t < len(vocab) else f"<{t}>"
    w = layer_weights(model, layer)
    kv = w.kv()
    out = []
    for h, label in enumerate(head_labels(model.cfg.n_heads)):
        A, B = roles.ov_token_factors(W_E, W_U, w.W_V[kv[h]], w.W_O[h])  # (d_vocab, d_head) each
        ids, values = roles.top_copied(A, B, k)
        reads, writes, s = roles.top_mapping(A, B, k)
        out.append(HeadTokens(label, [(word(t), float(v)) for t, v in zip(ids, values)],
                              [word(t) for t in reads], [word(t) for t in writes], s))
    return out


__all__ = ["HeadRoles", "HeadTokens", "RANGES", "SCORES", "compute", "reading", "top_tokens"]
