"""Check a vision adapter against the model's own forward pass on an image (pixel_values).

`check_forward` (harness.py) checks every layer's attention pattern, attention output and MLP output from the
schema; here, what is particular to images:
- the embeddings: the patches cut from the image and multiplied by W_patch (plus b_patch), the prefix tokens
  (cls, distill) before them and W_pos added, registers after the class token, equal the embeddings module's
  output (numpy only: the conv is written as the product it is);
- layer scale: each layer's output is its input + attn.ls * attention output + mlp.ls * MLP output.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from adapters import schema
from adapters.stack_view import StackView
from tests.adapters.harness import Spec, _module, check_forward


def pixels(model, seed: int = 0) -> torch.Tensor:
    """A random image of the size the model's W_pos was trained for: (1, n_channels, rows * p, cols * p)."""
    c = model.cfg
    rows, cols = c.patch_grid
    return torch.randn(1, c.n_channels, rows * c.patch_size, cols * c.patch_size,
                       generator=torch.Generator().manual_seed(seed))


def tower(model):
    """The vision stack of a two-tower model seen as the main one, with the tower's own width and heads."""
    view = StackView(model, "vision")
    c = model.cfg
    view.cfg = replace(view.cfg, d_model=c.vision_d_model, n_heads=c.vision_n_heads, n_kv_heads=c.vision_n_heads,
                       d_head=c.vision_d_model // c.vision_n_heads)
    return view


def expected_embeddings(model, image: np.ndarray) -> np.ndarray:
    """(n_tokens, d_model): the sequence entering the first layer (before any embedding norm), from the schema."""
    w = model.weight("embed.W_patch")  # (d_model, n_channels, p, p)
    d, _, p, _ = w.shape
    _, rows, cols = image.shape[0], image.shape[1] // p, image.shape[2] // p
    cut = image.reshape(image.shape[0], rows, p, cols, p).transpose(1, 3, 0, 2, 4)  # (rows, cols, C, p, p)
    patches = np.einsum("rkcij,dcij->rkd", cut, w).reshape(rows * cols, d)  # row by row, as W_pos
    if model.has("embed.b_patch"):
        patches = patches + model.weight("embed.b_patch")
    prefix = [model.weight(s)[None] for s in ("embed.cls", "embed.distill") if model.has(s)]
    x = np.concatenate([*prefix, patches])
    if model.has("pos_embed.W_pos"):
        x = x + model.weight("pos_embed.W_pos")
    if model.has("embed.registers"):  # after the class token, with no position of their own
        x = np.concatenate([x[:1], model.weight("embed.registers"), x[1:]])
    return x


def check_embeddings(hf, model, module: str, image: torch.Tensor, atol: float = 1e-4, **inputs) -> None:
    """The embeddings module's output (`module`, a dotted path) equals the schema's computation."""
    captured = {}
    hook = _module(hf, module).register_forward_hook(lambda m, a, out: captured.setdefault("x", out))
    with torch.no_grad():
        hf(pixel_values=image, **inputs)
    hook.remove()
    out = captured["x"][0] if isinstance(captured["x"], tuple) else captured["x"]
    np.testing.assert_allclose(expected_embeddings(model, image[0].double().numpy()), out[0].double().numpy(),
                               atol=atol, err_msg="embeddings")


def check_layer_scale(hf, model, layer: str, spec: Spec, image: torch.Tensor, atol: float = 1e-4) -> None:
    """Each layer (`layer`: its module path with {l}) outputs x + attn.ls * attention out + mlp.ls * MLP out."""
    captured, hooks = {}, []

    def keep(key, output=True):
        def hook(mod, args, kwargs_or_out, *rest):
            value = (rest[0] if rest else kwargs_or_out) if output else (args[0] if args else kwargs_or_out["hidden_states"])
            captured[key] = (value[0] if isinstance(value, tuple) else value).detach().clone()
        return hook

    for l in range(model.cfg.n_layers):
        hooks.append(_module(hf, layer.format(l=l)).register_forward_pre_hook(keep(f"in{l}", False), with_kwargs=True))
        hooks.append(_module(hf, layer.format(l=l)).register_forward_hook(keep(f"out{l}"), with_kwargs=True))
        hooks.append(_module(hf, (spec.attn_out or spec.attn).format(l=l)).register_forward_hook(keep(f"a{l}"), with_kwargs=True))
        hooks.append(_module(hf, (spec.mlp_out or spec.mlp).format(l=l)).register_forward_hook(keep(f"m{l}"), with_kwargs=True))
    with torch.no_grad():
        hf(pixel_values=image)
    for h in hooks:
        h.remove()
    for l in range(model.cfg.n_layers):
        ls = [model.weight(schema.name(s, l)) if model.has(schema.name(s, l)) else 1.0 for s in ("attn.ls", "mlp.ls")]
        got = [captured[f"{k}{l}"][0].double().numpy() for k in ("in", "a", "m", "out")]
        np.testing.assert_allclose(got[0] + ls[0] * got[1] + ls[1] * got[2], got[3], atol=atol,
                                   err_msg=f"layer {l}: residual with layer scale")


def check_image_forward(hf, model, spec: Spec, embeddings: str, layer: str | None = None, atol: float = 1e-4) -> None:
    """Embeddings, every layer's attention and MLP, and (given the layer's path) layer scale, on one image."""
    image = pixels(model)
    check_embeddings(hf, model, embeddings, image, atol)
    check_forward(hf, model, replace(spec, causal=False, extra_inputs={"pixel_values": image}), atol=atol)
    if layer is not None:
        check_layer_scale(hf, model, layer, spec, image, atol)
