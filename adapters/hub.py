"""Hub models: which files a repo's model is, fetched through the local Hugging Face cache.

    located = fetch(parse_hub_source("owner/name/checkpoint-500@main"), Policy.from_env())
    with progress_to(lambda done, total, name: ...):   # bytes so far, bytes in all, the file
        located = fetch(...)

Only config.json and the weights the model uses are fetched (which files: adapters/hub_files.py). The
sizes come from `model_info` first, so a model over the limit is refused before any download. When the Hub
cannot be reached (a connection error, a timeout, a 5xx), the cached copy is opened, with a notice saying so.
A repo that is a LoRA adapter (peft's two files, no model) opens as its base model with the adapter merged.
"""
from __future__ import annotations

import contextlib
import contextvars
import json
import os
import re
import time
import weakref

from .errors import LoadError
from .hub_files import adapter_files, candidates, plan, sizes_of, weight_files
from .policy import HubSource, Policy
from .sources import Located, read_config
from .units import human_bytes

INFO_TIMEOUT_S = 10.0  # a Hub that accepts the connection and never answers is a Hub that is down
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
__all__ = ["DownloadCancelled", "adapter_folder", "candidates", "fetch", "model_info", "plan", "progress_text",
           "progress_to", "refs", "sizes_of", "weight_files"]  # which files (candidates, plan, sizes_of, weight_files): adapters/hub_files.py


class DownloadCancelled(LoadError):
    """The progress callback asked to stop; the part fetched so far stays in the cache and resumes later."""


# ---- progress ------------------------------------------------------------------------------------------
_PROGRESS: contextvars.ContextVar = contextvars.ContextVar("hub_progress", default=None)


@contextlib.contextmanager
def progress_to(callback):
    """Within the block, downloads call `callback(done_bytes, total_bytes, file)`; it may raise
    DownloadCancelled (or any exception) to stop the download."""
    token = _PROGRESS.set(callback)
    try:
        yield
    finally:
        _PROGRESS.reset(token)


def _tqdm_for(callback, done_before: int, total: int, name: str):
    """A stand-in for tqdm that huggingface_hub's download loop updates: it forwards the running byte count."""

    class _Bar:
        def __init__(self, *args, initial: int = 0, **kwargs):
            self.n = initial  # bytes of this file (a resumed download starts from what is on disk)
            callback(done_before + self.n, total, name)

        def update(self, n: int = 1) -> None:
            self.n += n
            callback(done_before + self.n, total, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc) -> None:
            return None

        def close(self) -> None:
            return None

    return _Bar


# ---- the repos open right now (never evicted) -----------------------------------------------------------
class _OpenMark:
    """Kept in a Located's keepalive: while the model holds it, its repo's cache folder is in use."""

    def __init__(self, folder: str):
        self.folder = folder
        _OPEN.add(self)


_OPEN: weakref.WeakSet = weakref.WeakSet()


def open_repo_folders() -> set[str]:
    return {os.path.realpath(m.folder) for m in list(_OPEN)}


def make_room(needed: int, budget: int, cache_dir: str, keep: str) -> list[str]:
    """Delete the least recently used repos from the Hub cache until `needed` more bytes fit in `budget`;
    never `keep` (the repo about to be fetched) nor one a model holds open. Returns the repo ids removed."""
    from huggingface_hub import scan_cache_dir

    if not os.path.isdir(cache_dir):
        return []
    cache = scan_cache_dir(cache_dir)
    used, removed, busy = cache.size_on_disk, [], open_repo_folders()
    for repo in sorted(cache.repos, key=lambda r: r.last_accessed):
        if used + needed <= budget:
            break
        if repo.repo_type != "model" or repo.repo_id == keep or os.path.realpath(repo.repo_path) in busy:
            continue
        cache.delete_revisions(*[r.commit_hash for r in repo.revisions]).execute()
        used -= repo.size_on_disk
        removed.append(repo.repo_id)
    if used + needed > budget:
        raise LoadError(f"The Hub cache has room for {human_bytes(max(budget - used, 0))} more "
                        f"(WEIGHTS_HUB_CACHE_MAX_BYTES {human_bytes(budget)}), and this model needs "
                        f"{human_bytes(needed)} while the other cached models are open. Try again later.")
    return removed


