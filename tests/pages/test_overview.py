from tests.pages.apptest import errors, run_page


def test_overview_on_bundled_model():
    at = run_page()
    assert not errors(at), errors(at)
    assert at.title[0].value == "Architecture"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Parameters (unique)"] == "22.7M"
    assert any("22,713,216" in m.value for m in at.markdown)


def test_overview_gpt2_shows_tie(tmp_path):
    from tests.adapters.harness import build
    build("gpt2", tmp_path, n_embd=32, n_layer=2, n_head=2, vocab_size=60, n_positions=16)
    at = run_page("pages/overview.py", source=str(tmp_path))
    assert not errors(at), errors(at)
    assert any("`lm_head.weight` is tied to `transformer.wte.weight`" in m.value for m in at.markdown)


def test_bad_path_is_a_message_not_a_traceback(tmp_path):
    at = run_page("pages/overview.py", source=str(tmp_path / "missing"))
    assert not at.exception
    assert "does not exist" in at.error[0].value


def test_overview_draws_both_charts():
    at = run_page("pages/overview.py")
    assert len(at.get("vega_lite_chart")) == 2
