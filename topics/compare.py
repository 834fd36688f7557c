"""How two checkpoints differ, tensor by tensor and head by head: the size of each change, its direction,
and its rank on the matrix the layer applies.

    result = compute(model_a, model_b)     # every tensor both hold; per-head slots also head by head
    print(reading(result, "base", "fine-tune"))
    one = change(model_a, model_b, "blocks.2.attn.W_Q", head=1)   # B - A of one tensor (or head), its spectrum

Two models line up by schema name when both are read through a family (a GGUF and its safetensors source,
a sharded fine-tune and its base), by stored name when both are unknown layouts. A layer tensor whose shape
differs is a refusal naming it (`NotComparable`); a different vocabulary size (added tokens) only leaves the
embeddings out. A tensor holding NaN or Inf on either side is listed (`result.unmeasured()`), not measured.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from adapters import LoadError, schema
from adapters.views import RAW, tensor, to_2d
from analyses import compare
from analyses.compare import TensorDiff
from topics.executor import LOCAL, Executor, Progress, quiet
from topics.skipped import Skipped, words

LOW_RANK_SHARE = 0.25  # a change whose rank_99 is at most this share of the matrix's smaller side is low-rank
HEAD_SLOTS = ("attn.W_Q", "attn.W_K", "attn.W_V", "attn.W_O")  # per-head slots, [n_heads, ., .] in the schema
MOST_CHANGED = 5  # heads named in the reading


class NotComparable(LoadError):
    """Two checkpoints that cannot be lined up tensor by tensor; the message names the first mismatch."""


@dataclass
class Comparison:
    diffs: list[TensorDiff]  # one per shared tensor: schema names when both models have a family, else 'raw:' names
    heads: list[TensorDiff] = field(default_factory=list)  # per head of HEAD_SLOTS: (name, head) of a layer tensor
    experts: list[TensorDiff] = field(default_factory=list)  # per expert of a stacked MoE slot: `head` is the expert
    left_out: list[tuple[str, tuple, tuple]] = field(default_factory=list)  # global tensors of other shapes (vocab)
    only_in: dict[str, list[str]] = field(default_factory=dict)  # {"A": [...], "B": [...]}: names one side lacks
    storage: dict[str, str] = field(default_factory=dict)  # {"A": "BF16", "B": "Q4_K (4.5 bits a weight)"}
    quantization: bool = False  # the sides are stored at different precisions, one of them quantized

    def measured(self) -> list[TensorDiff]:
        return [d for d in self.diffs if d.measured]

    def unmeasured(self) -> list[Skipped]:
        """The tensors with NaN or Inf on a side, and which side holds what."""
        return [Skipped(d.name, d.nonfinite) for d in self.diffs if not d.measured]

    def low_rank(self) -> list[TensorDiff]:
        """The changed matrices whose change lies in few directions (rank_99 small beside the matrix)."""
        return [d for d in self.measured() if is_low_rank(d)]


PLAIN_TYPES = ("F64", "F32", "F16", "BF16")  # stored types that are no quantization


def storage(model) -> tuple[str, bool]:
    """(the stored type holding most of the model's matrix parameters, in words; whether it is quantized).
    'Q4_K (4.5 bits a weight)', 'BF16'; ('', False) when the reader does not say."""
    by_type: dict[tuple[str, float], int] = {}
    for t in model.tensors():
        if len(t.shape) >= 2 and t.tied_to is None and t.stored:
            key = (t.stored, t.bits_per_weight)
            by_type[key] = by_type.get(key, 0) + t.params
    if not by_type:
        return "", False
    kind, bits = max(by_type, key=by_type.get)
    quantized = kind not in PLAIN_TYPES
    return (f"{kind} ({bits:.3g} bits a weight)" if quantized else kind), quantized


def snr_db(d: TensorDiff) -> float | None:
    """Signal-to-noise ratio of B as a copy of A in decibels: 10 log10(||A||² / ||B - A||²) = -20 log10(rel_change);
    inf for an exact copy, None when unmeasured."""
    if d.rel_change is None:
        return None
    return float("inf") if d.rel_change == 0 else float(-20 * np.log10(d.rel_change))


def is_low_rank(d: TensorDiff) -> bool:
    """A measured change of a matrix whose 99% energy sits in at most LOW_RANK_SHARE of its directions."""
    if not d.rank_99 or d.matrix_shape is None:
        return False
    return d.rank_99 <= LOW_RANK_SHARE * min(d.matrix_shape)


# ---- lining two models up ------------------------------------------------------------------------
def plan(model_a, model_b) -> Comparison:
    """The names to compare (an empty-metric Comparison with left_out and only_in filled), or NotComparable."""
    if (model_a.arch == "generic") != (model_b.arch == "generic"):
        known, unknown = ("A", "B") if model_b.arch == "generic" else ("B", "A")
        arch = model_a.arch if known == "A" else model_b.arch
        raise NotComparable(f"{known} reads as {arch}, {unknown} as an unknown layout (generic), so their tensors "
                            "cannot be lined up. Compare two checkpoints of one architecture.")
    if model_a.arch == "generic":
        ea, eb = model_a.checkpoint.entries, model_b.checkpoint.entries
        names = [n for n in ea if n in eb]
        shapes = {RAW + n: (tuple(ea[n].shape), tuple(eb[n].shape)) for n in names}
        only = {"A": [RAW + n for n in ea if n not in eb], "B": [RAW + n for n in eb if n not in ea]}
    else:
        la, lb = model_a.cfg.n_layers or 0, model_b.cfg.n_layers or 0
        if la != lb:
            raise NotComparable(f"A has {la} layers and B has {lb}: they are not two checkpoints of one "
                                f"architecture ({model_a.arch} vs {model_b.arch}).")
        _same_dims(model_a, model_b)
        names = [n for n in model_a.names() if model_b.has(n)]
        shapes = {n: (_stored_shape(model_a, n, model_a.arch != model_b.arch),
                      _stored_shape(model_b, n, model_a.arch != model_b.arch)) for n in names}
        only = {"A": [n for n in model_a.names() if not model_b.has(n)],
                "B": [n for n in model_b.names() if not model_a.has(n)]}
    left_out = []
    for name, (sa, sb) in shapes.items():
        if sa == sb:
            continue
        if name.startswith(RAW) or schema.parse(name).layer is not None:
            raise NotComparable(f"`{name.removeprefix(RAW)}` is {_dims(sa)} in A and {_dims(sb)} in B: the two "
                                "checkpoints are not of one architecture, so they cannot be compared tensor by tensor.")
        left_out.append((name, sa, sb))
    if not any(sa == sb for sa, sb in shapes.values()):
        raise NotComparable(f"A ({model_a.arch}) and B ({model_b.arch}) share no tensor of the same name and shape.")
    skip = {n for n, _, _ in left_out}
    return Comparison([TensorDiff(n, shapes[n][0], None, None, None, None, None) for n in shapes if n not in skip],
                      left_out=left_out, only_in=only)


DIMS = ("d_model", "n_heads", "n_kv_heads", "d_head", "d_mlp")


def _same_dims(model_a, model_b) -> None:
    """Refuse two models whose layers differ in width or heads, naming the first dimension that differs."""
    for dim in DIMS:
        va, vb = getattr(model_a.cfg, dim, None), getattr(model_b.cfg, dim, None)
        if va is not None and vb is not None and va != vb:
            raise NotComparable(f"A has {dim} = {va} and B has {dim} = {vb}: they are not two checkpoints of one "
                                f"architecture ({model_a.arch} vs {model_b.arch}).")


def _stored_shape(model, name: str, across_families: bool) -> tuple:
    """The stored shape(s) of a schema name's source tensors, read from the header only. Across two families
    the stored layouts differ (fused or split), so only the name is kept: the dims were checked instead."""
    if across_families:
        return ()
    entries = model.checkpoint.entries
    shapes = [tuple(entries[r].shape) for r in model.sources(name) if r in entries]
    return shapes[0] if len(shapes) == 1 else tuple(shapes)


def _percent(rel: float) -> str:
    """A relative change in words: '16.76%', or what an infinite one means (A was all zero)."""
    return f"{rel:.2%}" if np.isfinite(rel) else "∞ (all zero in A)"


def _dims(shape) -> str:
    return " x ".join(map(str, shape)) or "a scalar"


def applied(name: str, arr: np.ndarray) -> np.ndarray:
    """The array as the matrix the layer applies (per-head slots: heads side by side; experts likewise);
    a stored tensor of 3+ dims as (rows, everything else); vectors unchanged."""
    if name.startswith(RAW):
        return arr.reshape(arr.shape[0], -1) if arr.ndim > 2 else arr
    slot = schema.parse(name).slot
    return to_2d(slot, arr) if arr.ndim == 3 else arr


def unit_kind(name: str) -> str | None:
    """'head' for per-head slots ([n_heads, ., .]), 'expert' for stacked MoE slots ([n_experts, ., .]), else None."""
    if name.startswith(RAW):
        return None
    slot = schema.parse(name).slot
    return "head" if slot in HEAD_SLOTS else "expert" if slot in schema.EXPERT_SLOTS else None


def _diff_task(name: str, a: np.ndarray, b: np.ndarray) -> tuple[TensorDiff, list[TensorDiff]]:
    """One tensor's diff on its applied matrix, and one per head (per-head slots) or per expert (stacked MoE
    slots), each on its own matrix: a fine-tune that touched one expert shows as that expert."""
    if a.shape != b.shape:  # two families with equal dims that still hold this slot differently
        raise NotComparable(f"`{name}` is {_dims(a.shape)} in A and {_dims(b.shape)} in B, so the two checkpoints "
                            "cannot be compared tensor by tensor.")
    whole = compare.tensor_diff(name, applied(name, a), applied(name, b))
    whole.shape = tuple(a.shape)
    units = ([compare.tensor_diff(name, a[i], b[i], head=i) for i in range(a.shape[0])]
             if unit_kind(name) and a.ndim == 3 else [])
    return whole, units


STREAM_ELEMS = 1 << 22  # a plain stored matrix this large (16 MB of float32) is compared piece by piece from disk


def _stream_sources(model_a, model_b, name: str) -> tuple[str, str] | None:
    """The stored tensors of a large 2-D slot both models hold as is, tall (rows >= cols) and of one shape,
    so they can be read in blocks of rows side by side; None otherwise (read whole)."""
    if name.startswith(RAW) or model_a.arch != model_b.arch:
        return None
    ra, rb = model_a.plain_source(name), model_b.plain_source(name)
    if not ra or not rb or not all(hasattr(m.checkpoint, "read_rows") for m in (model_a, model_b)):
        return None
    ea, eb = model_a.checkpoint.entries[ra], model_b.checkpoint.entries[rb]
    shape = tuple(ea.shape)
    if shape != tuple(eb.shape) or len(shape) != 2 or shape[0] < shape[1] or ea.numel < STREAM_ELEMS:
        return None
    return ra, rb


def _streamed_task(name: str, model_a, model_b, ra: str, rb: str) -> tuple[TensorDiff, list[TensorDiff]]:
    """One large matrix's diff from both files a block of rows at a time (the stored orientation: the rank and
    norms of a transpose are the same); a block with NaN or Inf sends it to the whole-array path to say where."""
    rows, cols = model_a.checkpoint.entries[ra].shape
    k = max(1, compare.BLOCK_ELEMS // cols)
    # read_rows reads exactly those rows' bytes in every format (quantized ones decode whole blocks of rows)
    read_a, read_b = model_a.checkpoint.read_rows, model_b.checkpoint.read_rows
    blocks = ((read_a(ra, lo, min(lo + k, rows)), read_b(rb, lo, min(lo + k, rows))) for lo in range(0, rows, k))
    try:
        whole = compare.diff_blocks(name, (rows, cols), blocks)
    except compare.NonFiniteBlock:
        return _diff_task(name, tensor(model_a, name), tensor(model_b, name))
    if model_a.plain_transposed(name):  # the schema's orientation, as the whole-array path reports it
        whole.shape = whole.matrix_shape = (cols, rows)
    return whole, []


def _task(model_a, model_b, name: str):
    """(function, args) comparing one tensor: streamed from disk when large and plain, else read whole here."""
    stream = _stream_sources(model_a, model_b, name)
    if stream:
        return _streamed_task, (name, model_a, model_b, *stream)
    return _diff_task, (name, tensor(model_a, name), tensor(model_b, name))


def compute(model_a, model_b, executor: Executor = LOCAL, progress: Progress = quiet) -> Comparison:
    """Every tensor A and B both hold with the same shape, compared (float64 norms; ranks on applied matrices).

    Tensors are read one pair at a time in this thread while the executor's workers take the SVDs; a large
    plain matrix (an embedding) is streamed from both files by its worker, so memory stays at a few layer
    tensors whatever the models' size."""
    result = plan(model_a, model_b)
    names = [d.name for d in result.diffs]
    tasks = (_task(model_a, model_b, n) for n in names)
    done = executor.map(tasks, len(names), lambda f, text: progress(f, f"Comparing: {text}"), "tensors")
    result.diffs = [whole for whole, _ in done]
    units = [u for _, found in done for u in found]
    result.heads = [u for u in units if unit_kind(u.name) == "head"]
    result.experts = [u for u in units if unit_kind(u.name) == "expert"]
    (sa, qa), (sb, qb) = storage(model_a), storage(model_b)
    result.storage = {"A": sa, "B": sb}
    result.quantization = (qa or qb) and sa != sb
    return result