# ---- fetching ------------------------------------------------------------------------------------------
def _hf():
    try:
        import huggingface_hub
        from huggingface_hub import constants
    except ImportError as e:
        raise LoadError("huggingface_hub is not installed, so Hub ids cannot be opened.") from e
    return huggingface_hub, constants


def offline() -> bool:
    return _hf()[1].is_offline_mode()


def _unreachable(error: BaseException) -> bool:
    """A connection error, a timeout or a 5xx: the Hub is down or out of reach, and the cache may answer."""
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    if isinstance(error, OfflineModeIsEnabled):
        return True
    if isinstance(error, HfHubHTTPError):
        response = getattr(error, "response", None)
        return response is not None and response.status_code >= 500
    name = type(error).__module__.split(".")[0]
    return name.startswith("httpx") or isinstance(error, (ConnectionError, TimeoutError))


def _problem(error: BaseException, source: HubSource) -> LoadError:
    """One sentence for a Hub error that the cache cannot answer."""
    from huggingface_hub.errors import (
        EntryNotFoundError,
        GatedRepoError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    if isinstance(error, GatedRepoError):
        return LoadError(f"{source.repo} is gated: accept its licence on the Hub and log in (HF_TOKEN).")
    if isinstance(error, RepositoryNotFoundError):
        return LoadError(f"No model {source.repo!r} on the Hub (or it is private). Check the id.")
    if isinstance(error, RevisionNotFoundError):
        return LoadError(f"{source.repo} has no revision {source.revision!r}. Check the branch, tag or commit.")
    if isinstance(error, EntryNotFoundError):
        return LoadError(f"{source.text} names a file the Hub does not have. Check the path.")
    text = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
    return LoadError(f"Could not download {source.repo} from the Hub: {text}. Try again later.")


def model_info(source: HubSource, policy: Policy):
    """The repo's `model_info(files_metadata=True)` at the source's revision, with the policy's token."""
    hf, constants = _hf()
    return hf.HfApi(endpoint=constants.ENDPOINT).model_info(
        source.repo, revision=source.revision, files_metadata=True, token=policy.token(source.repo),
        timeout=INFO_TIMEOUT_S)


def refs(repo: str, policy: Policy) -> tuple[list[str], list[str]]:
    """The repo's branch and tag names (a training run's checkpoints are often tags or branches: step1000)."""
    hf, constants = _hf()
    found = hf.HfApi(endpoint=constants.ENDPOINT).list_repo_refs(repo, token=policy.token(repo))
    return sorted(b.name for b in found.branches), sorted(t.name for t in found.tags)


def fetch(source: HubSource, policy: Policy) -> Located:
    """config.json and the weights `source` needs, via the local Hugging Face cache (see the module's doc); an
    adapter repo: its base model (adapter_config.json's base_model_name_or_path) with the adapter merged."""
    found = _fetch(source, policy)
    return found if isinstance(found, Located) else _over_its_base(found, policy)


def adapter_folder(source: HubSource, policy: Policy) -> str | None:
    """The cache folder of the LoRA adapter `source` is (its two files downloaded), or None when it is a model;
    nothing of a model is downloaded. The Compare page merges such an adapter over the model on screen."""
    found = _fetch(source, policy, adapter_only=True)
    return found if isinstance(found, str) else None


def _over_its_base(folder: str, policy: Policy) -> Located:
    from .lora import locate_adapter
    from .sources import locate  # locate() reaches this module for Hub sources

    return locate_adapter(folder, lambda base: locate(base, policy))


def _fetch(source: HubSource, policy: Policy, adapter_only: bool = False) -> Located | str | None:
    """The model's files (a Located), or the folder of the adapter the source is (a str); None for a model
    when `adapter_only`."""
    hf, constants = _hf()
    if offline():
        return from_cache(source, None, adapter_only)
    try:
        info = model_info(source, policy)
    except Exception as e:  # noqa: BLE001 - network errors come in many types; sorted just below
        if _unreachable(e):
            return from_cache(source, f"the Hub could not be reached ({_first_line(e)})", adapter_only)
        raise _problem(e, source) from e
    sizes = sizes_of(info)
    commit = info.sha if isinstance(info.sha, str) and _COMMIT.match(info.sha) else None
    revision = source.revision or "main"

    def download(path: str, done: int = 0, total: int = 0) -> str:
        callback = _PROGRESS.get()
        bar = _tqdm_for(callback, done, total, path) if callback else None
        try:
            return hf.hf_hub_download(source.repo, path, revision=revision, cache_dir=constants.HF_HUB_CACHE,
                                      endpoint=constants.ENDPOINT, token=policy.token(source.repo),
                                      tqdm_class=bar)
        except LoadError:
            raise
        except Exception as e:  # noqa: BLE001
            raise _problem(e, source) from e

    adapter = adapter_files(sizes, source)
    if adapter:  # the adapter's own size here; its base's when the base is located
        policy.check_size(sum(sizes[f] or 0 for f in adapter), source.text)
        local = [download(path) for path in adapter]
        return os.path.dirname(local[0])  # both files, side by side in the snapshot
    if adapter_only:
        return None
    chosen = plan(sizes, source, lambda path: _read_json(download(path)))
    policy.check_size(chosen.nbytes, source.text)
    repo_folder = _repo_folder(source.repo)
    if policy.hub_cache_max_bytes is not None:
        cached = os.path.join(repo_folder, "snapshots", commit or "-")
        missing = sum(sizes[f] for f in chosen.files if not os.path.exists(os.path.join(cached, f)))
        if missing:
            make_room(missing, policy.hub_cache_max_bytes, constants.HF_HUB_CACHE, source.repo)
    paths, done = [], 0
    for path in chosen.files:
        paths.append(download(path, done, chosen.nbytes))
        done += sizes[path]
    # By the revision's name, not info.sha, so the cache's refs/<branch> is written and the model opens offline
    # later; if the branch moved meanwhile, locate() checks the size of what is on disk again.
    snapshot = _snapshot_of(paths[-1], chosen.files[-1])
    return _located(source, snapshot, chosen.weights, chosen.is_torch, repo_folder, None)


def _repo_folder(repo: str) -> str:
    """The repo's folder in the Hub cache (huggingface_hub's layout: models--owner--name)."""
    return os.path.join(_hf()[1].HF_HUB_CACHE, "models--" + repo.replace("/", "--"))


def _snapshot_of(local: str, repo_path: str) -> str:
    """The snapshot folder (snapshots/<commit>) a downloaded file's path is in."""
    folder = local
    for _ in range(repo_path.count("/") + 1):
        folder = os.path.dirname(folder)
    return folder


def from_cache(source: HubSource, why: str | None, adapter_only: bool = False) -> Located | str | None:
    """The cached snapshot of `source` (offline, or the Hub down: `why`), or one clear error; an adapter's folder
    (a str) as online, and None for a model when `adapter_only`."""
    repo_folder = _repo_folder(source.repo)
    revision = source.revision or "main"
    commit = revision if _COMMIT.match(revision) else _read_ref(repo_folder, revision)
    snapshot = os.path.join(repo_folder, "snapshots", commit) if commit else None
    located = None
    if snapshot and os.path.isdir(snapshot):
        adapter = adapter_files(_snapshot_sizes(snapshot), source)
        if adapter:
            return os.path.dirname(os.path.join(snapshot, adapter[0]))
        if adapter_only:
            return None
        try:  # the same choice of files as online, from what the snapshot holds
            chosen = plan(_snapshot_sizes(snapshot), source, lambda path: _read_json(os.path.join(snapshot, path)))
            located = _located(source, snapshot, chosen.weights, chosen.is_torch, repo_folder,
                               f"{why}; opened the cached commit {commit[:7]} of {revision}" if why else None)
        except LoadError:
            located = None  # an incomplete snapshot (a shard missing): as good as not cached
    if located is not None:
        return located
    if why:
        raise LoadError(f"{source.text} is not in the local Hugging Face cache, and {why}. Try again later; "
                        "to work from the cache alone, set HF_HUB_OFFLINE=1.")
    raise LoadError(f"{source.text} is not in the local Hugging Face cache and the Hub is not used "
                    "(HF_HUB_OFFLINE=1, offline). Connect once to download it, or open a local folder.")


def _snapshot_sizes(snapshot: str) -> dict[str, int | None]:
    """Every file a cached snapshot holds (links into the repo's blobs) -> its size."""
    sizes = {}
    for folder, _, names in os.walk(snapshot):
        for name in names:
            path = os.path.join(folder, name)
            try:
                sizes[os.path.relpath(path, snapshot).replace(os.sep, "/")] = os.path.getsize(path)
            except OSError:  # a dangling link: the blob was removed
                continue
    return sizes


def _read_json(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError, RecursionError) as e:
        raise LoadError(f"{os.path.basename(path)} is not valid JSON ({str(e)[:100]}).") from e


def _read_ref(repo_folder: str, revision: str) -> str | None:
    try:
        with open(os.path.join(repo_folder, "refs", revision), encoding="ascii") as f:
            commit = f.read().strip()
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return commit if _COMMIT.match(commit) else None


def _located(source: HubSource, snapshot: str, weights: list[str], is_torch: bool, repo_folder: str,
             notice: str | None) -> Located:
    """A Located over the snapshot's files; each must stay in the repo's cache folder (its blobs)."""
    bound = os.path.realpath(repo_folder)
    files = [os.path.join(snapshot, w) for w in weights]
    for f in files:
        real = os.path.realpath(f)
        if os.path.commonpath([bound, real]) != bound or not os.path.isfile(real):
            raise LoadError(f"{os.path.basename(f)} of {source.repo} is missing from the cache or leads out of "
                            "it; it is not opened.")
        now = time.time()
        os.utime(real, (now, os.stat(real).st_mtime))  # the cache budget evicts by last access
    folder = os.path.dirname(files[0])
    commit = os.path.basename(snapshot)
    identity = f"hub:{source.repo}@{commit}" + (f"/{source.path}" if source.path else "")
    located = Located(files, read_config(os.path.join(folder, "config.json"))
                      or read_config(os.path.join(snapshot, "config.json")),
                      identity, source.text, "hub", is_torch, notice=notice)
    located.keepalive.append(_OpenMark(repo_folder))
    return located


def _first_line(error: BaseException) -> str:
    text = str(error).splitlines()[0][:120] if str(error) else ""
    return text or type(error).__name__


def progress_text(done: int, total: int, seconds: float, name: str = "") -> str:
    """'12.0 MB of 2.0 GB · 4.0 MB/s · 8 min left · model-00001-of-00002.safetensors' for a download under way."""
    rate = done / seconds if seconds >= 1.0 and done else 0.0  # the first second is mostly requests, not bytes
    parts = [f"{human_bytes(done)} of {human_bytes(total)}" if total else human_bytes(done)]
    if rate:
        parts.append(f"{human_bytes(int(rate))}/s")
        if total > done:
            left = (total - done) / rate
            parts.append(f"{left:.0f} s left" if left < 90 else f"{left / 60:.0f} min left")
    if name:
        parts.append(os.path.basename(name))
    return " · ".join(parts)
