"""Sessions of one server share its caches but never each other's state: the same config-less file opened with
different head counts, a different model, an upload; a file replaced after opening opens afresh (the cache is
keyed by the files' identity); a deleted file is a message on every page, not a traceback."""
from __future__ import annotations

import os

import numpy as np
import pytest

from tests.adapters import craft
from tests.pages.apptest import errors, run_page

PAGES = ["pages/overview.py", "pages/heads.py", "pages/distributions.py", "pages/matrices.py"]


def _gpt2(d: int, layers: int = 1, seed: int = 0) -> bytes:
    """A config-less GPT-2-shaped file; d_model `d` is no GPT-2 size, so the head count is the caller's."""
    rng = np.random.default_rng(seed)
    shapes = {"wte.weight": (11, d), "wpe.weight": (6, d), "ln_f.weight": (d,), "ln_f.bias": (d,)}
    for l in range(layers):
        shapes.update({f"h.{l}.ln_1.weight": (d,), f"h.{l}.ln_1.bias": (d,), f"h.{l}.attn.c_attn.weight": (d, 3 * d),
                       f"h.{l}.attn.c_attn.bias": (3 * d,), f"h.{l}.attn.c_proj.weight": (d, d),
                       f"h.{l}.ln_2.weight": (d,), f"h.{l}.mlp.c_fc.weight": (d, 4 * d),
                       f"h.{l}.mlp.c_proj.weight": (4 * d, d)})
    return craft.valid({k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()})


def _caption(at) -> str:
    return " ".join(c.value for c in at.caption)


def _clean(at) -> None:
    assert not errors(at), errors(at)


def test_sessions_keep_their_own_model_heads_and_upload(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(_gpt2(8))
    other = tmp_path / "other.safetensors"
    other.write_bytes(_gpt2(12, layers=2, seed=1))
    sessions = {"2 heads": run_page("pages/heads.py", source=str(path), picker_heads=2),
                "4 heads": run_page("pages/heads.py", source=str(path), picker_heads=4),
                "d_model 12": run_page("pages/heads.py", source=str(other), picker_heads=3),
                "d_model 16": run_page("pages/heads.py", source=_gpt2(16, seed=2), picker_heads=2)}
    for _ in range(2):  # each rerun, in turn, after every other session has run on the shared caches
        for expected, at in sessions.items():
            _clean(at)
            assert expected in _caption(at), (expected, _caption(at))
            at.run()
    assert "4 heads" not in _caption(sessions["2 heads"]) and "2 heads" not in _caption(sessions["4 heads"])
    assert type(sessions["d_model 16"].session_state["model_source"]).__name__ == "UploadRef"


def test_file_replaced_after_opening_opens_afresh(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(_gpt2(8))
    at = run_page("pages/overview.py", source=str(path), picker_heads=2)
    _clean(at)
    assert "d_model 8" in _caption(at)
    path.write_bytes(_gpt2(16))
    os.utime(path, ns=(1, 1))  # a different mtime even on a coarse clock
    at.run()
    _clean(at)
    assert "d_model 16" in _caption(at), _caption(at)


@pytest.mark.parametrize("page", PAGES)
def test_deleted_file_is_a_message_on_every_page(tmp_path, page):
    path = tmp_path / "model.safetensors"
    path.write_bytes(_gpt2(8))
    at = run_page("pages/overview.py", source=str(path), picker_heads=2)
    _clean(at)
    path.unlink()
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.error and "does not exist" in at.error[0].value, errors(at)
