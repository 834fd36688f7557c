import pytest


@pytest.fixture
def hosted(monkeypatch):
    """Hosted mode (ui.session.is_hosted) by its environment variable."""
    monkeypatch.setenv("WEIGHTS_HOSTED", "1")
