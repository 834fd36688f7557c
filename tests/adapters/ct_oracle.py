"""Checkpoints quantized and compressed by compressed-tensors itself, and its own decompression of their bytes: the
oracle of adapters/quantized_int.py. Scales and zero points are its `calculate_qparams` of each weight's min and
max (what llm-compressor's min-max observer gives); packing and config.json are its compressors' and
`ModelCompressor.update_config`'s."""
from __future__ import annotations

import copy
import json

import numpy as np
import torch
from compressed_tensors.compressors import BaseCompressor, ModelCompressor
from compressed_tensors.quantization import (QuantizationArgs, QuantizationConfig, QuantizationScheme,
                                             apply_quantization_config)
from compressed_tensors.quantization.utils import calculate_qparams
from safetensors.torch import load_file, save_file

# the schemes tested: (format, weights' args, input activations' args or None)
INT8_CHANNEL = ("int-quantized", dict(num_bits=8, type="int", strategy="channel", symmetric=True),
                dict(num_bits=8, type="int", strategy="tensor", symmetric=True, dynamic=False))  # w8a8, static input
INT4_GROUP = ("pack-quantized", dict(num_bits=4, type="int", strategy="group", group_size=32, symmetric=True), None)
INT4_ASYM = ("pack-quantized", dict(num_bits=4, type="int", strategy="group", group_size=32, symmetric=False), None)
INT8_PACKED = ("pack-quantized", dict(num_bits=8, type="int", strategy="channel", symmetric=False), None)
INT2_ASYM = ("pack-quantized", dict(num_bits=2, type="int", strategy="group", group_size=32, symmetric=False), None)
INT8_TENSOR_ASYM = ("int-quantized", dict(num_bits=8, type="int", strategy="tensor", symmetric=False), None)


def _calibrate(module: torch.nn.Module, args: QuantizationArgs) -> None:
    """Min-max scales and zero points of the module's weight, as llm-compressor's observer computes them."""
    w = module.weight.data  # (out, in)
    if args.strategy == "group":
        w = w.reshape(w.shape[0], -1, args.group_size)  # (out, groups, group)
        lo, hi = w.amin(-1), w.amax(-1)
    elif args.strategy == "channel":
        lo, hi = w.amin(-1, keepdim=True), w.amax(-1, keepdim=True)
    else:
        lo, hi = w.amin().reshape(1), w.amax().reshape(1)
    scale, zero = calculate_qparams(lo, hi, args)
    module.weight_scale.data = scale.reshape(module.weight_scale.shape).to(module.weight_scale.dtype)
    if hasattr(module, "weight_zero_point"):
        module.weight_zero_point.data = zero.reshape(module.weight_zero_point.shape).to(module.weight_zero_point.dtype)
    if hasattr(module, "input_scale"):
        module.input_scale.data.fill_(0.05)


def compress(hf, src, dst, scheme) -> dict[str, np.ndarray]:
    """A copy of `hf` (saved in `src`) with every Linear but lm_head quantized by `scheme` and compressed, saved in
    `dst` with the config.json compressed-tensors writes; returns {weight name: compressed-tensors' decompression
    of the saved bytes}, float32."""
    fmt, weights, inputs = scheme
    model = copy.deepcopy(hf)
    qscheme = QuantizationScheme(targets=["Linear"], weights=QuantizationArgs(**weights),
                                 input_activations=QuantizationArgs(**inputs) if inputs else None)
    apply_quantization_config(model, QuantizationConfig(config_groups={"group_0": qscheme}, ignore=["lm_head"],
                                                        format=fmt))
    quantized = {n: m for n, m in model.named_modules() if getattr(m, "quantization_scheme", None) is not None}
    for m in quantized.values():
        _calibrate(m, m.quantization_scheme.weights)
    compressor = ModelCompressor.from_pretrained_model(model, fmt)
    compressor.compress_model(model)
    kept = set(load_file(str(src / "model.safetensors")))  # the source's names (tied lm_head left out)
    state = {k: v.contiguous() for k, v in model.state_dict().items()
             if k in kept or k.rpartition(".")[0] in quantized}
    dst.mkdir()
    save_file(state, str(dst / "model.safetensors"), metadata={"format": "pt"})
    (dst / "config.json").write_text((src / "config.json").read_text())
    compressor.update_config(str(dst))
    return decompressed(dst, {n: m.quantization_scheme for n, m in quantized.items()}, fmt)


def decompressed(folder, schemes: dict, fmt: str) -> dict[str, np.ndarray]:
    """compressed-tensors' own decompression of each quantized module's tensors as saved in `folder`."""
    saved = load_file(str(folder / "model.safetensors"))
    codec = BaseCompressor.get_value_from_registry(fmt)
    out = {}
    for module, scheme in schemes.items():
        local = {k.removeprefix(module + "."): v for k, v in saved.items() if k.rpartition(".")[0] == module}
        out[module + ".weight"] = codec.decompress(local, scheme)["weight"].float().numpy()
    return out


def config(folder) -> dict:
    return json.loads((folder / "config.json").read_text())