# ---- the reading ---------------------------------------------------------------------------------
def layer_ranges(layers: list[int]) -> str:
    """'layer 3', 'layers 2-3', 'layers 0-2, 5' for sorted layer indices."""
    runs: list[list[int]] = []
    for layer in sorted(set(layers)):
        if runs and layer == runs[-1][-1] + 1:
            runs[-1].append(layer)
        else:
            runs.append([layer])
    text = ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)
    return ("layer " if len(layers) == 1 else "layers ") + text


def low_rank_words(diffs: list[TensorDiff]) -> str:
    """'layers 2-3 `attn.W_Q`: rank 4; layer 5 `mlp.W_in`: rank 8', grouped by slot and rank."""
    groups: dict[tuple[str, int], list] = {}
    for d in diffs:
        key = schema.parse(d.name) if not d.name.startswith(RAW) else None
        slot = key.slot if key else d.name
        groups.setdefault((slot, d.rank_99), []).append(key.layer if key else None)
    parts = []
    for (slot, rank), layers in groups.items():
        where = layer_ranges([x for x in layers if x is not None]) + " " if any(x is not None for x in layers) else ""
        parts.append(f"{where}`{slot}`: rank {rank}")
    return "; ".join(parts)


def reading(result: Comparison, label_a: str = "A", label_b: str = "B") -> str:
    """How many tensors changed, the median and the largest change, the low-rank changes with their rank,
    and the heads that changed most."""
    if not result.diffs:
        return "The two checkpoints share no tensor of the same name and shape, so there is nothing to compare."
    notes = [words(result.unmeasured(), "tensor", "not compared (NaN or Inf)")]
    if result.left_out:
        notes.append(f"{len(result.left_out)} tensor(s) of another size left out: "
                     + "; ".join(f"`{n}` {_dims(a)} vs {_dims(b)}" for n, a, b in result.left_out[:3])
                     + " (added tokens change the vocabulary).")
    warning = " ".join(n for n in notes if n)
    warning = warning + " " if warning else ""
    diffs = result.measured()
    if not diffs:
        return warning + "No other shared tensor is left to compare."
    if result.quantization:
        return warning + damage_reading(result, label_a, label_b)
    changed = [d for d in diffs if d.rel_change > 0]
    if not changed:
        return warning + f"**{label_a}** and **{label_b}** are identical in all {len(diffs)} shared tensors."
    top = max(changed, key=lambda d: d.rel_change)
    median = float(np.median([d.rel_change for d in diffs]))
    cosine = f"cosine {top.cosine:.3f}" if np.isfinite(top.cosine) else "no cosine: a side is all zero"
    text = warning + (f"{len(changed)} of {len(diffs)} shared tensors differ. The median relative change is "
                      f"**{median:.2%}**; the largest is `{top.name}` at **{_percent(top.rel_change)}** ({cosine}).")
    low = result.low_rank()
    if low:
        ranks = {d.rank_99 for d in low}
        lora = f"as a LoRA of rank {ranks.pop()} would leave" if len(ranks) == 1 else "as LoRA updates would leave"
        text += (f" **{len(low)} changed {'matrix is' if len(low) == 1 else 'matrices are'} low-rank** "
                 f"(99% of the change in few directions, {lora}): {low_rank_words(low)}.")
    full = [d for d in changed if d.rank_99 and not is_low_rank(d)]
    if low and full:
        text += (" " + ", ".join(f"`{d.name}` (rank {d.rank_99} of {min(d.matrix_shape)})" for d in full)
                 + " changed in many directions." if len(full) <= 3 else
                 f" The other {len(full)} changed matrices changed in many directions.")
    text += heads_words(result) + experts_words(result)
    return text


