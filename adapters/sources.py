"""Find a checkpoint's bytes: a Hub id, a local folder, a single file, or uploaded bytes.

Each resolver returns a `Located`: the weight files to open, the parsed config.json (plain
JSON, never code) and an identity string that changes when the files change, for caching.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass, field

from .errors import LoadError

SAFE_PATTERNS = ["config.json", "model.safetensors.index.json", "*.safetensors"]
BIN_PATTERNS = ["config.json", "pytorch_model.bin.index.json", "pytorch_model*.bin"]
# Hub ids: "name" or "owner/name", letters, digits, '-', '_', '.'; no '..', no leading/trailing '-' or '.'
HUB_ID = re.compile(r"^(?!.*\.\.)(?:[A-Za-z0-9][A-Za-z0-9._-]{0,95}/)?[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
REVISION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$")


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


def file_identity(paths: list[str]) -> str:
    """path + size + mtime of every file: cheap, and changes when the files do."""
    parts = []
    for p in paths:
        st = os.stat(p)
        parts.append(f"{os.path.realpath(p)}:{st.st_size}:{st.st_mtime_ns}")
    return "|".join(parts)


def read_config(path: str) -> dict | None:
    """config.json as plain JSON (nothing in it is executed), or None when absent."""
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            cfg = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise LoadError(f"{path} is not valid JSON: {e}.") from e
    if not isinstance(cfg, dict):
        raise LoadError(f"{path} does not hold a JSON object.")
    return cfg


def _weights_in_folder(folder: str) -> tuple[list[str], bool]:
    """The weight files of a Hugging Face folder: safetensors first, else torch .bin."""
    for index_name, single, is_torch in (("model.safetensors.index.json", "model.safetensors", False),
                                         ("pytorch_model.bin.index.json", "pytorch_model.bin", True)):
        index = os.path.join(folder, index_name)
        if os.path.isfile(index):
            try:
                with open(index, encoding="utf-8") as f:
                    weight_map = json.load(f)["weight_map"]
                shards = sorted(set(weight_map.values()))
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
                raise LoadError(f"{index} is not a valid shard index: {e}.") from e
            paths = [os.path.join(folder, s) for s in shards]
            missing = [s for s, p in zip(shards, paths) if not os.path.isfile(p) or "/" in s or ".." in s]
            if missing:
                raise LoadError(f"{index} names shards that are not in the folder: {', '.join(missing[:3])}.")
            return paths, is_torch
        if os.path.isfile(os.path.join(folder, single)):
            return [os.path.join(folder, single)], is_torch
    loose = sorted(f for f in os.listdir(folder) if f.endswith(".safetensors"))
    if loose:
        return [os.path.join(folder, f) for f in loose], False
    raise LoadError(f"No weights in {folder}: expected model.safetensors, a sharded "
                    "model.safetensors.index.json, or pytorch_model.bin.")


def from_path(path: str) -> Located:
    """A local folder (Hugging Face layout) or a single weights file."""
    real = os.path.realpath(path)
    if os.path.isdir(real):
        files, is_torch = _weights_in_folder(real)
        return Located(files, read_config(os.path.join(real, "config.json")), file_identity(files),
                       path, "folder", is_torch)
    if not os.path.exists(real):
        raise LoadError(f"{path} does not exist. Give a folder, a .safetensors file, or a Hub id like 'gpt2'.")
    if not os.path.isfile(real):
        raise LoadError(f"{path} is not a regular file or folder.")
    is_torch = real.endswith((".bin", ".pt", ".pth"))
    sibling = os.path.join(os.path.dirname(real), "config.json")
    return Located([real], read_config(sibling), file_identity([real]), path, "file", is_torch)


def from_upload(data, name: str = "upload.safetensors") -> Located:
    """Uploaded bytes or a file-like object, spooled to an unlinked temp file in chunks.

    The upload is copied to disk a slice at a time (never a second full copy in memory), so
    the caller can drop its bytes once the model is open; the open descriptor keeps the
    unlinked file alive until the model is garbage-collected.
    """
    view = _buffer_of(data)
    tmp = tempfile.NamedTemporaryFile(prefix="weights-", suffix=".safetensors", delete=False)
    try:
        chunk = 16 * 1024 * 1024
        if view is not None:
            for i in range(0, len(view), chunk):
                tmp.write(view[i:i + chunk])
        else:
            while block := data.read(chunk):
                tmp.write(block)
        tmp.flush()
    except OSError as e:
        tmp.close()
        os.unlink(tmp.name)
        raise LoadError(f"Could not store the upload: {e}.") from e
    identity = f"upload:{name}:{os.path.getsize(tmp.name)}:{_digest(tmp.name)}"
    located = Located([tmp.name], None, identity, name, "upload",
                      is_torch=name.endswith((".bin", ".pt", ".pth")))
    located.keepalive.append(_Unlinker(tmp))
    return located


def _buffer_of(data):
    if isinstance(data, (bytes, bytearray, memoryview)):
        return memoryview(data).cast("B")
    if hasattr(data, "getbuffer"):  # BytesIO and Streamlit's UploadedFile: zero-copy view
        return data.getbuffer().cast("B")
    if hasattr(data, "read"):
        return None
    raise LoadError(f"Cannot read an upload of type {type(data).__name__}.")


def _digest(path: str) -> str:
    """A content hash of the upload's header (first MiB) and size: cheap and stable."""
    import hashlib

    with open(path, "rb") as f:
        return hashlib.sha1(f.read(1 << 20)).hexdigest()[:16]


