"""Which sources may be opened, and how large they may be: the rules that make the app safe to host.

    policy = Policy.from_env()                 # WEIGHTS_HOSTED, WEIGHTS_MAX_MODEL_BYTES
    kind, value = policy.classify("gpt2@main")  # ("hub", "gpt2@main")
    policy.check_size(3 * GB, "gpt2")           # LoadError when over the limit

Hosted: only Hub ids (and uploads, and the folders named in `trusted_paths`, such as the
bundled model) are opened; local mode also opens local files and folders. No Streamlit
here: the UI reads its secrets and passes `hosted=`.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from urllib.parse import unquote

from .errors import LoadError
from .units import human_bytes

GB = 10**9
HOSTED_MAX_BYTES = 2 * GB
LOCAL_MAX_BYTES = 1000 * GB  # generous: local files are read lazily, never downloaded
HOSTED_CACHE_BYTES = 10 * GB  # the Hub cache on a small host: a few models of the 2 GB limit, then LRU eviction

# Hub ids (huggingface_hub.utils.validate_repo_id): "name" or "owner/name", ASCII letters, digits,
# '-', '_', '.'; a part neither starts nor ends with '-' or '.'; no '--' or '..'; at most 96 characters.
_PART = r"[A-Za-z0-9_](?:[A-Za-z0-9._-]*[A-Za-z0-9_])?"
HUB_ID = re.compile(rf"^(?:{_PART}/)?{_PART}$")
# A branch, tag or commit: git's ref rules, as far as they matter here ('refs/pr/1' is valid).
REVISION = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._/-]{0,127}$")
URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")  # file:, https:, hf:, s3: ... (one letter would be C:)
_WEB_URL = re.compile(r"^https?://([^/?#]+)(/[^?#]*)?")  # host, path (a query such as ?download=true dropped)
_HUB_HOSTS = {"huggingface.co", "hf.co"}
# Weight files a Hub source may name directly ('owner/name/dir/model-q4.gguf'); a path ending otherwise is a folder.
HUB_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt", ".pth")
_PATH_PART = re.compile(r"^[^\x00-\x1f\\]{1,255}$")  # a file or folder name in a repo: no controls, no backslash


def env_hosted(environ=None) -> bool:
    """WEIGHTS_HOSTED is set to 1 / true / yes / on."""
    value = (os.environ if environ is None else environ).get("WEIGHTS_HOSTED", "")
    return value.strip().lower() in {"1", "true", "yes", "on"}


def parse_bytes(text: str) -> int:
    """'2000000000', '2e9', '2GB', '500 MB' -> bytes."""
    m = re.fullmatch(r"\s*([0-9.eE+]+)\s*([KMGT]?)I?B?\s*", str(text).upper())
    try:
        number = float(m.group(1)) if m else -1.0
    except ValueError:
        number = -1.0
    if not 0 < number < float("inf"):  # '1e400' parses as inf, which no int can hold
        raise LoadError(f"{str(text)[:60]!r} is not a size in bytes (like 2000000000 or 2GB).")
    return int(number * 1000 ** "_KMGT".index(m.group(2) or "_"))


def parse_hub_id(source: str) -> tuple[str, str | None]:
    """Split 'owner/name@revision' and check both against the Hub's rules."""
    repo, _, revision = source.partition("@")
    if not HUB_ID.match(repo) or len(repo) > 96 or "--" in repo or ".." in repo or repo.endswith(".git"):
        why = ("ids have at most one '/'" if repo.count("/") > 1 or "\\" in repo
               else "ids use letters, digits, '-', '_' and '.', with no '..' or '--'")
        raise LoadError(f"{source[:200]!r} is not a Hub model id ({why}). "
                        "Give an id like 'gpt2' or 'EleutherAI/pythia-160m', optionally with @revision.")
    if revision and (not REVISION.match(revision) or ".." in revision or "//" in revision
                     or revision.endswith(("/", "."))):
        raise LoadError(f"{revision[:100]!r} is not a valid revision: give a branch, tag or commit hash "
                        "(like 'main').")
    return repo, revision or None


