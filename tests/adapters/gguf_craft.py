"""Write GGUF files for tests with the gguf package's own writer, as llama.cpp's converter does.

    write_gguf(hf_folder, tmp_path / "m.gguf", qtype=GGMLQuantizationType.Q8_0)

Names go through gguf's table in its own direction (Hugging Face -> GGUF, `TensorNameMap.get_name`), the Q and
K rows of a Llama are permuted as `LlamaModel.permute` in convert_hf_to_gguf.py does, and 1-D tensors stay F32
(as the converter keeps norms), so the reader's way back is checked against an independent way there.
"""
from __future__ import annotations

import json
import os

import gguf
import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType as Q
from safetensors.numpy import load_file


def permute(w: np.ndarray, n_head: int) -> np.ndarray:
    """convert_hf_to_gguf.py's LlamaModel.permute: each head's rows as (2, d/2) -> (d/2, 2)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def quantize(arr: np.ndarray, q: Q) -> np.ndarray:
    """Stored bytes of `arr` as type q: gguf's own quantizer, or `quantize_q4_k` (gguf has none for K-quants)."""
    return quantize_q4_k(arr) if q == Q.Q4_K else gguf.quants.quantize(arr, q)


def quantize_q4_k(arr: np.ndarray) -> np.ndarray:
    """A plain (not llama.cpp's search-based) Q4_K quantizer, written from ggml's block_q4_K layout: per 256
    values an f16 d and dmin, 8 sub-blocks of 32 with 6-bit scale and min, 4-bit q; x = d*sc*q - dmin*m.
    Returns the bytes, [..., row/256*144] uint8, as gguf.quants.quantize would."""
    blocks = arr.astype(np.float32).reshape(-1, 8, 32)  # (n_blocks, sub-block, value)
    lo, hi = np.minimum(blocks.min(-1), 0), blocks.max(-1)  # a min above 0 is taken as 0: mins are subtracted
    d = ((hi - lo) / 15).max(-1) / 63
    dmin = (-lo).max(-1) / 63
    d16, dmin16 = d.astype(np.float16), dmin.astype(np.float16)
    sc = np.clip(np.rint((hi - lo) / 15 / np.where(d16 > 0, d16, 1)[:, None]), 0, 63).astype(np.uint8)
    mn = np.clip(np.rint(-lo / np.where(dmin16 > 0, dmin16, 1)[:, None]), 0, 63).astype(np.uint8)
    step = d16.astype(np.float32)[:, None] * sc
    offset = dmin16.astype(np.float32)[:, None] * mn
    q = np.clip(np.rint((blocks + offset[..., None]) / np.where(step > 0, step, 1)[..., None]), 0, 15).astype(np.uint8)
    scales = np.concatenate([(sc[:, :4] & 63) | ((sc[:, 4:] >> 4) << 6), (mn[:, :4] & 63) | ((mn[:, 4:] >> 4) << 6),
                             (sc[:, 4:] & 15) | ((mn[:, 4:] & 15) << 4)], axis=1)  # (n_blocks, 12)
    qs = (q[:, 0::2] | (q[:, 1::2] << 4)).reshape(-1, 128)  # sub-blocks 2g and 2g+1 share bytes g*32..g*32+31
    out = np.concatenate([d16.view(np.uint8).reshape(-1, 2), dmin16.view(np.uint8).reshape(-1, 2), scales, qs], 1)
    return out.reshape(*arr.shape[:-1], arr.shape[-1] // 256 * 144)


def stored_type(name: str, arr: np.ndarray, qtype: Q) -> Q:
    """The type a tensor is written as: `qtype` for matrices whose rows are whole blocks, else F32."""
    return qtype if arr.ndim >= 2 and arr.shape[-1] % GGML_QUANT_SIZES[qtype][0] == 0 else Q.F32


def write_gguf(folder, out, qtype: Q = Q.F32, permute_qk: bool = True, split_max_tensors: int = 0,
               with_tokens: bool = True) -> list[str]:
    """The safetensors model in `folder` as a GGUF file (split into parts of `split_max_tensors` tensors when
    given); returns the paths written."""
    cfg = json.load(open(os.path.join(folder, "config.json")))
    tensors = load_file(os.path.join(folder, "model.safetensors"))
    arch = cfg["model_type"]
    n_head, n_kv = cfg["num_attention_heads"], cfg.get("num_key_value_heads") or cfg["num_attention_heads"]
    w = gguf.GGUFWriter(str(out), arch, split_max_tensors=split_max_tensors)
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_head_count(n_head)
    w.add_head_count_kv(n_kv)
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    w.add_rope_freq_base(cfg.get("rope_theta") or cfg["rope_parameters"]["rope_theta"])
    if cfg.get("head_dim"):
        w.add_key_length(cfg["head_dim"])
    if with_tokens:
        w.add_token_list([f"t{i}" for i in range(cfg["vocab_size"])])
    tmap = gguf.get_tensor_name_map(next(a for a, n in gguf.MODEL_ARCH_NAMES.items() if n == arch),
                                    cfg["num_hidden_layers"])
    for name, arr in tensors.items():
        arr = arr.astype(np.float32)
        if permute_qk and arch == "llama" and ".q_proj." in name:
            arr = permute(arr, n_head)
        elif permute_qk and arch == "llama" and ".k_proj." in name:
            arr = permute(arr, n_kv)
        q = stored_type(name, arr, qtype)
        w.add_tensor(tmap.get_name(name, try_suffixes=(".weight", ".bias")), quantize(arr, q), raw_dtype=q)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return [str(p) for p in w.format_shard_names(w.path)]


def write_raw(out, tensors: dict[str, tuple[Q, tuple[int, ...], np.ndarray]], arch: str = "llama") -> None:
    """A GGUF holding each tensor as the given stored bytes (uint8, whole blocks) of type Q and numpy shape."""
    w = gguf.GGUFWriter(str(out), arch)
    for name, (q, shape, raw) in tensors.items():
        w.add_tensor(name, raw, raw_shape=gguf.quants.quant_shape_to_byte_shape(shape, q), raw_dtype=q)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