def damage_reading(result: Comparison, label_a: str = "A", label_b: str = "B") -> str:
    """What quantization did: the median and worst signal-to-noise ratio, the layers and heads that lost most."""
    quantized, reference = ("B", "A") if result.storage.get("B") not in ("", *PLAIN_TYPES) else ("A", "B")
    labels = {"A": label_a, "B": label_b}
    matrices = [d for d in result.measured() if d.matrix_shape is not None]
    snrs = [snr_db(d) for d in matrices]
    text = (f"**Quantization damage**: **{labels[quantized]}** is stored as {result.storage[quantized]}, "
            f"**{labels[reference]}** as {result.storage[reference] or 'full precision'}.")
    if not matrices:
        return text
    worst = min(matrices, key=snr_db)
    text += (f" Over {len(matrices)} shared matrices the median signal-to-noise ratio is **{np.median(snrs):.1f} dB** "
             f"(relative error {np.median([d.rel_change for d in matrices]):.2%}); the worst is `{worst.name}` at "
             f"**{snr_db(worst):.1f} dB** (cosine {worst.cosine:.4f}).")
    by_layer: dict[int, list[float]] = {}
    for d in matrices:
        layer = None if d.name.startswith(RAW) else schema.parse(d.name).layer
        if layer is not None:
            by_layer.setdefault(layer, []).append(snr_db(d))
    if len(by_layer) > 1:
        ranked = sorted(by_layer, key=lambda l: np.mean(by_layer[l]))[:3]
        text += " The layers that lost most (lowest mean SNR): " + ", ".join(
            f"layer {l} ({np.mean(by_layer[l]):.1f} dB)" for l in ranked) + "."
    heads = sorted((h for h in result.heads if h.measured), key=snr_db)[:MOST_CHANGED]
    if heads:
        text += " The heads that lost most: " + ", ".join(
            f"layer {schema.parse(h.name).layer} head {h.head} {schema.parse(h.name).slot[5:]} ({snr_db(h):.1f} dB)"
            for h in heads) + "."
    return text


