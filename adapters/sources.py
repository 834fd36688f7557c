"""Find a checkpoint's bytes: a Hub id, a local folder, a single file, or uploaded bytes.

Each resolver returns a `Located`: the weight files to open, the parsed config.json (plain
JSON, never code) and an identity string that changes when the files change, for caching.
"""
from __future__ import annotations

import atexit
import hashlib
import json
import os
import re
import stat
import tempfile
import weakref
from dataclasses import dataclass, field

from .errors import LoadError
from .policy import Policy, parse_hub_source
from .units import human_bytes

MAX_CONFIG_BYTES = 16 * 1024 * 1024  # config.json files are a few kB
# A shard index lists each tensor once (~100 bytes): the largest real ones are under 10 MB. Parsing JSON costs
# several times its size in Python objects, so the bound is kept near the safetensors header's.
MAX_INDEX_BYTES = 32 * 1024 * 1024


@dataclass
class Located:
    """Where a checkpoint's files are, and what identifies this exact version of them."""
    files: list[str]
    config: dict | None
    identity: str
    display: str
    kind: str  # "hub" | "folder" | "file" | "upload"
    is_torch: bool = False
    keepalive: list = field(default_factory=list)  # objects that must outlive the open files
    adapter: str | None = None  # a LoRA adapter folder merged over these files when opened (adapters/lora.py)
    notice: str | None = None  # said beside the model: e.g. the Hub was down and the cached copy was opened


def file_identity(paths: list[str]) -> str:
    """path + size + mtime of every file that exists: cheap, and changes when the files do (config.json
    included, so an edited config opens afresh)."""
    parts = []
    for p in paths:
        if not os.path.exists(p) and os.path.basename(p) == "config.json":
            continue
        st = os.stat(p)
        parts.append(f"{os.path.realpath(p)}:{st.st_size}:{st.st_mtime_ns}")
    return "|".join(parts)


def read_config(path: str) -> dict | None:
    """config.json as plain JSON (nothing in it is executed), or None when absent."""
    if not _is_regular(path):
        return None
    try:
        if os.path.getsize(path) > MAX_CONFIG_BYTES:
            raise LoadError(f"{path} is larger than any real config.json ({MAX_CONFIG_BYTES:,} bytes).")
        with open(path, encoding="utf-8") as f:
            cfg = json.load(f)
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as e:
        if isinstance(e, LoadError):
            raise
        raise LoadError(f"{os.path.basename(path)} is not valid JSON ({str(e)[:200]}); fix or remove it.") from e
    if not isinstance(cfg, dict):
        raise LoadError(f"{path} does not hold a JSON object.")
    return cfg


def _is_regular(path: str) -> bool:
    """A regular file (after links): a FIFO or device named *.safetensors would block or never end when read."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _inside(folder: str, path: str) -> bool:
    """Whether `path`, links followed, stays in `folder`. A Hub cache snapshot's files link to the repo's
    blobs (snapshots/<commit>/x -> ../../blobs/<hash>), so there the repo's folder is the bound."""
    bound = os.path.dirname(os.path.dirname(folder)) if os.path.basename(os.path.dirname(folder)) == "snapshots" \
        else folder
    return os.path.commonpath([bound, os.path.realpath(path)]) == bound


def _weights_in_folder(folder: str) -> tuple[list[str], bool]:
    """The weight files of a Hugging Face folder: safetensors first, else torch .bin. Only regular files inside
    the folder count: a link that leads out of it is refused."""
    files, is_torch = _weight_files(folder)
    outside = [os.path.basename(f) for f in files if not _inside(folder, f)]
    if outside:
        raise LoadError(f"{outside[0][:100]} in {folder} is a link to a file outside the folder; links that "
                        "lead out of a model folder are not followed. Copy the file into the folder instead.")
    return files, is_torch


