"""One registry of adapters, keyed by config.json's model_type (and tensor names as a fallback)."""
from __future__ import annotations

from .family import Family

FAMILIES: dict[str, type[Family]] = {}  # arch -> family
BY_MODEL_TYPE: dict[str, type[Family]] = {}


def register(family: type[Family]) -> type[Family]:
    """Class decorator: make a family findable by its arch and model_types."""
    FAMILIES[family.arch] = family
    for model_type in family.model_types:
        BY_MODEL_TYPE[model_type] = family
    return family


def find_family(hf_config: dict | None, names: list[str]) -> type[Family]:
    """config.json's model_type first; else the first family whose anchor tensor is present."""
    from . import generic

    model_type = (hf_config or {}).get("model_type")
    if model_type in BY_MODEL_TYPE:
        return BY_MODEL_TYPE[model_type]
    if model_type is None:
        for family in FAMILIES.values():
            if family is not generic.Generic and family.detect(names):
                return family
    return generic.Generic