class _Unlinker:
    """Removes the spooled upload when the model that holds it goes away."""

    def __init__(self, tmp):
        self.tmp = tmp

    def __del__(self):
        try:
            self.tmp.close()
            os.unlink(self.tmp.name)
        except OSError:
            pass


def parse_hub_id(source: str) -> tuple[str, str | None]:
    """Split 'owner/name@revision' and check both against the Hub's rules."""
    repo, _, revision = source.partition("@")
    if not HUB_ID.match(repo):
        raise LoadError(f"{source!r} is not a Hub model id (like 'gpt2' or 'EleutherAI/pythia-160m'), "
                        "nor an existing file or folder.")
    if revision and not REVISION.match(revision):
        raise LoadError(f"{revision!r} is not a valid revision.")
    return repo, revision or None


def from_hub(source: str) -> Located:
    """Download config.json and the safetensors (else the .bin) of a Hub model into the HF cache."""
    repo, revision = parse_hub_id(source)
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import (GatedRepoError, LocalEntryNotFoundError,
                                            RepositoryNotFoundError, RevisionNotFoundError)
    except ImportError as e:
        raise LoadError("huggingface_hub is not installed, so Hub ids cannot be opened.") from e
    try:
        folder = snapshot_download(repo, revision=revision, allow_patterns=SAFE_PATTERNS)
        if not any(f.endswith(".safetensors") for f in os.listdir(folder)):
            folder = snapshot_download(repo, revision=revision, allow_patterns=BIN_PATTERNS)
    except GatedRepoError as e:
        raise LoadError(f"{repo} is gated: accept its licence on the Hub and log in (HF_TOKEN).") from e
    except RepositoryNotFoundError as e:
        raise LoadError(f"No model {repo!r} on the Hub (or it is private).") from e
    except RevisionNotFoundError as e:
        raise LoadError(f"{repo} has no revision {revision!r}.") from e
    except LocalEntryNotFoundError as e:
        raise LoadError(f"{repo} is not in the local cache and the Hub cannot be reached "
                        "(offline?). Connect once, or open a local folder.") from e
    except Exception as e:  # network errors come in many types
        raise LoadError(f"Could not download {repo} from the Hub: {str(e).splitlines()[0][:200]}.") from e
    files, is_torch = _weights_in_folder(folder)
    commit = os.path.basename(os.path.normpath(folder))  # snapshot folders are named by commit hash
    return Located(files, read_config(os.path.join(folder, "config.json")), f"hub:{repo}@{commit}",
                   source, "hub", is_torch)


def locate(source) -> Located:
    """Any source -> Located. Strings that exist on disk are paths; other strings are Hub ids."""
    if not isinstance(source, (str, os.PathLike)):
        return from_upload(source, getattr(source, "name", "upload.safetensors"))
    text = os.fspath(source).strip()
    if not text:
        raise LoadError("No model given.")
    if os.path.exists(text) or text.startswith(("/", "./", "../", "~")) or text.endswith(
            (".safetensors", ".bin")):
        return from_path(os.path.expanduser(text))
    return from_hub(text)