@dataclass(frozen=True)
class HubSource:
    """A Hub repo, a revision, and a folder or file inside it ('' for the repo's top level)."""
    repo: str
    revision: str | None = None
    path: str = ""

    @property
    def is_file(self) -> bool:
        return self.path.endswith(HUB_WEIGHT_SUFFIXES)

    @property
    def text(self) -> str:
        """The canonical source string: 'owner/name/sub/folder@rev'."""
        return self.repo + (f"/{self.path}" if self.path else "") + (f"@{self.revision}" if self.revision else "")


def parse_hub_source(source: str) -> HubSource:
    """'owner/name[/path/in/repo][@revision]' -> HubSource; a path needs the 'owner/name' form (a one-word id
    such as 'gpt2' cannot be told from a folder). The path is checked part by part: no '.', '..' or empty parts."""
    left, at, revision = source.partition("@")
    parts = left.split("/")
    if len(parts) <= 2:
        return HubSource(*parse_hub_id(source))
    repo, path = "/".join(parts[:2]), "/".join(parts[2:])
    bad = [p for p in path.split("/") if p in ("", ".", "..") or not _PATH_PART.match(p)]
    if bad or len(path) > 1000:
        raise LoadError(f"{source[:200]!r} is not a Hub model id or a path in one (a path in a repo has no '.', "
                        "'..' or empty parts). Give 'owner/name', 'owner/name/folder' or "
                        "'owner/name/folder/file.safetensors', optionally with @revision.")
    repo, revision = parse_hub_id(repo + at + revision)
    return HubSource(repo, revision, path)


def parse_hub_url(text: str, endpoint: str | None = None) -> str | None:
    """A Hub web address (the model page, .../tree/REV/PATH, .../blob/REV/FILE, .../resolve/REV/FILE) on
    huggingface.co, hf.co or the configured `endpoint` -> the source string it names; None for other URLs."""
    m = _WEB_URL.match(text)
    hosts = _HUB_HOSTS | ({_WEB_URL.match(endpoint).group(1).lower()} if endpoint and _WEB_URL.match(endpoint) else set())
    if not m or m.group(1).lower().removeprefix("www.") not in hosts:
        return None
    segments = [unquote(s) for s in (m.group(2) or "").strip("/").split("/") if s]  # refs%2Fpr%2F1 stays one
    if segments[:1] in (["datasets"], ["spaces"]):
        raise LoadError("That address is a dataset or a Space; only models are opened. Give a model's address.")
    if not segments or segments[0] == "models":
        raise LoadError("That Hub address names no model. Paste a model's page, or give an id like 'gpt2'.")
    n_repo = 1 if len(segments) > 1 and segments[1] in ("tree", "blob", "resolve") else 2
    repo, rest = "/".join(segments[:n_repo]), segments[n_repo:]
    if not rest:
        return repo
    if rest[0] not in ("tree", "blob", "resolve") or len(rest) < 2:
        raise LoadError(f"{text[:200]!r} is not a Hub address this app opens: paste the model page, or its "
                        ".../tree/REV/FOLDER, .../blob/REV/FILE or .../resolve/REV/FILE address.")
    revision, path = rest[1], "/".join(rest[2:])
    return f"{repo}{'/' + path if path else ''}@{revision}"


