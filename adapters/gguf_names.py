"""A GGUF model as the families see a Hugging Face checkpoint: tensor names, a config.json, and which rows
llama.cpp's converter permuted.

Names come from two tables, neither copied here: gguf's own (`gguf.TensorNameMap`: every source name it
knows for each GGUF tensor of an architecture) and the family's rules (which of those names this app
reads). For each GGUF tensor the first of gguf's source names that the family reads is taken, so
`blk.3.attn_q.weight` becomes `model.layers.3.self_attn.q_proj.weight` for Llama.
"""
from __future__ import annotations

import re

from gguf import MODEL_ARCH_NAMES, MODEL_TENSOR, Keys, get_tensor_name_map

from .config import Note
from .errors import LoadError

# GGUF general.architecture -> (the Hugging Face model_type it is read as, whether the converter permuted the
# Q and K rows). llama.cpp's Llama converter (`LlamaModel.permute`) interleaves each head's rotary halves for
# its own rotary kernel; Qwen2 and Qwen3 use NEOX-style rotary and are stored as Hugging Face stores them.
# Mistral and other Llama-layout models are converted as 'llama'.
ARCHS = {"llama": ("llama", True), "qwen2": ("qwen2", False), "qwen3": ("qwen3", False)}
_BLOCK = re.compile(r"^blk\.(\d{1,6})\.")
_PERMUTED = {MODEL_TENSOR.ATTN_Q: "num_attention_heads", MODEL_TENSOR.ATTN_K: "num_key_value_heads"}
# config.json key -> GGUF metadata key (gguf's Keys), for the facts the families read
_CONFIG = {"num_hidden_layers": Keys.LLM.BLOCK_COUNT, "hidden_size": Keys.LLM.EMBEDDING_LENGTH,
           "intermediate_size": Keys.LLM.FEED_FORWARD_LENGTH, "max_position_embeddings": Keys.LLM.CONTEXT_LENGTH,
           "num_attention_heads": Keys.Attention.HEAD_COUNT, "num_key_value_heads": Keys.Attention.HEAD_COUNT_KV,
           "head_dim": Keys.Attention.KEY_LENGTH, "rms_norm_eps": Keys.Attention.LAYERNORM_RMS_EPS,
           "rope_theta": Keys.Rope.FREQ_BASE}
_LM_HEAD = "output.weight"  # absent when the embeddings are tied


def hf_view(kv: dict, shapes: dict[str, tuple[int, ...]]) -> tuple[dict[str, str], dict[str, int], dict | None,
                                                                     list[Note]]:
    """(GGUF name -> Hugging Face name, HF name -> heads its rows were permuted in, config, notes).

    An architecture not in ARCHS keeps its GGUF names and gets no config: the generic family shows it raw.
    """
    arch = kv.get(Keys.General.ARCHITECTURE)
    if not isinstance(arch, str):
        raise LoadError("This GGUF file has no general.architecture in its metadata, so what it holds cannot be "
                        "told; it is corrupt or not a model.")
    if arch not in ARCHS:
        return {}, {}, None, [Note("read-as", (
            f"GGUF architecture {arch[:60]!r} is not mapped onto the schema (mapped: {', '.join(ARCHS)}), so its "
            "tensors are shown raw under their GGUF names."))]
    model_type, permuted = ARCHS[arch]
    config = _config(kv, arch, model_type, shapes)
    names, types = _names(arch, model_type, shapes)
    heads = {}
    for gname, hf in names.items() if permuted else ():
        if types[gname] not in _PERMUTED:
            continue
        count = config.get(_PERMUTED[types[gname]]) or config.get("num_attention_heads")  # no kv count: MHA
        if type(count) is not int or count <= 0 or shapes[gname][0] % (2 * count):
            raise LoadError(f"{gname}: its {shapes[gname][0]} rows are not {str(count)[:20]} heads of rotary pairs "
                            "(the head count in the GGUF metadata), so llama.cpp's reordering of them cannot be "
                            "undone; the metadata does not fit the tensors.")
        heads[hf] = count
    note = Note("layout", f"Read from a GGUF file (llama.cpp, architecture {arch!r}): tensor names mapped to "
                          "Hugging Face's" + (", and the Q and K rows llama.cpp's converter interleaves for its "
                                              "rotary put back in Hugging Face's order" if permuted else "") + ".")
    return names, heads, config, [note]


def _names(arch: str, model_type: str, shapes: dict) -> tuple[dict[str, str], dict[str, MODEL_TENSOR]]:
    from .registry import BY_MODEL_TYPE  # the families register on import of adapters

    family = BY_MODEL_TYPE[model_type]
    sources = {s for src, _ in family.rules.values() for s in ((src,) if isinstance(src, str) else src)}
    alias = family.tie[0] if family.tie else None  # the LM head sits outside the body's 'model.' prefix
    wanted = {s if s == alias else "model." + s for s in sources}
    blocks = [int(m[1]) for n in shapes if (m := _BLOCK.match(n))]
    if max(blocks, default=-1) >= len(shapes):  # gguf's map is built per block: a huge number would be slow
        raise LoadError(f"A GGUF tensor is numbered for block {max(blocks)}, with only {len(shapes)} tensors in the "
                        "file; the file is corrupt.")
    tmap = get_tensor_name_map(next(a for a, n in MODEL_ARCH_NAMES.items() if n == arch), max(blocks, default=-1) + 1)
    names: dict[str, str] = {}
    types: dict[str, MODEL_TENSOR] = {}
    for key, (ttype, gname) in tmap.mapping.items():
        m = _BLOCK.match(gname)
        template = key.replace(f".{m[1]}.", ".{l}.", 1) if m else key
        for suffix in (".weight", ".bias"):
            if gname + suffix in shapes and gname + suffix not in names and template + suffix in wanted:
                names[gname + suffix] = key + suffix
                types[gname + suffix] = ttype
    return names, types


def _config(kv: dict, arch: str, model_type: str, shapes: dict) -> dict:
    """The metadata as the config.json the families read (only what the file states)."""
    config: dict = {"model_type": model_type, "hidden_act": "silu",  # llama.cpp's graph for these is SiLU-gated
                    "tie_word_embeddings": _LM_HEAD not in shapes}
    for hf_key, key in _CONFIG.items():
        value = kv.get(key.format(arch=arch))
        if isinstance(value, (int, float)) and not isinstance(value, bool):  # a per-layer list is left out
            config[hf_key] = value
    tokens = kv.get(Keys.Tokenizer.LIST)
    count = len(tokens) if isinstance(tokens, list) else getattr(tokens, "count", None)  # a list, or ArrayInfo
    if type(count) is int and count > 0:
        config["vocab_size"] = count
    scaling = kv.get(Keys.Rope.SCALING_TYPE.format(arch=arch))
    if isinstance(scaling, str) and scaling not in ("none", ""):
        config["rope_scaling"] = {"rope_type": scaling[:40]}
    return config

