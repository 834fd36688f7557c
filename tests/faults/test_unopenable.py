"""Checkpoints that cannot be opened at all end, in the report and on every page, with one clear error:
exit status 2 and one line from report.py, an st.error (never an exception box) on each page."""
import json
import os
import shutil

import pytest

import report
from tests.pages.apptest import errors, run_page

PAGES = ["overview", "positional", "distributions", "matrices", "pca", "layers", "heads", "norms", "health",
         "spectral"]


def _truncated(clean: str, dest) -> str:
    shutil.copytree(clean, dest)
    weights = os.path.join(dest, "model.safetensors")
    with open(weights, "r+b") as f:
        f.truncate(os.path.getsize(weights) // 2)
    return str(dest)


def _lying_layers(clean: str, dest) -> str:
    shutil.copytree(clean, dest)
    path = os.path.join(dest, "config.json")
    config = json.load(open(path))
    config["num_hidden_layers"] = 10**18  # once took minutes to open; must be refused at once
    json.dump(config, open(path, "w"))
    return str(dest)


def _lying_heads(clean: str, dest) -> str:
    shutil.copytree(clean, dest)
    path = os.path.join(dest, "config.json")
    config = json.load(open(path))
    config["num_attention_heads"] = 5  # does not divide hidden_size 64
    json.dump(config, open(path, "w"))
    return str(dest)


def _oversized_header(clean: str, dest) -> str:
    os.makedirs(dest)
    shutil.copy(os.path.join(clean, "config.json"), dest)
    with open(os.path.join(dest, "model.safetensors"), "wb") as f:
        f.write((10**12).to_bytes(8, "little") + b"{}")  # a header length of 1 TB
    return str(dest)


BROKEN = {"truncated": _truncated, "lying_layers": _lying_layers, "lying_heads": _lying_heads,
          "oversized_header": _oversized_header}


@pytest.fixture(scope="module")
def broken(tiny, tmp_path_factory):
    root = tmp_path_factory.mktemp("unopenable")
    return {name: make(tiny("llama"), root / name) for name, make in BROKEN.items()}


@pytest.mark.parametrize("case", list(BROKEN))
def test_report_says_one_line_and_exits_2(broken, case, tmp_path, capsys):
    assert report.main([broken[case], "--out", str(tmp_path / "out"), "--no-cache", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err


@pytest.mark.parametrize("case", list(BROKEN))
def test_every_page_shows_the_error(broken, case):
    for page in PAGES:
        at = run_page(f"pages/{page}.py", source=broken[case])
        assert not at.exception, (page, [e.value for e in at.exception])
        assert at.error and "Could not open" in at.error[0].value, (page, errors(at))
