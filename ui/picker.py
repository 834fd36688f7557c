"""The sidebar model picker shared by every page.

Hosted (see ui/session.is_hosted) it offers Hub ids and uploads only. Uploads go through
ui/uploads.take_upload, so a large upload does not stay in the server's memory.
"""
from __future__ import annotations

import streamlit as st

from adapters import LoadError, hub
from adapters.policy import HubSource, parse_hub_source
from adapters.units import human_bytes
from bundled import BUNDLED_NAME, minilm_path
from topics import results
from topics.run import step_revisions
from ui import url_state
from ui.uploads import take_upload
from ui.session import (
    HEADS_KEY,
    NEEDS_HEADS_KEY,
    SOURCE_KEY,
    UploadRef,
    current_source,
    display_name,
    is_hosted,
    policy,
)

# One click away for a user who is online; the bundled model needs no network.
SUGGESTED = ["gpt2", "EleutherAI/pythia-160m", "Qwen/Qwen2.5-0.5B", "facebook/opt-125m",
             "bert-base-uncased", "HuggingFaceTB/SmolLM2-135M"]
DEFAULT_REVISION, WHOLE_REPO = "(default branch)", "(the model, as the repo lays it out)"
OTHER_HUB, PATH, UPLOAD = "Another Hub id…", "A local folder or file…", "Upload a .safetensors or .gguf file…"
RESULTS = "A results folder (a report's metrics.parquet)…"  # topics/results.py: shown without the weights


def model_picker() -> None:
    st.sidebar.header("Model")
    hosted = is_hosted()
    choices = (([BUNDLED_NAME] if minilm_path() else []) + SUGGESTED + [OTHER_HUB]
               + ([] if hosted else [PATH, RESULTS]) + [UPLOAD])
    _restore_from_url(choices)
    choice = st.sidebar.selectbox("Checkpoint", choices, key="picker_choice",
                                  index=choices.index(_choice_for(current_source(), choices)))
    if choice not in choices:  # a stale choice (e.g. the path option, once hosted)
        choice = OTHER_HUB
    source = None
    if choice == BUNDLED_NAME:
        source = minilm_path()
    elif choice in SUGGESTED:
        source = choice
    elif choice == OTHER_HUB:
        text = st.sidebar.text_input("Hub id, a folder or file in it, or a Hub address", key="picker_hub",
                                     placeholder="EleutherAI/pythia-70m@main",
                                     help="owner/name[@revision] · owner/name/sub/folder · "
                                          "owner/name/path/file.safetensors · or paste the model's Hub page")
        source = hub_choices(text.strip()) if text.strip() else None
    elif choice == PATH:
        text = st.sidebar.text_input("Folder or .safetensors path", key="picker_path")
        source = text.strip() or None
    elif choice == RESULTS:
        text = st.sidebar.text_input("Folder with metrics.parquet (report.py --out)", key="picker_results",
                                     help="The spectral and health pages show its numbers; the weights are not read.")
        source = text.strip() or None
    else:
        take_upload(st.sidebar, "Weights (.safetensors, .gguf)", "picker_upload", SOURCE_KEY)
    if source is not None and source != st.session_state.get(SOURCE_KEY):
        st.session_state[SOURCE_KEY] = source
    heads = None
    if st.session_state.get("picker_heads") or st.session_state.get(NEEDS_HEADS_KEY) == repr(
            st.session_state.get(SOURCE_KEY)):  # only when the checkpoint does not say (or a head count was given)
        heads = st.sidebar.number_input("Heads", min_value=0, step=1, key="picker_heads",
                                        help="The checkpoint does not say how many attention heads it has: enter "
                                             "it for the per-head views (0 = unknown). Uploading its config.json "
                                             "with the weights does the same.")
    st.session_state[HEADS_KEY] = int(heads or 0) or None
    _publish(st.session_state.get(SOURCE_KEY), st.session_state[HEADS_KEY])
    st.sidebar.caption(f"Looking at: **{display_name(st.session_state.get(SOURCE_KEY))}**")
    if hosted:
        st.sidebar.caption("Hosted: Hub ids and uploads only, within a size limit.")


def _restore_from_url(choices: list[str]) -> None:
    """Once per session: the model and head count a link names, set as if they had been chosen in the sidebar (the
    source is then opened under the same policy as a typed one)."""
    source = url_state.first_sight(url_state.MODEL)
    if source:
        source = minilm_path() if source == url_state.BUNDLED else source
        if source:
            choice = _choice_for(source, choices)
            st.session_state.update({SOURCE_KEY: source, "picker_choice": choice})
            if choice in (OTHER_HUB, PATH):
                st.session_state["picker_hub" if choice == OTHER_HUB else "picker_path"] = source
    heads = url_state.first_sight(url_state.HEADS)
    if heads and heads.isdigit():
        st.session_state["picker_heads"] = int(heads)


