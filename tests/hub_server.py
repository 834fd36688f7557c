"""A loopback Hugging Face Hub for tests: the endpoints huggingface_hub 2.4 calls to open a model, served on
127.0.0.1 from repos held in memory, with a log of every request.

    hub = LoopbackHub().start()
    hub.add("owner/name", {"config.json": b"{}", "model.safetensors": data}, tags=["v1"])
    # point huggingface_hub at hub.url (see `use` in tests/adapters/test_hub.py), then read hub.log

Served: GET /api/models/{repo}[/revision/{rev}] (model_info, with file sizes and LFS metadata),
GET /api/models/{repo}/refs (list_repo_refs), HEAD and GET /{repo}/resolve/{rev}/{path} (the file, with
X-Repo-Commit, ETag, X-Linked-Etag / X-Linked-Size for LFS files, Content-Length, and byte ranges).
Switches: `status = 500` answers every request with that status; `drop_after[path] = n` sends n bytes of that
file once and closes the connection; `stop()` closes the port (a Hub that is down). A repo added with
`private=True` answers only requests that carry `token`.
"""
from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

LFS_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt", ".pth")


@dataclass
class Request:
    method: str
    path: str  # unquoted, without the query
    authorized: bool  # an Authorization header was sent
    range: str | None


@dataclass
class _Repo:
    refs: dict[str, str]  # branch or tag -> commit
    tags: set[str]
    commits: dict[str, dict[str, bytes]]  # commit -> {repo path: bytes}
    private: bool


class LoopbackHub:
    def __init__(self, token: str = "hf_host_token"):
        self.repos: dict[str, _Repo] = {}
        self.log: list[Request] = []
        self.status: int | None = None
        self.drop_after: dict[str, int] = {}
        self.stall_api = False  # the API accepts the connection and never answers
        self.stall_after: dict[str, int] = {}  # file -> bytes sent before the server goes silent (every request)
        self._released = threading.Event()  # set on stop: a stalled handler lets go
        self.token = token
        self._server: ThreadingHTTPServer | None = None

    # ---- content ---------------------------------------------------------------------------------
    def add(self, repo: str, files: dict[str, bytes], branch: str = "main", tags=(), private: bool = False) -> str:
        """Commit `files` as `branch` (and `tags`) of `repo`; returns the commit hash."""
        digest = hashlib.sha1(repo.encode())
        for name in sorted(files):
            digest.update(name.encode() + hashlib.sha1(files[name]).digest())
        commit = digest.hexdigest()
        entry = self.repos.setdefault(repo, _Repo({}, set(), {}, private))
        entry.commits[commit] = dict(files)
        for ref in (branch, *tags):
            entry.refs[ref] = commit
        entry.tags.update(tags)
        return commit

    def fetched(self, method: str = "GET") -> list[str]:
        """Repo paths of the files requested with `method` through /resolve/, in order."""
        return [r.path.split("/resolve/", 1)[1].split("/", 1)[1] for r in self.log
                if r.method == method and "/resolve/" in r.path]

    # ---- serving -----------------------------------------------------------------------------------
    def start(self) -> LoopbackHub:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        """Close the port: later requests are refused (connection refused), as when the Hub is down."""
        self._released.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def _handler(hub: LoopbackHub):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # one request per connection: a stopped server answers nothing more

        def log_message(self, *args) -> None:  # quiet test output
            return None

        def do_HEAD(self):
            self._serve(body=False)

        def do_GET(self):
            self._serve(body=True)

        # --------------------------------------------------------------------------------------------
        def _serve(self, body: bool) -> None:
            path = unquote(urlsplit(self.path).path)
            authorized = self.headers.get("Authorization") == f"Bearer {hub.token}"
            hub.log.append(Request(self.command, path, "Authorization" in self.headers, self.headers.get("Range")))
            if hub.status:
                return self._json(hub.status, {"error": "Internal Error"}, body)
            if path.startswith("/api/models/"):
                if hub.stall_api:
                    return self._stall()
                return self._api(path[len("/api/models/"):], authorized, body)
            if "/resolve/" in path:
                return self._resolve(path, authorized, body)
            self._json(404, {"error": "Not found"}, body)

        def _repo(self, repo_id: str, authorized: bool, body: bool) -> _Repo | None:
            repo = hub.repos.get(repo_id)
            if repo is None or (repo.private and not authorized):
                self._json(401 if repo else 404, {"error": "Repository not found"}, body,
                           {"X-Error-Code": "RepoNotFound"})
                return None
            return repo

        def _commit(self, repo: _Repo, revision: str, body: bool) -> str | None:
            commit = repo.refs.get(revision) or (revision if revision in repo.commits else None)
            if commit is None:
                self._json(404, {"error": f"Invalid rev id: {revision}"}, body, {"X-Error-Code": "RevisionNotFound"})
            return commit

        def _api(self, rest: str, authorized: bool, body: bool) -> None:
            if rest.endswith("/refs"):
                repo = self._repo(rest[:-len("/refs")], authorized, body)
                if repo:
                    refs = [{"name": n, "ref": f"refs/{'tags' if n in repo.tags else 'heads'}/{n}",
                             "targetCommit": c} for n, c in sorted(repo.refs.items())]
                    self._json(200, {"branches": [r for r in refs if r["name"] not in repo.tags],
                                     "tags": [r for r in refs if r["name"] in repo.tags], "converts": []}, body)
                return
            repo_id, _, revision = rest.partition("/revision/")
            repo = self._repo(repo_id, authorized, body)
            commit = repo and self._commit(repo, revision or "main", body)
            if commit:
                files = repo.commits[commit]
                siblings = [_sibling(name, data) for name, data in sorted(files.items())]
                self._json(200, {"id": repo_id, "modelId": repo_id, "sha": commit, "private": repo.private,
                                 "siblings": siblings}, body)

        def _resolve(self, path: str, authorized: bool, body: bool) -> None:
            repo_id, _, rest = path.lstrip("/").partition("/resolve/")
            revision, _, name = rest.partition("/")
            repo = self._repo(repo_id, authorized, body)
            commit = repo and self._commit(repo, revision, body)
            if not commit:
                return
            data = repo.commits[commit].get(name)
            if data is None:
                return self._json(404, {"error": "Entry not found"}, body, {"X-Error-Code": "EntryNotFound"})
            etag = _etag(name, data)
            headers = {"X-Repo-Commit": commit, "ETag": f'"{etag}"', "Accept-Ranges": "bytes"}
            if name.endswith(LFS_SUFFIXES):
                headers.update({"X-Linked-Etag": f'"{etag}"', "X-Linked-Size": str(len(data))})
            start, status = 0, 200
            ranged = self.headers.get("Range", "")
            if ranged.startswith("bytes=") and body:
                start, status = int(ranged[6:].split("-")[0]), 206
                headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
            part = data[start:]
            self.send_response(status)
            for key, value in {**headers, "Content-Length": str(len(part)), "Connection": "close"}.items():
                self.send_header(key, value)
            self.end_headers()
            if not body:
                return
            if name in hub.stall_after:  # some bytes, then silence with the connection held open
                self.wfile.write(part[:hub.stall_after[name]])
                self.wfile.flush()
                return self._stall()
            cut = hub.drop_after.pop(name, None) if status == 200 else None
            if cut is not None:  # the connection drops mid-file: some bytes, then nothing
                self.wfile.write(part[:cut])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(part)

        def _stall(self) -> None:
            hub._released.wait(120)
            self.close_connection = True

        def _json(self, status: int, value, body: bool, extra: dict | None = None) -> None:
            data = json.dumps(value).encode()
            self.send_response(status)
            for key, val in {"Content-Type": "application/json", "Content-Length": str(len(data)),
                             "Connection": "close", **(extra or {})}.items():
                self.send_header(key, val)
            self.end_headers()
            if body:
                self.wfile.write(data)

    return Handler


