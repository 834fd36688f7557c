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

from .errors import LoadError
from .units import human_bytes

GB = 10**9
HOSTED_MAX_BYTES = 2 * GB
LOCAL_MAX_BYTES = 1000 * GB  # generous: local files are read lazily, never downloaded

# Hub ids (huggingface_hub.utils.validate_repo_id): "name" or "owner/name", ASCII letters, digits,
# '-', '_', '.'; a part neither starts nor ends with '-' or '.'; no '--' or '..'; at most 96 characters.
_PART = r"[A-Za-z0-9_](?:[A-Za-z0-9._-]*[A-Za-z0-9_])?"
HUB_ID = re.compile(rf"^(?:{_PART}/)?{_PART}$")
# A branch, tag or commit: git's ref rules, as far as they matter here ('refs/pr/1' is valid).
REVISION = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._/-]{0,127}$")
URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")  # file:, https:, hf:, s3: ... (one letter would be C:)
_HUB_URL = re.compile(r"^https?://(?:www\.)?(?:huggingface\.co|hf\.co)/([^/?#]+(?:/[^/?#]+)?)")


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
class Policy:
    """What may be opened. Frozen, so it can be part of a cache key."""
    hosted: bool = False
    max_model_bytes: int = LOCAL_MAX_BYTES
    trusted_paths: tuple[str, ...] = ()  # folders opened even when hosted (the bundled model), as given

    @classmethod
    def from_env(cls, hosted: bool | None = None, trusted_paths=(), environ=None) -> Policy:
        """hosted=True (the UI's secrets.toml setting) or WEIGHTS_HOSTED=1 turns hosted mode on;
        WEIGHTS_MAX_MODEL_BYTES overrides the limit (default 2 GB hosted, 1 TB locally)."""
        env = os.environ if environ is None else environ
        hosted = bool(hosted) or env_hosted(env)  # either one turns it on, neither can turn it off
        limit = env.get("WEIGHTS_MAX_MODEL_BYTES")
        limit = parse_bytes(limit) if limit else (HOSTED_MAX_BYTES if hosted else LOCAL_MAX_BYTES)
        return cls(bool(hosted), limit, tuple(os.path.normpath(p) for p in trusted_paths if p))

    def classify(self, text: str) -> tuple[str, str]:
        """A source string -> ("hub", "owner/name@rev") or ("path", path); LoadError if refused."""
        text = str(text).strip()
        if not text:
            raise LoadError("No model given: choose a Hub id" + ("" if self.hosted else ", a folder or a file") + ".")
        if "\x00" in text or len(text) > 4096:
            raise LoadError("That is not a model id or a path.")
        hub_url = _HUB_URL.match(text)
        if hub_url:
            raise LoadError(f"URLs are not opened. Give the Hub id instead: '{hub_url.group(1)}'.")
        if URL.match(text) and (self.hosted or not os.path.exists(text)):
            raise LoadError(f"{text[:200]!r} is a URL; URLs are not opened. Give a Hub id like 'gpt2'"
                            + (" or upload a file." if self.hosted else ", or a local folder or file."))
        if os.path.normpath(text) in self.trusted_paths:  # by name: nothing on disk is probed for it
            return "path", text
        path = os.path.expanduser(text)
        looks_local = text.startswith(("/", ".", "~", "\\")) or text.endswith((".safetensors", ".bin", ".pt", ".pth"))
        if self.hosted:
            if looks_local:
                raise LoadError("This hosted app does not open files on its server. Give a Hub id like "
                                "'gpt2' or 'owner/name@revision', or upload a .safetensors file.")
            parse_hub_id(text)
            return "hub", text
        if looks_local or os.path.exists(path):
            return "path", path
        try:
            parse_hub_id(text)
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
