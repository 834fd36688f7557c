from tests.adapters.harness import build
from tests.pages.apptest import errors, run_page


def test_compare_two_seeds(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    tiny = dict(n_embd=32, n_layer=2, n_head=2, vocab_size=60, n_positions=16)
    build("gpt2", a, seed=0, **tiny)
    build("gpt2", b, seed=1, **tiny)
    at = run_page("pages/compare.py", source=str(a))
    assert not errors(at), errors(at)
    assert "Choose a second checkpoint" in at.info[0].value
    at.text_input(key="compare_other").set_value(str(b)).run()
    assert not errors(at), errors(at)
    assert any("shared tensors differ" in m.value for m in at.markdown)
    assert len(at.get("vega_lite_chart")) >= 2
    first = at.selectbox(key="compare_tensor").value
    other = next(o for o in at.selectbox(key="compare_tensor").options if o != first)
    at.selectbox(key="compare_tensor").set_value(other).run()
    assert not errors(at)


def test_compare_with_itself_and_bad_path(tmp_path, minilm_dir):
    at = run_page("pages/compare.py")
    at.text_input(key="compare_other").set_value(minilm_dir).run()
    assert any("identical in all" in m.value for m in at.markdown), [m.value for m in at.markdown]
    at.text_input(key="compare_other").set_value(str(tmp_path / "nope")).run()
    assert not at.exception and "does not exist" in at.error[0].value
