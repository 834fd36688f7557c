"""T5's relative position bias, per stack (or per layer, UMT5): the table itself and what each head makes of distance.

    biases = compute(model)     # [] for a model without pos_embed.W_rel / attn.W_rel
    print(reading(biases))      # which heads favour near tokens, which look forwards or backwards

The positional topic (topics/positional.py) returns these beside, or instead of, a learned W_pos.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adapters import schema
from analyses import relative_position as rel

STACK_WORDS = {schema.MAIN: "decoder", "encoder": "encoder"}  # when the model has both
SHOWN_HEADS = 6  # heads named in a sentence before '…'


@dataclass
class RelativeBias:
    """One stored relative position bias table, read per head."""
    name: str  # the schema name it was read from
    label: str  # 'Encoder', 'Decoder', 'Decoder layer 3'
    by_distance: rel.BiasByDistance
    preferences: list[rel.HeadPreference]


def _label(model, key: schema.Key) -> str:
    several = len(model.stacks()) > 1
    stack = STACK_WORDS.get(key.stack, key.stack) if several else "model"
    text = stack.capitalize()
    return text if key.layer is None else f"{text} layer {key.layer}"


def compute(model) -> list[RelativeBias]:
    """Every relative position bias the model stores: one per stack (T5), or one per layer (UMT5)."""
    out = []
    c = model.cfg
    for stack in sorted(model.stacks(), key=lambda s: s != "encoder"):  # the encoder first, as data flows
        keys = [schema.Key("pos_embed.W_rel", None, stack)]
        if not model.has(str(keys[0])):
            keys = [schema.Key("attn.W_rel", l, stack) for l in model.layers("attn.W_rel", stack)]
        # a decoder (it cross-attends to an encoder) masks keys after the query: its buckets are causal
        bidirectional = not model.layers("cross_attn.W_Q", stack)
        for key in keys:
            if not model.has(str(key)):
                continue
            w_rel = model.weight(str(key))  # (n_buckets, n_heads)
            b = rel.bias_by_distance(w_rel, bidirectional, c.rel_max_distance or 128)
            out.append(RelativeBias(str(key), _label(model, key), b, rel.head_preferences(b)))
    return out


def _heads(heads: list[int]) -> str:
    shown = ", ".join(str(h) for h in heads[:SHOWN_HEADS]) + (", …" if len(heads) > SHOWN_HEADS else "")
    return f"head{'s' if len(heads) > 1 else ''} {shown}"


def _distance_words(d: int) -> str:
    if d == 0:
        return "the query's own position"
    side = "after" if d > 0 else "before"
    return f"{abs(d)} token{'s' if abs(d) > 1 else ''} {side} the query"


def _one_reading(r: RelativeBias) -> str:
    b, prefs = r.by_distance, r.preferences
    n_buckets, n_heads = b.w_rel.shape
    finite = b.w_rel[np.isfinite(b.w_rel)]
    kind = "bidirectional" if b.bidirectional else "causal: keys after the query are masked"
    text = f"**{r.label}** ({n_heads} heads, {n_buckets} buckets up to distance {b.max_distance}, {kind}): "
    if finite.size == 0 or np.ptp(finite) == 0:
        return text + "the bias is the same for every distance, so it carries no position information."
    spread = float(np.std(finite))
    near = sorted((p for p in prefs if p.near_minus_far > 0.5 * spread), key=lambda p: -p.near_minus_far)
    far = [p.head for p in prefs if p.near_minus_far < -0.5 * spread]
    if near:
        text += (f"{_heads([p.head for p in near])} favour near tokens (their bias within 2 positions is up to "
                 f"{near[0].near_minus_far:.2g} above the bias past distance {b.max_distance})")
    else:
        text += "no head clearly favours near tokens over far ones"
    if far:
        text += f"; {_heads(far)} favour distant tokens"
    strongest = max(prefs, key=lambda p: float(b.bias[:, p.head].max() - np.median(b.bias[:, p.head])))
    text += (f". The sharpest preference is head {strongest.head}'s, for {_distance_words(strongest.peak_distance)}")
    if b.bidirectional:
        forward = [p.head for p in prefs if p.forward_minus_backward > 0.5 * spread]
        backward = [p.head for p in prefs if p.forward_minus_backward < -0.5 * spread]
        if forward or backward:
            parts = ([f"{_heads(forward)} attend forwards (to keys after the query)"] if forward else []) + \
                    ([f"{_heads(backward)} backwards (to keys before it)"] if backward else [])
            text += "; " + " and ".join(parts)
        else:
            text += "; no head clearly prefers one direction"
    return text + "."


def reading(biases: list[RelativeBias]) -> str:
    """Which heads favour near tokens, which look forwards or backwards, per stored table."""
    if not biases:
        return "This model stores no relative position bias."
    intro = ("Positions enter as a learned bias added to each head's attention scores, looked up by the bucket of "
             "the distance from query to key (exact for small distances, logarithmically wider up to a maximum). ")
    return intro + "\n\n".join(_one_reading(r) for r in biases)