def _weight_files(folder: str) -> tuple[list[str], bool]:
    for index_name, single, is_torch in (("model.safetensors.index.json", "model.safetensors", False),
                                         ("pytorch_model.bin.index.json", "pytorch_model.bin", True)):
        index = os.path.join(folder, index_name)
        if _is_regular(index):
            if not _inside(folder, index):
                raise LoadError(f"{index_name} in {folder} is a link to a file outside the folder; links that "
                                "lead out of a model folder are not followed.")
            if os.path.getsize(index) > MAX_INDEX_BYTES:
                raise LoadError(f"{index_name} is {human_bytes(os.path.getsize(index))}, larger than any real "
                                f"shard index ({human_bytes(MAX_INDEX_BYTES)}); re-download the checkpoint.")
            try:
                with open(index, encoding="utf-8") as f:
                    weight_map = json.load(f)["weight_map"]
                shards = sorted(set(weight_map.values()))
                if not all(isinstance(s, str) for s in shards):
                    raise TypeError("shard names must be strings")
            except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as e:
                raise LoadError(f"{index_name} is not a valid shard index ({str(e)[:200]}); "
                                "re-download the checkpoint.") from e
            # A shard is a plain file name in this folder: never a path that leads out of it.
            paths = [os.path.join(folder, s) for s in shards]
            missing = [s for s, p in zip(shards, paths)
                       if "/" in s or "\\" in s or ".." in s or not _is_regular(p)]
            if missing:
                raise LoadError(f"{index_name} names shards that are not in the folder: "
                                f"{', '.join(m[:80] for m in missing[:3])}. Re-download the checkpoint.")
            return paths, is_torch
        if _is_regular(os.path.join(folder, single)):
            return [os.path.join(folder, single)], is_torch
    loose = sorted(f for f in os.listdir(folder) if f.endswith(".safetensors") and _is_regular(os.path.join(folder, f)))
    if loose:
        return [os.path.join(folder, f) for f in loose], False
    ggufs = sorted(f for f in os.listdir(folder) if f.endswith(".gguf") and _is_regular(os.path.join(folder, f)))
    models = sorted({tuple(gguf_parts(os.path.join(folder, f))) for f in ggufs})  # a split GGUF is one model
    if len(models) == 1:
        return list(models[0]), False
    if models:
        raise LoadError(f"{folder} holds {len(models)} GGUF models ({', '.join(f[:60] for f in ggufs[:3])}, ...): "
                        "open one of the files instead of the folder.")
    raise LoadError(f"No weights in {folder}: expected model.safetensors, a sharded "
                    "model.safetensors.index.json, pytorch_model.bin, or a .gguf file.")


def gguf_parts(path: str) -> list[str]:
    """The files of the GGUF model `path` belongs to: its split's parts ('m-00002-of-00003.gguf' -> all three,
    each required to exist), else [path]."""
    m = _GGUF_SPLIT.match(os.path.basename(path))
    if not m or int(m["count"]) == 0:
        return [path]
    count = int(m["count"])
    folder = os.path.dirname(path)
    parts = [os.path.join(folder, f"{m['stem']}-{i:05d}-of-{count:05d}.gguf") for i in range(1, count + 1)]
    missing = [os.path.basename(p) for p in parts if not _is_regular(p)]
    if missing:
        raise LoadError(f"{os.path.basename(path)[:100]} is part of a GGUF split into {count} files, and "
                        f"{missing[0][:100]} is missing ({len(missing)} missing). Put every part in one folder.")
    return parts


_GGUF_SPLIT = re.compile(r"^(?P<stem>.+)-(?P<no>\d{5})-of-(?P<count>\d{5})\.gguf$")  # gguf.SHARD_NAME_FORMAT


def from_path(path: str) -> Located:
    """A local folder (Hugging Face layout) or a single weights file, resolved to its real path."""
    try:
        return _from_path(path)
    except OSError as e:  # permissions, a file vanishing between checks
        raise LoadError(f"Cannot read {path}: {e.strerror or e}.") from e


def _from_path(path: str) -> Located:
    real = os.path.realpath(path)
    if os.path.isdir(real):
        files, is_torch = _weights_in_folder(real)
        config = os.path.join(real, "config.json")
        if os.path.lexists(config) and not _inside(real, config):
            raise LoadError(f"config.json in {path} is a link to a file outside the folder; links that lead out "
                            "of a model folder are not followed.")
        return Located(files, read_config(config), file_identity([*files, config]), path, "folder", is_torch)
    if not os.path.exists(real):
        raise LoadError(f"{path} does not exist. Give a folder, a .safetensors file, or a Hub id like 'gpt2'.")
    if not os.path.isfile(real):
        raise LoadError(f"{path} is not a regular file or folder.")
    if real.endswith(".gguf"):  # self-describing: its metadata is its config; a split one opens all its parts
        files = gguf_parts(real)
        return Located(files, None, file_identity(files), path, "file")
    is_torch = real.endswith((".bin", ".pt", ".pth"))
    sibling = os.path.join(os.path.dirname(real), "config.json")
    return Located([real], read_config(sibling), file_identity([real, sibling]), path, "file", is_torch)


def from_upload(data, name: str = "upload.safetensors", max_bytes: int | None = None) -> Located:
    """Uploaded bytes or a file-like object, spooled to a temp file in chunks.

    The upload is copied to disk a slice at a time (never a second full copy in memory), so
    the caller can drop its bytes once the model is open; the temp file is removed when the
    model that holds it is garbage-collected. Over `max_bytes`: refused before anything is parsed.
    """
    name = os.path.basename(str(name)) or "upload.safetensors"
    limit = Policy.from_env().max_model_bytes if max_bytes is None else max_bytes
    size = _size_of(data)
    if size is not None and size > limit:
        raise _too_big(name, size, limit)
    # Spooled under the uploaded name (in a folder of its own), so every message about the file names it.
    # Kept open past this function (the model's keepalive closes and removes it), so no `with`.
    folder = tempfile.mkdtemp(prefix="weights-upload-")
    on_disk = _UNSAFE_IN_NAME.sub("_", name)[-200:].lstrip(".") or "upload.safetensors"
    tmp = open(os.path.join(folder, on_disk), "xb")  # noqa: SIM115
    digest, written = hashlib.sha1(), 0
    try:
        for block in _chunks(data):
            written += len(block)
            if written > limit:
                raise _too_big(name, written, limit, at_least=True)
            digest.update(block)
            tmp.write(block)
        tmp.flush()
    except (OSError, TypeError, ValueError, BufferError) as e:
        _Unlinker(tmp).remove()
        if isinstance(e, LoadError):
            raise
        raise LoadError(f"Could not store the upload {name}: {str(e)[:200]}. Try uploading it again.") from e
    identity = f"upload:{name}:{written}:{digest.hexdigest()[:20]}"  # the whole content: same bytes, same id
    located = Located([tmp.name], None, identity, name, "upload",
                      is_torch=name.endswith((".bin", ".pt", ".pth")))
    located.keepalive.append(_Unlinker(tmp))
    return located


