"""What config.json and the caller claim about a model, checked before any loop or allocation depends on it.

config.json is plain text anyone can write (and any Hub repo can serve): a layer count of 10**18, heads that
do not divide the width, a head size given as a string. Opening (adapters/opening.py) runs these checks in
order, and each refusal is a LoadError naming the config field and the tensor or shape it contradicts:
    check_requested_heads(n_heads)         the caller's head count
    check_config(hf)                       every config.json field the adapters read has its type and range
    check_derived(cfg, hf, n_heads)        the derived ModelConfig: whole numbers in range, names are strings
    check_against_tensors(...)             the layer count and the per-head split agree with the stored shapes;
                                           kv heads divide the heads
"""
from __future__ import annotations

import math
from dataclasses import fields

import numpy as np

from . import schema
from .checkpoint import MAX_ELEMENTS
from .config import ALIASES, ModelConfig, for_stack, per_stage
from .errors import LoadError
from .layout import Tensors

MAX_HEADS = 2**16  # far above any real model (the widest have 128 query heads)
MAX_STAGES = 64  # hierarchical vision models list a value per stage (Swin: 4)
_SIZE = (1, MAX_ELEMENTS)
# ModelConfig field -> the range its whole number must lie in. The layer count is bounded by the tensors
# stored (check_against_tensors), which says more than a range would.
INT_RANGES = {"n_layers": (0, 2**63), "d_model": _SIZE, "n_heads": (1, MAX_HEADS),
              "n_kv_heads": (1, MAX_HEADS), "d_head": _SIZE, "d_mlp": _SIZE, "d_vocab": _SIZE,
              "n_ctx": (0, MAX_ELEMENTS), "rotary_dim": (0, MAX_ELEMENTS), "pos_offset": (0, MAX_ELEMENTS),
              "n_encoder_layers": (0, 2**63), "rel_buckets": (1, MAX_ELEMENTS), "rel_max_distance": (1, MAX_ELEMENTS)}
STR_FIELDS = ("act", "positional", "norm", "norm_position")
FRACTION_KEYS = ("rotary_pct", "partial_rotary_factor")  # a share of each head's dims, in (0, 1]
ROPE_KEYS = ("rope_parameters", "rope_scaling")
FLAG_KEYS = ("tie_word_embeddings", "new_decoder_architecture", "multi_query", "alibi", "parallel_attn",
             "use_parallel_residual", "do_layer_norm_before", "apply_residual_connection_post_layernorm")
# A zero-byte dtype: the per-head rearrangements run on a stand-in of a stored shape at no memory cost.
_NO_BYTES = np.dtype([])
_VALUE_SIDE = ("attn.W_V", "attn.b_V", "attn.W_O")  # per-head slots as wide as a value head


def check_requested_heads(n_heads) -> None:
    """The caller's head count (sidebar, --n-heads) is a whole number in 1..MAX_HEADS, or None."""
    if n_heads is None:
        return
    if type(n_heads) is not int or not 1 <= n_heads <= MAX_HEADS:
        raise LoadError(f"n_heads={_shown(n_heads)} is not a head count: give a whole number from 1 to "
                        f"{MAX_HEADS:,}, or leave it empty.")


def check_config(hf: dict | None) -> None:
    """Every config.json field the adapters read has the type and range it must have."""
    if not hf:
        return
    model_type = hf.get("model_type")
    if model_type is not None and not isinstance(model_type, str):
        raise _field("model_type", model_type, "must be a string such as 'llama'")
    archs = hf.get("architectures")
    if archs is not None and not (isinstance(archs, list) and all(isinstance(a, str) for a in archs)):
        raise _field("architectures", archs, "must be a list of class names")
    for field, keys in ALIASES.items():
        key = next((k for k in keys if hf.get(k) is not None), None)  # only the first one present is read
        if key is None:
            continue
        value = hf[key]
        if field in INT_RANGES and per_stage(value):  # one per stage (Swin): each in range; read as unknown
            for i, v in enumerate(value[:MAX_STAGES]):
                _whole(f"{key}[{i}]", v, *INT_RANGES[field])
            if len(value) > MAX_STAGES:
                raise _field(key, value, f"must list at most {MAX_STAGES} stages")
        elif field in INT_RANGES:
            _whole(key, value, *INT_RANGES[field])
        elif field == "rotary_base":
            _positive(key, value)
        elif field == "act" and not isinstance(value, str):
            raise _field(key, value, "must be the activation's name")
        elif field == "tied_embeddings" and not _is_flag(value):
            raise _field(key, value, "must be true or false")
    for key in FLAG_KEYS:
        if hf.get(key) is not None and not _is_flag(hf[key]):
            raise _field(key, hf[key], "must be true or false")
    for key in FRACTION_KEYS:
        if hf.get(key) is not None:
            _fraction(key, hf[key])
    for key in ROPE_KEYS:
        rope = hf.get(key)
        if rope is None:
            continue
        if not isinstance(rope, dict):
            raise _field(key, rope, "must be an object of rotary settings")
        if rope.get("rope_theta") is not None:
            _positive(f"{key}.rope_theta", rope["rope_theta"])
        if rope.get("partial_rotary_factor") is not None:
            _fraction(f"{key}.partial_rotary_factor", rope["partial_rotary_factor"])
        for kind in ("rope_type", "type"):
            if rope.get(kind) is not None and not isinstance(rope[kind], str):
                raise _field(f"{key}.{kind}", rope[kind], "must be a string such as 'linear'")