def _publish(source, heads: int | None) -> None:
    """The model in the URL: a Hub id or path as typed, the bundled model by name; an upload cannot be linked to."""
    if isinstance(source, UploadRef) or not isinstance(source, str):
        url_state.publish(url_state.MODEL, None)
    else:
        url_state.publish(url_state.MODEL, url_state.BUNDLED if source == minilm_path() else source)
    url_state.publish(url_state.HEADS, heads)


def hub_choices(text: str, where=None, key: str = "picker") -> str:
    """Under a typed Hub id: its branches and tags, and its weight files with their sizes when it has more than
    one, so a training run's revisions (step1000, ...) and one GGUF of a dozen can be picked. The source string
    chosen; the text itself when the Hub cannot be asked (offline, or not a Hub id). Drawn in `where` (the
    sidebar by default; the Compare page's B in the page), with widget keys '<key>_revision', '<key>_weights'."""
    where = where or st.sidebar
    try:
        kind, canonical = policy().classify(text)
    except LoadError:
        return text  # the page says what is wrong with it
    listing = _hub_listing(canonical, is_hosted()) if kind == "hub" else None
    if listing is None:
        return text
    found = parse_hub_source(canonical)
    branches, tags, files = listing
    revisions = [DEFAULT_REVISION, *branches, *[t for t in tags if t not in branches]]
    if found.revision and found.revision not in revisions:
        revisions.append(found.revision)  # a commit hash
    revision = where.selectbox("Revision (branch or tag)", revisions, key=f"{key}_revision",
                               index=revisions.index(found.revision) if found.revision else 0)
    path = found.path
    if len(files) > 1 and not found.is_file:
        labels = {WHOLE_REPO: WHOLE_REPO, **{f: f"{f} ({human_bytes(n) if n is not None else '?'})"
                                             for f, n in files}}
        options = [WHOLE_REPO, *[f for f, _ in files]]
        chosen = where.selectbox("Weights file", options, key=f"{key}_weights", format_func=labels.get,
                                 help="Only the chosen file is downloaded.")
        path = found.path if chosen == WHOLE_REPO else chosen
    return HubSource(found.repo, None if revision == DEFAULT_REVISION else revision, path).text


@st.cache_data(ttl=300, show_spinner=False, max_entries=64)
def _hub_listing(source: str, hosted: bool) -> tuple[list[str], list[str], list[tuple[str, int | None]]] | None:
    """(branches, tags, [(weight file, bytes)]) of a Hub source's repo, or None when the Hub cannot be asked."""
    found, pol = parse_hub_source(source), policy()
    if hub.offline():
        return None
    try:
        branches, tags = hub.refs(found.repo, pol)
    except Exception:  # noqa: BLE001 - the listing is a convenience: opening the model says what went wrong
        return None
    try:  # a repo of step branches may have no main: its revisions are listed all the same
        sizes = hub.sizes_of(hub.model_info(HubSource(found.repo, found.revision), pol))
    except Exception:  # noqa: BLE001
        sizes = {}
    return branches, tags, [(f, sizes[f]) for f in hub.weight_files(sizes)]


def hub_step_revisions(text: str) -> list[str] | None:
    """The step-named branches and tags of a typed Hub id without a revision ('EleutherAI/pythia-70m': step0 …
    step143000), by step; None when it is not one, has none, or the Hub cannot be asked."""
    try:
        kind, canonical = policy().classify(text)
    except LoadError:
        return None
    if kind != "hub" or parse_hub_source(canonical).revision:
        return None
    listing = _hub_listing(canonical, is_hosted())
    revisions = step_revisions([*listing[0], *listing[1]]) if listing else []
    return revisions or None


def _choice_for(source, choices: list[str]) -> str:
    if source == minilm_path() and BUNDLED_NAME in choices:
        return BUNDLED_NAME
    if isinstance(source, str) and source in SUGGESTED:
        return source
    if source is None:
        return choices[0]
    if not isinstance(source, str):
        return UPLOAD
    if results.is_results_folder(source) and RESULTS in choices:
        return RESULTS
    looks_local = source.startswith((".", "/", "~")) or source.endswith((".safetensors", ".bin", ".gguf"))
    return PATH if looks_local and PATH in choices else OTHER_HUB
