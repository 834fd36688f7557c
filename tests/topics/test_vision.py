"""The vision topic on tiny models: what it reads from which slots, and that its reading follows the numbers."""
import numpy as np

from adapters import open_model
from analyses import vision as vis
from tests.adapters.harness import build
from topics import positional, vision

TINY = dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=4, intermediate_size=48, image_size=24,
            patch_size=4)


def test_deit_grid_prefix_rows_and_class_token(tmp_path):
    _, model = build("deit", tmp_path, causal_lm=False, **TINY)
    v = positional.compute(model).vision
    w_pos, cls = model.weight("pos_embed.W_pos"), model.weight("embed.cls")
    assert (v.grid, v.n_prefix_rows, v.prefix_names) == ((6, 6), 2, ["class token", "distillation token"])
    expected = (w_pos[2:] @ cls) / (np.linalg.norm(w_pos[2:], axis=1) * np.linalg.norm(cls))
    np.testing.assert_allclose(v.cls_to_positions.ravel(), expected, atol=1e-6)
    assert v.cls_norm == np.linalg.norm(cls).astype(float)
    assert v.filters.shape == (32, 3, 4, 4) and v.filters.min() >= 0 and v.filters.max() <= 1
    assert "not clearly more alike" in vision.reading(v)  # random positions: no 2-D claim


def test_text_model_has_no_vision_view(tmp_path):
    _, model = build("gpt2", tmp_path, n_embd=32, n_layer=1, n_head=2, vocab_size=50, n_positions=16)
    assert positional.compute(model).vision is None


def test_the_reading_claims_a_layout_written_into_w_pos(tmp_path):
    """A tiny ViT whose W_pos is replaced by one with row and column vectors: the reading says 2-D."""
    from safetensors.torch import load_file, save_file
    build("vit", tmp_path, causal_lm=False, **TINY)
    path = str(tmp_path / "model.safetensors")
    tensors = load_file(path)
    rng = np.random.default_rng(0)
    rows, cols = rng.normal(size=(6, 16)), rng.normal(size=(6, 16))
    grid = np.array([np.concatenate([rows[r], cols[c]]) for r in range(6) for c in range(6)])
    import torch
    tensors["embeddings.position_embeddings"] = torch.tensor(np.concatenate([rng.normal(size=(1, 32)), grid])[None],
                                                             dtype=torch.float32)
    save_file(tensors, path, metadata={"format": "pt"})
    v = positional.compute(open_model(str(tmp_path))).vision
    assert vis.is_two_dimensional(v.similarity)
    assert "learned the 2-D layout" in vision.reading(v)
