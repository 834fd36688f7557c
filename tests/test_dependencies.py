"""The arrows of CONTRIBUTING.md, checked on every module's imports (read with ast, nothing is run)."""
import ast
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("adapters", "analyses", "topics", "charts", "reporting", "pages", "ui")
# package -> the project packages it may import (besides itself)
ALLOWED = {
    "adapters": set(),
    "analyses": set(),
    "topics": {"adapters", "analyses"},
    "charts": {"adapters", "analyses"},
    "reporting": {"adapters", "analyses", "topics", "charts", "bundled"},
    "pages": {"adapters", "topics", "charts", "ui", "bundled"},
    # ui's "Build the report" (ui/report_download.py) runs the report's engine (reporting/assemble.py)
    "ui": {"adapters", "topics", "bundled", "reporting"},
}
THIRD_PARTY_BANNED = {  # package -> libraries it must not import
    "analyses": {"streamlit", "altair", "pandas", "torch", "safetensors", "adapters"},
    "topics": {"streamlit", "altair"},
    "adapters": {"streamlit", "altair"},
}
# string surgery on schema names outside adapters/: f"blocks.{...}", name.split("."), rsplit(".")
SCHEMA_SURGERY = re.compile(r"""f["']blocks\.\{|\.split\(["']\.["']\)|\.rsplit\(["']\.""")


def _modules():
    for package in PACKAGES:
        for folder, _, files in os.walk(os.path.join(ROOT, package)):
            for f in files:
                if f.endswith(".py"):
                    yield package, os.path.join(folder, f)


def _imports(path: str) -> set[str]:
    tree = ast.parse(open(path, encoding="utf-8").read())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module.split(".")[0])
    return out


@pytest.mark.parametrize("package,path", list(_modules()), ids=lambda v: os.path.relpath(v, ROOT) if "/" in str(v) else v)
def test_imports_point_one_way(package, path):
    imported = _imports(path)
    project = {p for p in imported if p in (*PACKAGES, "bundled", "report")}
    assert project - {package} <= ALLOWED[package], f"{path} imports {project - {package} - ALLOWED[package]}"
    assert not imported & THIRD_PARTY_BANNED.get(package, set()), imported & THIRD_PARTY_BANNED[package]


def test_scipy_is_imported_through_one_module():
    """Only analyses/_scipy.py imports scipy's subpackages (scipy.linalg, which imports none of them, excepted):
    sessions importing them by other routes at once got half-built modules (see analyses/_scipy.py)."""
    outside = []
    for _, path in _modules():
        if path.endswith(os.path.join("analyses", "_scipy.py")):
            continue
        for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [f"{node.module}.{a.name}" for a in node.names]
                     if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else [])
            outside += [f"{os.path.relpath(path, ROOT)}: {n}" for n in names
                        if n.startswith("scipy.") and not n.startswith("scipy.linalg")]
    assert not outside, outside


@pytest.mark.parametrize("package,path", [m for m in _modules() if m[0] != "adapters"],
                         ids=lambda v: os.path.relpath(v, ROOT) if "/" in str(v) else v)
def test_no_schema_name_surgery_outside_adapters(package, path):
    text = open(path, encoding="utf-8").read()
    assert not SCHEMA_SURGERY.search(text), f"{path}: build or parse schema names with adapters.schema"