def check_derived(cfg: ModelConfig, hf: dict | None, requested: int | None) -> None:
    """The ModelConfig derived from config.json, the shapes and the caller: every count and size a whole
    number in range, names strings, the rotary base a positive number."""
    for name, (low, high) in INT_RANGES.items():
        value = getattr(cfg, name)
        if value is not None and (type(value) is not int or not low <= value <= high):
            heads = f" (d_model // n_heads, n_heads = {cfg.n_heads} from {_origin('n_heads', hf, requested)})" \
                if name == "d_head" and cfg.n_heads and not (hf or {}).get("head_dim") else ""
            raise LoadError(f"{_origin(name, hf, requested)} gives {name} = {_shown(value)}{heads}, which is not a "
                            f"whole number from {low:,} to {high:,}.")
    for name in STR_FIELDS:
        value = getattr(cfg, name)
        if value is not None and not isinstance(value, str):
            raise LoadError(f"{_origin(name, hf, requested)} gives {name} = {_shown(value)}, not a name.")
    for f in fields(cfg):  # scales and multipliers families add: a config's 1e400 parses as inf
        value = getattr(cfg, f.name)
        if type(value) is float and not math.isfinite(value):
            raise LoadError(f"{_origin(f.name, hf, requested)} gives {f.name} = {value}, which is not a finite number.")
    if cfg.rotary_base is not None and not (_is_number(cfg.rotary_base) and cfg.rotary_base > 0):
        raise LoadError(f"{_origin('rotary_base', hf, requested)} gives rotary_base = {_shown(cfg.rotary_base)}, "
                        "which is not a finite positive number.")



def _check_grouping(cfg: ModelConfig, hf: dict | None, requested: int | None) -> None:
    if cfg.n_heads and cfg.n_kv_heads and cfg.n_heads % cfg.n_kv_heads:
        raise LoadError(f"{_origin('n_kv_heads', hf, requested)} gives n_kv_heads = {cfg.n_kv_heads}, which does "
                        f"not divide n_heads = {cfg.n_heads} ({_origin('n_heads', hf, requested)}): each key/value "
                        "head must serve the same number of query heads.")
    if cfg.rotary_dim and cfg.d_head and cfg.rotary_dim > cfg.d_head:
        raise LoadError(f"rotary_dim = {cfg.rotary_dim} is wider than d_head = {cfg.d_head} "
                        f"({_origin('d_head', hf, requested)}).")


def check_against_tensors(family, cfg: ModelConfig, hf: dict | None, tensors: Tensors, rules,
                          requested: int | None) -> None:
    """The layer count and the per-head split agree with what is stored.

    Layers: at most as many are declared as are stored, with none missing in between (so nothing loops over
    a declared count the tensors do not back). Heads: every per-head slot's rearrangement is run on a
    zero-byte stand-in of each stored shape and must give the schema's shape for n_heads, n_kv_heads, d_head.
    """
    _check_layers(family, cfg, hf, tensors)
    if cfg.n_heads is None:
        return
    _check_splits(cfg, hf, tensors, rules, requested)
    _check_grouping(cfg, hf, requested)


def _check_splits(cfg: ModelConfig, hf: dict | None, tensors: Tensors, rules, requested: int | None) -> None:
    for slot_template, (source, transform) in rules.items():
        layered = "{l}" in slot_template
        if schema.split_layer(schema.expand(slot_template, 0))[1] not in schema.HEAD_SLOTS:
            continue
        if not isinstance(source, str):
            continue  # a product of stored factors (MLA): each factor's own per-head slot is checked
        for layer in range(max(cfg.n_layers or 0, cfg.n_encoder_layers or 0)) if layered else [None]:
            raw = tensors.resolve(source, layer)
            if raw is not None:
                _check_split(schema.expand(slot_template, layer), raw, tuple(tensors.shapes[raw]), transform,
                             _tower_cfg(cfg, slot_template), hf, requested)


def _tower_cfg(cfg: ModelConfig, slot_template: str) -> ModelConfig:
    """The config a slot's heads are split by: a vision tower of its own width (CLIP) has its own heads."""
    return for_stack(cfg, schema.parse(schema.expand(slot_template, 0)).stack)


# schema stack -> the ModelConfig field that declares how many layers it has
DECLARED_LAYERS = {schema.MAIN: "n_layers", "encoder": "n_encoder_layers"}


