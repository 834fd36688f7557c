"""A vision transformer's positions on its patch grid, its patch filters as images, and its class token.

    result = compute(model)     # None for a model with no patch embedding
    print(reading(result))      # words computed from the numbers: 2-D layout or not, the class token

Shown on the positional page and in the report's positional section (topics/positional.py carries it). For a
two-tower model (CLIP) the slots of the `vision` stack are read; for a vision model alone, its own.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adapters import schema
from analyses import vision as vis

CELLS = 5000  # cells of a chart (charts.MAX_ROWS)
MAX_FILTERS = 32  # filters drawn at most, however many fit
MAX_ANCHORS_PER_SIDE = 7  # the grid of small similarity maps is at most this many maps along each side


@dataclass
class Vision:
    stack: str  # the schema stack the vision slots are in: 'blocks' alone, 'vision' beside a text stack
    d_model: int
    grid: tuple[int, int] | None  # (rows, cols) of patches; None when it could not be settled
    patch_size: int
    n_channels: int
    n_prefix_rows: int  # W_pos rows before the grid (class token, DeiT's distillation token)
    n_registers: int  # DINOv2 registers: after the class token, with no position row
    similarity: vis.GridSimilarity | None  # None without a learned W_pos on a known grid
    prefix_names: list[str]  # what each prefix row of W_pos belongs to
    prefix_maps: np.ndarray | None  # (n_prefix_rows, rows, cols): cosine of each prefix row to each patch row
    prefix_norms: list[float]  # norm of each prefix row of W_pos
    median_patch_position_norm: float | None
    filters: np.ndarray | None  # (n, n_channels, p, p) in [0, 1], each filter scaled on its own; None if not a conv
    cls_norm: float | None  # the class token's norm (None: no class token)
    cls_to_positions: np.ndarray | None  # (rows, cols): cosine of the class token to each patch position's row


def _slot(model, slot: str, stack: str) -> np.ndarray | None:
    key = schema.name(slot, stack=stack)
    return model.weight(key) if model.has(key) else None


def _anchors_per_side(grid: tuple[int, int]) -> int:
    """The most maps per side (at most MAX_ANCHORS_PER_SIDE, at least 2) whose full maps fit in CELLS."""
    cells = grid[0] * grid[1]
    return next((a for a in range(MAX_ANCHORS_PER_SIDE, 1, -1) if a * a * cells <= CELLS), 2)


def compute(model) -> Vision | None:
    """The vision views of the model's patch embedding, W_pos and class token; None when it has no patches."""
    stack = next((s for s in (schema.MAIN, "vision") if model.has(schema.name("embed.W_patch", stack=s))), None)
    if stack is None:
        return None
    c = model.cfg
    w_patch = _slot(model, "embed.W_patch", stack)  # (d_model, n_channels, p, p)
    conv = w_patch.ndim == 4 and w_patch.shape[2] == w_patch.shape[3]
    d_model = int(w_patch.shape[0])
    w_pos, cls = _slot(model, "pos_embed.W_pos", stack), _slot(model, "embed.cls", stack)
    registers = _slot(model, "embed.registers", stack)
    grid = c.patch_grid
    prefix = c.n_prefix_tokens
    if w_pos is None or grid is None or w_pos.shape[0] != prefix + grid[0] * grid[1]:
        similarity = prefix_maps = cls_map = None
        prefix_norms, median_norm = [], None
    else:
        patches = w_pos[prefix:]  # (rows * cols, d_model), row by row
        similarity = vis.grid_similarity(patches, grid, vis.anchor_positions(grid, _anchors_per_side(grid)))
        prefix_maps = np.stack([vis.cosine_to_rows(w_pos[i], patches).reshape(grid) for i in range(prefix)]) \
            if prefix else None
        prefix_norms = [float(np.linalg.norm(w_pos[i])) for i in range(prefix)]
        median_norm = float(np.median(np.linalg.norm(patches, axis=1)))
        cls_map = vis.cosine_to_rows(cls, patches).reshape(grid) if cls is not None else None
    filters = None
    if conv:
        n_channels, p = w_patch.shape[1], w_patch.shape[2]
        per_filter = p * p * (1 if n_channels == 3 else n_channels)
        filters = vis.filter_tiles(w_patch, min(d_model, MAX_FILTERS, max(1, CELLS // per_filter)))
    names = ["class token", "distillation token"][:prefix] if cls is not None else [f"prefix {i}" for i in range(prefix)]
    return Vision(stack, d_model, grid, int(w_patch.shape[2]) if conv else 0, int(w_patch.shape[1]) if conv else 0,
                  prefix, 0 if registers is None else int(registers.shape[0]), similarity, names, prefix_maps,
                  prefix_norms, median_norm, filters, None if cls is None else float(np.linalg.norm(cls)), cls_map)


def reading(v: Vision) -> str:
    """What the patch positions, the prefix rows and the class token look like, in words from the numbers."""
    parts = []
    tower = "The vision tower's " if v.stack != schema.MAIN else "The "
    if v.similarity is None:
        parts.append(f"{tower}patch positions cannot be laid out on a grid: there is no learned W_pos, or its rows "
                     "do not match the patch grid.")
    else:
        s, (rows, cols) = v.similarity, v.grid
        alike = (f"mean cosine {s.same_line:.2f} to positions in the same row or column against {s.elsewhere:.2f} "
                 f"elsewhere")
        if vis.is_two_dimensional(s):
            parts.append(f"{tower}{rows} × {cols} patch positions are most similar along their own row and column "
                         f"({alike}): the model learned the 2-D layout of the image.")
        else:
            parts.append(f"{tower}{rows} × {cols} patch positions are not clearly more alike along rows and columns "
                         f"({alike}; a 2-D layout would show a gap of at least {vis.ROW_COL_MARGIN}).")
        trend = "nearer positions are more alike" if vis.is_local(s) else "no clear trend with distance"
        parts.append(f"Cosine against distance on the grid: Spearman ρ = {s.distance_rho:.2f} ({trend}).")
        for name, norm, m in zip(v.prefix_names, v.prefix_norms, v.prefix_maps if v.prefix_maps is not None else []):
            parts.append(f"The {name}'s own row of W_pos (before the grid) has norm {norm:.3g} against a median "
                         f"{v.median_patch_position_norm:.3g} for patch positions, and mean cosine {m.mean():.2f} "
                         "to them.")
    if v.n_registers:
        parts.append(f"{v.n_registers} register tokens follow the class token with no position row of their own.")
    if v.cls_norm is not None:
        text = f"The class token has norm {v.cls_norm:.3g}"
        if v.cls_to_positions is not None:
            text += (f"; its cosine to the patch positions runs from {v.cls_to_positions.min():.2f} to "
                     f"{v.cls_to_positions.max():.2f} (mean {v.cls_to_positions.mean():.2f})")
        parts.append(text + ".")
    if v.filters is not None:
        kind = "as colour images (RGB)" if v.n_channels == 3 else f"one grey image per channel ({v.n_channels})"
        parts.append(f"The first {len(v.filters)} of {v.d_model} patch filters ({v.patch_size} × {v.patch_size} "
                     f"pixels) are drawn {kind}, each scaled from its own minimum to its maximum.")
    return " ".join(parts)