@dataclass(frozen=True)
class Policy:
    """What may be opened. Frozen, so it can be part of a cache key."""
    hosted: bool = False
    max_model_bytes: int = LOCAL_MAX_BYTES
    trusted_paths: tuple[str, ...] = ()  # folders opened even when hosted (the bundled model), as given
    # Hosted: the only repos fetched with the host's HF_TOKEN; a visitor's other ids go out with no token.
    token_repos: tuple[str, ...] = ()
    hub_cache_max_bytes: int | None = None  # the Hub cache's budget; None: unbounded (the local default)

    @classmethod
    def from_env(cls, hosted: bool | None = None, trusted_paths=(), environ=None, token_repos=()) -> Policy:
        """hosted=True (the UI's secrets.toml setting) or WEIGHTS_HOSTED=1 turns hosted mode on;
        WEIGHTS_MAX_MODEL_BYTES overrides the limit (default 2 GB hosted, 1 TB locally);
        WEIGHTS_TOKEN_REPOS (comma-separated) adds to `token_repos`; WEIGHTS_HUB_CACHE_MAX_BYTES sets the
        Hub cache's budget (default 10 GB hosted, none locally)."""
        env = os.environ if environ is None else environ
        hosted = bool(hosted) or env_hosted(env)  # either one turns it on, neither can turn it off
        limit = env.get("WEIGHTS_MAX_MODEL_BYTES")
        limit = parse_bytes(limit) if limit else (HOSTED_MAX_BYTES if hosted else LOCAL_MAX_BYTES)
        budget = env.get("WEIGHTS_HUB_CACHE_MAX_BYTES")
        budget = parse_bytes(budget) if budget else (HOSTED_CACHE_BYTES if hosted else None)
        listed = [*token_repos, *env.get("WEIGHTS_TOKEN_REPOS", "").split(",")]
        return cls(bool(hosted), limit, tuple(os.path.normpath(p) for p in trusted_paths if p),
                   tuple(sorted({r.strip() for r in listed if r and r.strip()})), budget)

    def token(self, repo: str):
        """What huggingface_hub is given as `token=` for `repo`: None (its default: HF_TOKEN or the login)
        locally and for the host's listed repos; False (no token sent) for anything else a visitor types, so
        the host's private and gated repos stay the host's."""
        return None if not self.hosted or repo in self.token_repos else False

    def classify(self, text: str) -> tuple[str, str]:
        """A source string -> ("hub", "owner/name@rev") or ("path", path); LoadError if refused."""
        text = str(text).strip()
        if not text:
            raise LoadError("No model given: choose a Hub id" + ("" if self.hosted else ", a folder or a file") + ".")
        if "\x00" in text or len(text) > 4096:
            raise LoadError("That is not a model id or a path.")
        pasted = parse_hub_url(text, _endpoint())
        if pasted is not None:  # an address copied from the Hub's pages: the source it names, fetched as any id
            parse_hub_source(pasted)
            return "hub", pasted
        if URL.match(text) and (self.hosted or not os.path.exists(text)):
            raise LoadError(f"{text[:200]!r} is a URL; URLs are not opened. Give a Hub id like 'gpt2'"
                            + (" or upload a file." if self.hosted else ", or a local folder or file."))
        if os.path.normpath(text) in self.trusted_paths:  # by name: nothing on disk is probed for it
            return "path", text
        path = os.path.expanduser(text)
        looks_local = text.startswith(("/", ".", "~", "\\")) or text.endswith((".safetensors", ".gguf", ".bin", ".pt", ".pth"))
        # 'owner/name/dir/file.safetensors' names a file in a Hub repo, unless it exists here (locally)
        in_repo = (not text.startswith(("/", ".", "~", "\\")) and not text.endswith("/")
                   and text.partition("@")[0].count("/") >= 2)
        if self.hosted:
            if looks_local and not in_repo:
                raise LoadError("This hosted app does not open files on its server. Give a Hub id like "
                                "'gpt2' or 'owner/name@revision', or upload a .safetensors or .gguf file (with its "
                                "config.json if you have it).")
            return "hub", parse_hub_source(text).text
        if (looks_local and not in_repo) or os.path.exists(path):
            return "path", path
        try:
            text = parse_hub_source(text).text
        except LoadError:
            raise LoadError(f"{text[:200]!r} is neither an existing file or folder nor a Hub id (ids look like "
                            "'gpt2' or 'owner/name@revision'). Check the path or the id.") from None
        return "hub", text

    def check_size(self, nbytes: int, what: str) -> None:
        """Refuse a model whose weights exceed the limit, naming both sizes."""
        if nbytes > self.max_model_bytes:
            raise LoadError(f"{what} is {human_bytes(nbytes)}; this app opens models up to "
                            f"{human_bytes(self.max_model_bytes)} (WEIGHTS_MAX_MODEL_BYTES). "
                            "Choose a smaller model" + (" or run the app locally." if self.hosted else "."))


def _endpoint() -> str | None:
    """The Hub endpoint huggingface_hub is configured with (HF_ENDPOINT), whose addresses are Hub addresses too."""
    try:
        from huggingface_hub import constants
    except ImportError:
        return None
    return constants.ENDPOINT
