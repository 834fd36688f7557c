"""One registry of families, and the order in which a checkpoint's tensor layout is matched against them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from .config import Note
from .family import Family
from .layout import suffixes

FAMILIES: dict[str, type[Family]] = {}  # arch -> family, every module in adapters/families/ adds its own
BY_MODEL_TYPE: dict[str, type[Family]] = {}  # config.json model_type -> the family it hints at

# Layout detection tries families in this order and takes the first whose layout fits: most specific first, so
# a family comes before any whose required names are a subset of its own (Qwen3 before Llama). A family not listed
# shares its layout with one listed (Mistral and Gemma store Llama's names) and is chosen only when config.json's
# model_type names it.
DETECTION_ORDER = (
    "olmo2",  # Llama's projections; norms only after each sublayer, q/k normed over the whole projection
    "gemma3",  # Llama's names + per-head q/k norms + a norm before and after the MLP
    "olmo",  # Llama's projections, no norm weights at all
    "qwen3",  # Llama's names + per-head q/k norms
    "gemma2",  # Llama's names + a norm before and after the MLP
    "qwen2",  # Llama's names + q, k, v biases without an o bias
    "starcoder2",  # Llama's attention names, a plain c_fc/c_proj MLP
    "cohere",  # Llama's names without post_attention_layernorm: attention and MLP share one norm
    "llama",  # also Granite and other decoders stored under Llama's names
    "phi3",  # fused qkv_proj and gate_up_proj
    "phi",  # Llama's q/k/v names, a `dense` output, fc1/fc2 and one shared norm per layer
    "roberta",  # BERT's names under 'roberta.', or with RoBERTa's lm_head
    "bert",
    "bloom",  # fused query_key_value + a norm on the embeddings
    "falcon",  # fused query_key_value, no embedding norm
    "neox",
    "opt",
    "gpt2",
)
FALLBACK = "generic"  # raw tensors only, when no layout fits


def register(family: type[Family]) -> type[Family]:
    """Class decorator: make a family findable by its arch and model_types (each claimed by one family only)."""
    claims = [(family.arch, FAMILIES), *((t, BY_MODEL_TYPE) for t in family.model_types)]
    taken = [key for key, table in claims if key in table and table[key] is not family]
    if taken:
        raise ValueError(f"{family.__name__} claims {taken[0]!r}, which another family registered")
    FAMILIES[family.arch] = family
    BY_MODEL_TYPE.update(dict.fromkeys(family.model_types, family))
    return family


@dataclass(frozen=True)
class Detected:
    """The family that reads a checkpoint, and what the reader should know about how it was chosen."""
    family: type[Family]
    notes: tuple[Note, ...] = ()


def by_layout(seen: frozenset[str], hf: dict | None) -> type[Family] | None:
    """The first family in DETECTION_ORDER whose layout fits the checkpoint's `suffixes`; None if none does."""
    return next((FAMILIES[a] for a in DETECTION_ORDER if FAMILIES[a].layout.mismatch(seen, hf) is None), None)


def detect(hf: dict | None, names: Iterable[str]) -> Detected:
    """Choose the family by tensor layout, with config.json's model_type as a hint.

    - model_type names a family whose layout fits: that family (Mistral, Gemma: only this way).
    - Otherwise the first family in DETECTION_ORDER whose layout fits, with a read-as note when config.json
      names a model_type (an unknown one, like granite with Llama's names, or one whose tensors do not fit).
    - Nothing fits: the generic fallback (raw tensors only).
    """
    seen = suffixes(names)
    model_type = (hf or {}).get("model_type")
    named = BY_MODEL_TYPE.get(model_type)
    why_not = named.layout.mismatch(seen, hf, named=True) if named else None
    if named and why_not is None:
        return Detected(named)
    found = by_layout(seen, hf)
    if named:
        text = (f"config.json names model_type {model_type!r}, but the tensors do not fit {named.arch}'s layout "
                f"({why_not}); " + (f"they fit {found.arch}'s, so the model is read as {found.arch}." if found
                                    else "no other family's layout fits either."))
    elif model_type is not None and found:
        text = (f"No adapter is named for model_type {model_type!r}; its tensors are laid out as {found.arch}'s, "
                f"so it is read as {found.arch} (what its own config changes in the computation, such as scales "
                f"or multipliers, is not taken into account).")
    else:
        text = ""
    return Detected(found or FAMILIES[FALLBACK], (Note("read-as", text),) if text else ())