def _check_layers(family, cfg: ModelConfig, hf: dict | None, tensors: Tensors) -> None:
    """Every stack's declared layer count against the layers stored for it (an encoder-decoder has two)."""
    for stack, template in (family.stack_templates(tensors) or {schema.MAIN: None}).items():
        field = DECLARED_LAYERS.get(stack, "n_layers")
        stored = family.count_layers(tensors) if stack == schema.MAIN else tensors.count_layers(template)
        _check_stack(getattr(cfg, field) or 0, stored, template, _origin(field, hf, None), tensors)


def _check_stack(declared: int, stored: int, template: str | None, where: str, tensors: Tensors) -> None:
    if stored > len(tensors.shapes):  # numbered past what the file holds: layers are missing
        found = tensors.resolve(template, stored - 1) if template else None
        raise LoadError(f"A tensor is numbered as layer {stored - 1:,}" + (f" ({found[:120]!r})" if found else "")
                        + f", but the checkpoint holds only {len(tensors.shapes):,} tensors: layers are missing.")
    if declared > stored:
        missing = f"no tensor {tensors.prefix + template.format(l=stored)!r} is stored" if template else \
            f"tensor names number only {stored} layers"
        raise LoadError(f"{where} declares {declared:,} layers, but {missing}: the checkpoint stores "
                        f"{stored} layers. Fix the config or the checkpoint (was it saved completely?).")
    if template:
        gap = next((l for l in range(declared) if not tensors.has(template, l)), None)
        if gap is not None:
            raise LoadError(f"{where} declares {declared} layers and layer {stored - 1} is stored, but no tensor "
                            f"{tensors.prefix + template.format(l=gap)!r} is: layer {gap} is missing. "
                            "Was the checkpoint saved completely?")


def _check_split(slot: str, raw: str, shape: tuple[int, ...], transform, cfg, hf, requested) -> None:
    """The per-head rearrangement of one stored tensor gives the schema's shape for this config."""
    slot_name = schema.split_layer(slot)[1]
    shape_words = (schema.LAYER_SLOTS.get(slot_name) or schema.GLOBAL_SLOTS[slot_name])[0]  # W_rel is global
    names = shape_words.strip("[]").split(", ")
    want = tuple(getattr(cfg, n, None) for n in names)
    if cfg.d_head_v and schema.split_layer(slot)[1] in _VALUE_SIDE:  # MLA: values are d_head_v wide, not d_head
        want = tuple(cfg.d_head_v if n == "d_head" else w for n, w in zip(names, want))
    why = ""
    try:
        got = transform(cfg, np.empty(shape, dtype=_NO_BYTES)).shape
    except (ValueError, IndexError, TypeError, ZeroDivisionError) as e:
        got, why = None, f": {str(e)[:160]}"
    fits = got is not None and len(got) == len(want) and all(w is None or g == w for g, w in zip(got, want))
    if not fits:
        fields = [n for n in ("n_heads", "n_kv_heads", "d_head", "d_model") if n in names or n == "n_heads"]
        said = ", ".join(f"{n} = {getattr(cfg, n)} ({_origin(n, hf, requested)})" for n in dict.fromkeys(fields))
        raise LoadError(f"{said} do not fit tensor {raw!r} of shape {list(shape)}: {slot} would be "
                        f"[{', '.join(names)}] = {list(want)}" + (f", got {list(got)}" if got else why) + ".")


# ---- small helpers --------------------------------------------------------------------------------
def _origin(field: str, hf: dict | None, requested: int | None) -> str:
    """Where a ModelConfig field's value came from, for messages: the config.json key, or who gave it."""
    if field in ("n_heads", "d_head", "n_kv_heads") and requested is not None:
        return f"the head count you gave ({requested})" if field == "n_heads" else "the head count you gave"
    key = next((k for k in ALIASES.get(field, ()) if (hf or {}).get(k) is not None), None)
    return f"config.json's {key!r}" if key else f"{field} (as derived from the shapes and config)"


def _shown(value) -> str:
    return repr(value)[:60]


def _field(key: str, value, what: str) -> LoadError:
    return LoadError(f"config.json's {key!r} is {_shown(value)}; it {what}. Fix config.json or remove it.")


def _is_flag(value) -> bool:
    return isinstance(value, bool) or (type(value) is int and value in (0, 1))


def _whole(key: str, value, low: int, high: int) -> None:
    if type(value) is not int or not low <= value <= high:
        raise _field(key, value, f"must be a whole number from {low:,} to {high:,}")


def _is_number(value) -> bool:
    """An int or a finite float (JSON's 1e400 parses as inf); never a bool."""
    return type(value) is int or (type(value) is float and math.isfinite(value))


def _positive(key: str, value) -> None:
    if not (_is_number(value) and value > 0):
        raise _field(key, value, "must be a finite positive number")


def _fraction(key: str, value) -> None:
    if not (_is_number(value) and 0 < value <= 1):
        raise _field(key, value, "must be a number in (0, 1]")
