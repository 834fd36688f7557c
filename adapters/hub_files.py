"""Which files of a Hub repo are the model: its shard index's `weight_map` (a `consolidated.safetensors` beside the
shards is not the model), else its one weights file, in the repo's top level or a folder of it; with their sizes,
so a model over the limit is refused before any download (adapters/hub.py fetches them).

    the_plan = plan(sizes_of(info), parse_hub_source("owner/name"), read_index)   # Plan(weights, files, nbytes, ...)
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

from .errors import LoadError
from .policy import HubSource
from .sources import _GGUF_SPLIT
from .units import human_bytes

INDEXES = (("model.safetensors.index.json", "model.safetensors", False),
           ("pytorch_model.bin.index.json", "pytorch_model.bin", True))
MAX_INDEX_BYTES = 32 * 1024 * 1024  # the largest real shard indexes are under 10 MB
# Weight files a folder may offer: a Trainer's training_args.bin or optimizer.pt is not a model.
_CANDIDATE = re.compile(r"(\.safetensors|\.gguf|^pytorch_model.*\.bin|^consolidated.*\.(pth|pt))$")


ADAPTER = ("adapter_config.json", "adapter_model.safetensors")  # a peft LoRA adapter (adapters/lora.py)


@dataclass(frozen=True)
class Plan:
    """What opening a Hub source downloads: `weights` (repo paths, in order), `files` (weights + config and
    index) and their total bytes."""
    weights: list[str]
    files: list[str]
    nbytes: int
    is_torch: bool


# ---- which files ---------------------------------------------------------------------------------------
def sizes_of(info) -> dict[str, int | None]:
    """Every file of a `model_info(files_metadata=True)` answer -> its size (None when the Hub does not say)."""
    sizes = {}
    for sib in getattr(info, "siblings", None) or []:
        lfs = getattr(sib, "lfs", None)
        size = sib.size if getattr(sib, "size", None) is not None else getattr(lfs, "size", None)
        sizes[sib.rfilename] = size if type(size) is int and size >= 0 else None
    return sizes


def candidates(sizes: dict[str, int | None], folder: str = "") -> list[str]:
    """The weight files directly in `folder` of the repo ('' for its top level), sorted."""
    prefix = f"{folder}/" if folder else ""
    return sorted(f for f in sizes if f.startswith(prefix) and "/" not in f[len(prefix):]
                  and _CANDIDATE.search(os.path.basename(f)))


def weight_files(sizes: dict[str, int | None]) -> list[str]:
    """Every weight file of the repo, in any folder, sorted: what the sidebar offers when there is a choice."""
    return sorted(f for f in sizes if _CANDIDATE.search(os.path.basename(f)))


def adapter_files(sizes: dict[str, int | None], source: HubSource) -> list[str] | None:
    """The two files of the LoRA adapter `source` is (the repo, or a folder of it, holding adapter_config.json and
    adapter_model.safetensors and no model: an index or model.safetensors beside them wins), else None."""
    if source.is_file:
        return None
    prefix = f"{source.path}/" if source.path else ""
    if any(prefix + name in sizes for index, single, _ in INDEXES for name in (index, single)):
        return None
    files = [prefix + name for name in ADAPTER]
    return files if all(f in sizes for f in files) else None


def plan(sizes: dict[str, int | None], source: HubSource, read_index) -> Plan:
    """The files `source` needs, from the repo's file sizes; `read_index(repo_path) -> dict` reads a shard index.

    A named file: that file. A folder (or the top level): the shards its index names, else model.safetensors
    (pytorch_model.bin), else its only weights file. Several loose weights files and no index (a repo of GGUF
    quantizations): refused, naming them, so the user picks one (the sidebar lists them with their sizes).
    """
    where = source.text
    if source.is_file:
        if source.path not in sizes:
            raise LoadError(f"{source.repo} has no file {source.path!r} at this revision. Check the path.")
        folder = os.path.dirname(source.path)
        parts = _gguf_parts(source.path)
        missing = [p for p in parts if p not in sizes]
        if missing:
            raise LoadError(f"{source.path} is part of a GGUF split into {len(parts)} files, and {missing[0]} is "
                            "not in the repo; it is not downloaded.")
        return _sized(sizes, parts, _config(sizes, folder), source.path.endswith((".bin", ".pt", ".pth")))
    folder = source.path
    if folder and not any(f.startswith(folder + "/") for f in sizes):
        raise LoadError(f"{source.repo} has no folder {folder!r} at this revision. Check the path.")
    prefix = f"{folder}/" if folder else ""
    for index_name, single, is_torch in INDEXES:
        if prefix + index_name in sizes:
            index = prefix + index_name
            size = sizes[index]
            if size is None or size > MAX_INDEX_BYTES:
                raise LoadError(f"{index} is {'of unknown size' if size is None else human_bytes(size)}, not a "
                                "real shard index; the model is not downloaded.")
            shards = _shards(read_index(index), index)
            missing = [s for s in shards if prefix + s not in sizes]
            if missing:
                raise LoadError(f"{index} names shards that are not in the repo: {', '.join(missing[:3])}. "
                                "The upload is incomplete; choose another revision.")
            return _sized(sizes, [prefix + s for s in shards], [*_config(sizes, folder), index], is_torch)
        if prefix + single in sizes:
            return _sized(sizes, [prefix + single], _config(sizes, folder), is_torch)
    loose = candidates(sizes, folder)
    models = {tuple(_gguf_parts(f)) for f in loose}  # a split GGUF is one model
    if len(models) == 1 and all(p in sizes for p in next(iter(models))):
        weights = list(next(iter(models)))
        return _sized(sizes, weights, _config(sizes, folder), weights[0].endswith((".bin", ".pt", ".pth")))
    if loose:
        listed = ", ".join(f"{f} ({_size_text(sizes[f])})" for f in loose[:6])
        raise LoadError(f"{where} holds {len(loose)} weight files and no shard index: {listed}"
                        f"{' …' if len(loose) > 6 else ''}. Choose one, e.g. '{source.repo}/{loose[0]}'.")
    nested = sorted({os.path.dirname(f) for f in sizes if f.startswith(prefix) and _CANDIDATE.search(f)
                     and os.path.dirname(f) != folder})
    if nested:
        raise LoadError(f"{where} has no weights at its {'top level' if not folder else 'folder ' + folder}; "
                        f"there are some in {', '.join(n + '/' for n in nested[:4])}. Open one as "
                        f"'{source.repo}/{nested[0]}'.")
    raise LoadError(f"{where} has no safetensors, pytorch_model.bin or GGUF weights.")


def _gguf_parts(path: str) -> list[str]:
    """All parts of the split GGUF `path` belongs to ('m-00002-of-00003.gguf' -> three paths), else [path]."""
    m = _GGUF_SPLIT.match(os.path.basename(path))
    if not m or int(m["count"]) == 0:
        return [path]
    count, folder = int(m["count"]), os.path.dirname(path)
    return [os.path.join(folder, f"{m['stem']}-{i:05d}-of-{count:05d}.gguf").replace(os.sep, "/")
            for i in range(1, count + 1)]


def _shards(index: dict, name: str) -> list[str]:
    """The shard files of an index's weight_map, in order; each a plain file name beside the index."""
    try:
        shards = sorted(set(index["weight_map"].values()))
    except (KeyError, TypeError, AttributeError) as e:
        raise LoadError(f"{name} is not a valid shard index ({str(e)[:100]}).") from e
    if not shards or not all(isinstance(s, str) and s and "/" not in s and "\\" not in s and ".." not in s
                             for s in shards):
        raise LoadError(f"{name} names shards that are not plain file names beside it; it is not followed.")
    return shards


def _config(sizes, folder: str) -> list[str]:
    """config.json beside the weights, else the repo's top-level one (a Trainer checkpoint has its own)."""
    for name in ([f"{folder}/config.json"] if folder else []) + ["config.json"]:
        if name in sizes:
            return [name]
    return []


def _sized(sizes, weights: list[str], extra: list[str], is_torch: bool) -> Plan:
    files = [*extra, *weights]
    unsized = [f for f in files if sizes.get(f) is None]
    if unsized:
        raise LoadError(f"The Hub does not say how large {unsized[0][:100]} is, so the download cannot be checked "
                        "against the size limit before it starts; it is not downloaded. Try again later.")
    return Plan(weights, files, sum(sizes[f] for f in files), is_torch)


def _size_text(size) -> str:
    return "size unknown" if size is None else human_bytes(size)
