"""report.py's build: the spectral topic's numbers in a second process, the same as in this one, and a worker
that is ended, not waited for, when a topic beside it fails."""
import pytest

import report
from adapters import open_model


@pytest.fixture(autouse=True)
def _no_user_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "default-xdg"))  # never the user's cache


def test_spectral_in_a_second_process_equals_in_process(minilm_dir, tmp_path):
    """The spectral topic's numbers come from a worker process when other topics run beside it; same report."""
    model = open_model(minilm_dir)
    (alone,) = report.build(model, ["spectral"])  # one topic: computed here
    logs = []
    _, beside = report.build(model, ["positional", "spectral"], log=logs.append)  # in a worker
    assert any(line.startswith("spectral") and "second process" in line for line in logs)
    assert beside.data == alone.data and beside.reading == alone.reading
    assert [c.to_dict() for c in beside.charts] == [c.to_dict() for c in alone.charts]


def test_an_error_beside_the_second_process_stops_it(minilm_dir, monkeypatch):
    """A topic failing in the main process raises at once; the spectral worker is ended, not waited for."""
    import time

    import psutil

    from reporting import positional

    def broken(result):
        time.sleep(0.5)  # the worker has started by now
        raise RuntimeError("broken topic")
    monkeypatch.setattr(positional, "section", broken)
    model = open_model(minilm_dir)
    with pytest.raises(RuntimeError, match="broken topic"):
        report.build(model, ["spectral", "positional"])
    time.sleep(0.5)
    alive = [p for p in psutil.Process().children(recursive=True)
             if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not [p for p in alive if "spawn_main" in " ".join(p.cmdline())]  # (multiprocessing's tracker stays)