def _etag(name: str, data: bytes) -> str:
    """LFS files are named by their sha256 (as on the Hub), others by a git-like sha1."""
    return hashlib.sha256(data).hexdigest() if name.endswith(LFS_SUFFIXES) else hashlib.sha1(data).hexdigest()


def _sibling(name: str, data: bytes) -> dict:
    sibling = {"rfilename": name, "size": len(data), "blobId": hashlib.sha1(data).hexdigest()}
    if name.endswith(LFS_SUFFIXES):
        sibling["lfs"] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "pointerSize": 134}
    return sibling


def point_client_at(hub: LoopbackHub, monkeypatch, cache_dir) -> None:
    """huggingface_hub, online, against `hub`, with its cache in `cache_dir`. It reads HF_ENDPOINT,
    HF_HUB_OFFLINE and HF_HUB_CACHE once at import, so the constants themselves are patched (and the
    environment too, for anything that reads it later)."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "ENDPOINT", hub.url)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", hub.url + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache_dir))
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True, raising=False)  # plain HTTP, as this server speaks
    monkeypatch.setattr(constants, "HF_HUB_ETAG_TIMEOUT", 5, raising=False)
    monkeypatch.setattr(constants, "HF_HUB_DOWNLOAD_TIMEOUT", 5, raising=False)
    for name, value in {"HF_ENDPOINT": hub.url, "HF_HUB_OFFLINE": "0", "HF_HUB_CACHE": str(cache_dir),
                        "HF_HUB_DISABLE_XET": "1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("HF_TOKEN", raising=False)
