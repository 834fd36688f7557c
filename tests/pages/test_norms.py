from tests.pages.apptest import errors, run_page
from topics import norms


def test_norms_page_on_bundled_model(minilm_dir):
    at = run_page("pages/norms.py")
    assert not errors(at), errors(at)
    assert at.title[0].value == "Norm gains"
    from adapters import open_model

    expected = norms.reading(norms.compute(open_model(minilm_dir)))
    assert any(m.value == expected for m in at.markdown)  # the report's reading, word for word
    assert len(at.get("vega_lite_chart")) == 2
    assert at.dataframe[0].value["dimension"].iloc[0] == norms.compute(open_model(minilm_dir)).outliers[0].dim


def test_norms_page_without_norms(tmp_path):
    import numpy as np
    from safetensors.numpy import save_file

    save_file({"w": np.ones((4, 4), np.float32)}, str(tmp_path / "m.safetensors"))
    at = run_page("pages/norms.py", source=str(tmp_path / "m.safetensors"))
    assert not errors(at), errors(at)
    assert any("no norm weights" in m.value for m in at.markdown) and not at.get("vega_lite_chart")