def experts_words(result: Comparison) -> str:
    """' Per expert, 1 of 30 expert matrices changed; the most: layer 1 expert 3 `mlp.experts.W_in` (4.1%).' or ''."""
    return _moved_words(result.experts, "expert", "expert", lambda slot: f"`{slot}`")


def heads_words(result: Comparison) -> str:
    """' Per head, 3 of 96 Q/K/V/O head matrices changed; the most: layer 2 head 1 W_Q (35.1%), ...' or ''."""
    return _moved_words(result.heads, "head", "Q/K/V/O head", lambda slot: slot[5:])


def _moved_words(units: list[TensorDiff], unit: str, matrices: str, slot_words) -> str:
    measured = [u for u in units if u.measured]
    moved = sorted((u for u in measured if u.rel_change > 0), key=lambda u: -u.rel_change)
    if not moved:
        return ""
    listed = ", ".join(f"layer {schema.parse(u.name).layer} {unit} {u.head} {slot_words(schema.parse(u.name).slot)} "
                       f"({u.rel_change:.1%})" for u in moved[:MOST_CHANGED])
    share = "all" if len(moved) == len(measured) else f"{len(moved)} of {len(measured)}"
    return f" Per {unit}, {share} {matrices} matrices changed; the most: {listed}."


# ---- one tensor ----------------------------------------------------------------------------------
@dataclass
class Change:
    delta: np.ndarray  # B - A, float64, as the layer applies it (2-D for matrices)
    singular_values: np.ndarray | None  # of that delta, descending; None if not a matrix or zero
    skipped: str | None = None  # why the SVD was not taken: 'A holds 3 NaN (first at row 0, col 7)'


def change(model_a, model_b, name: str, head: int | None = None) -> Change:
    """One shared tensor's change (a name of `compute`'s diffs), or one head's; no SVD when a side holds NaN or Inf."""
    a, b = tensor(model_a, name), tensor(model_b, name)
    a, b = (a[head], b[head]) if head is not None else (applied(name, a), applied(name, b))
    with np.errstate(invalid="ignore", over="ignore"):  # Inf - Inf: the NaN the histogram leaves out
        delta = b.astype(np.float64) - a
    bad = compare.nonfinite_sides(a, b)
    matrix = delta.ndim == 2 and bool(np.any(delta)) and bad is None
    return Change(delta, compare.singular_values(delta) if matrix else None, bad)