def _too_big(name: str, size: int, limit: int, at_least: bool = False) -> LoadError:
    return LoadError(f"{name} is {'at least ' if at_least else ''}{human_bytes(size)}; uploads up to "
                     f"{human_bytes(limit)} are accepted (WEIGHTS_MAX_MODEL_BYTES). Upload a smaller checkpoint.")


def _size_of(data) -> int | None:
    if isinstance(data, (bytes, bytearray, memoryview)):
        return memoryview(data).nbytes
    size = getattr(data, "size", None)  # Streamlit's UploadedFile
    return size if isinstance(size, int) else None


def _chunks(data, chunk: int = 16 * 1024 * 1024):
    """Slices of the upload: zero-copy views of a buffer, or reads of a stream."""
    if isinstance(data, (bytes, bytearray, memoryview)) or hasattr(data, "getbuffer"):
        # BytesIO and UploadedFile: a view of their buffer, released at once so they can be closed.
        whole = data.getbuffer() if hasattr(data, "getbuffer") else memoryview(data)
        with whole, whole.cast("B") as view:
            for i in range(0, len(view), chunk):
                yield view[i:i + chunk]
    elif hasattr(data, "read"):
        while block := data.read(chunk):
            yield block
    else:
        raise LoadError(f"Cannot read an upload of type {type(data).__name__}; give bytes or a file.")


_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9._ ()+-]")  # what an uploaded name may not carry into a file name


class _Unlinker:
    """Removes the spooled upload when the model that holds it goes away, or at exit at the latest."""

    def __init__(self, tmp):
        self.tmp = tmp
        _SPOOLED.add(self)

    def __del__(self):
        self.remove()

    def remove(self) -> None:
        try:
            self.tmp.close()
            os.unlink(self.tmp.name)
            os.rmdir(os.path.dirname(self.tmp.name))
        except OSError:
            pass


_SPOOLED: weakref.WeakSet = weakref.WeakSet()  # uploads still on disk


@atexit.register
def _remove_spooled() -> None:
    """Objects alive at exit (caches, session state) are not reliably finalized: remove their files."""
    for unlinker in list(_SPOOLED):
        unlinker.remove()


def from_hub(source: str, policy: Policy | None = None) -> Located:
    """A Hub source ('owner/name[/folder or file][@revision]'): config.json and the weights it uses, via the
    local Hugging Face cache (adapters/hub.py)."""
    from . import hub  # hub builds on this module's folder readers

    return hub.fetch(parse_hub_source(source), policy or Policy.from_env())


def adapter_folder(source, policy: Policy | None = None) -> str | None:
    """The folder of the LoRA adapter `source` names, or None when it names a model: a local adapter folder, or a
    Hub repo that is one (its two files downloaded to the Hub cache, nothing of a model). Within the policy, so
    hosted, a path is refused as in `locate`. The Compare page and `report.py --compare` merge it over A."""
    policy = policy or Policy.from_env()
    if not isinstance(source, (str, os.PathLike)):
        return None  # an upload is weights
    kind, value = policy.classify(os.fspath(source))
    if kind == "path":
        return value if os.path.isfile(os.path.join(value, "adapter_config.json")) else None
    from . import hub

    return hub.adapter_folder(parse_hub_source(value), policy)


def locate(source, policy: Policy | None = None) -> Located:
    """Any source -> Located, within the policy (default: from the environment).

    Strings are classified by the policy (paths only outside hosted mode); anything else is an
    upload. The total size of the weight files is checked before any header is parsed.
    """
    policy = policy or Policy.from_env()
    if not isinstance(source, (str, os.PathLike)):
        return from_upload(source, getattr(source, "name", None) or "upload.safetensors", policy.max_model_bytes)
    kind, value = policy.classify(os.fspath(source))
    if kind == "path" and os.path.isfile(os.path.join(value, "adapter_config.json")):
        from .lora import locate_adapter  # an adapter folder: its base's files, with the adapter named
        return locate_adapter(value, lambda base: locate(base, policy))
    located = from_path(value) if kind == "path" else from_hub(value, policy)
    try:
        total = sum(os.path.getsize(f) for f in located.files)
    except OSError as e:
        raise LoadError(f"Cannot read {located.display}: {e.strerror or e}.") from e
    policy.check_size(total, located.display)
    return located
