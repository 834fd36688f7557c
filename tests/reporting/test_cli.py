"""report.py's command line: bad arguments are one line and exit status 2, checked before any work."""
import json
import os

import numpy as np
import pytest
from safetensors.numpy import save_file

import report


def test_out_that_is_a_file_is_refused_before_opening(tmp_path, capsys):
    out = tmp_path / "taken"
    out.write_text("x")
    assert report.main([str(tmp_path / "missing-model"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "exists and is not a folder" in err and "Traceback" not in err  # the model was never opened


def test_out_below_a_file_is_refused(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert report.main(["gpt2", "--out", str(tmp_path / "file" / "sub")]) == 2
    assert "is not a folder" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["-1", "0", "two"])
def test_bad_head_count_is_an_argument_error(value, capsys):
    with pytest.raises(SystemExit) as exc:
        report.main(["gpt2", "--out", "/tmp/unused", "--n-heads", value])
    assert exc.value.code == 2
    assert "--n-heads" in capsys.readouterr().err


def test_tensor_name_with_a_lone_surrogate_writes_both_files(tmp_path):
    path = tmp_path / "odd.safetensors"
    save_file({"ok.weight": np.ones((4, 4), np.float32)}, str(path))
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = raw[8:8 + n].decode().replace('"ok.weight"', '"\\ud800.weight"')  # a lone surrogate, escaped in JSON
    header = header.ljust(n)
    path.write_bytes(raw[:8] + header.encode() + raw[8 + n:])
    out = tmp_path / "out"
    assert report.main([str(path), "--out", str(out), "--only", "architecture", "--no-cache", "--quiet"]) == 0
    doc = json.loads((out / "report.json").read_text())
    assert doc["architecture"]["tensors"][0]["name"] == "\ud800.weight"
    assert "\\ud800.weight" in (out / "report.html").read_text(encoding="utf-8")
    assert os.path.getsize(out / "report.html") > 1000
