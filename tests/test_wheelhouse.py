"""The hermetic index really works with real uv, and stays hermetic.

Why: every uv-driven test in the suite trusts these fixtures; if a hand-written wheel were
subtly invalid, or uv silently fell back to PyPI or a stale cache, failures elsewhere
would be baffling. These tests pin the exact versions other tests assert on, and the uv
behaviours (caching, lock preference) the fixture docs promise.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import time
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat
import pytest
import tomlkit
import wheelhouse

if TYPE_CHECKING:  # type-only: conftest is not meant to be imported at runtime
    from conftest import MakeNotebook, UvEnv, WheelIndex


def _script(
    directory: Path, dependencies: tuple[str, ...], requires_python: str = ">=3.11"
) -> Path:
    path = directory / "script.py"
    path.write_text(wheelhouse.pep723_block(dependencies, requires_python) + "\nprint('hi')\n")
    return path


def _locked(script: Path) -> dict[str, str]:
    """name -> version of every package in the script's uv lockfile."""
    lock = tomlkit.parse(script.with_name(script.name + ".lock").read_text()).unwrap()
    return {pkg["name"]: pkg["version"] for pkg in lock["package"]}


def test_wheels_are_valid_and_builds_are_fast(tmp_path: Path) -> None:
    start = time.perf_counter()
    wheelhouse.build_index(tmp_path)
    assert time.perf_counter() - start < 1.0
    whl = tmp_path / "files" / "conflict_a-1.0.0-py3-none-any.whl"
    with zipfile.ZipFile(whl) as zf:
        names = zf.namelist()
        meta = zf.read("conflict_a-1.0.0.dist-info/METADATA").decode()
        record = zf.read("conflict_a-1.0.0.dist-info/RECORD").decode().splitlines()
        for line in record[:-1]:
            path, digest, size = line.split(",")
            data = zf.read(path)
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            assert digest == "sha256=" + expected.decode() and int(size) == len(data)
        assert zf.read("conflict_a/__init__.py").decode() == (
            '__version__ = "1.0.0"\nVALUE = "conflict_a 1.0.0"\n'
        )
    assert record[-1] == "conflict_a-1.0.0.dist-info/RECORD,,"
    assert set(names) == {line.split(",")[0] for line in record}
    assert "Name: conflict-a\n" in meta and "Requires-Dist: alpha<2\n" in meta
    page = (tmp_path / "simple" / "conflict-a" / "index.html").read_text()
    assert (
        f'href="../../files/{whl.name}#sha256={hashlib.sha256(whl.read_bytes()).hexdigest()}"'
        in page
    )
    # Deterministic bytes: a rebuild gives the same hashes, so locks stay valid.
    before = whl.read_bytes()
    wheelhouse.build_index(tmp_path)
    assert whl.read_bytes() == before


def test_lock_script_resolves_newest_compatible(
    uv_env: UvEnv, default_python: str, tmp_path: Path
) -> None:
    script = _script(tmp_path, ("gamma",))
    uv_env.run("lock", "--script", script, "--python", default_python)
    assert _locked(script) == {
        "alpha": "2.0.0",
        "beta": "2.0.0",
        "delta": "1.2.0",
        "gamma": "0.1.0",
    }
    lock_text = script.with_name("script.py.lock").read_text()
    assert "pypi.org" not in lock_text and str(uv_env.index.find_links) in lock_text


def test_conflicting_pair_has_no_solution(
    uv_env: UvEnv, default_python: str, tmp_path: Path
) -> None:
    script = _script(tmp_path, ("conflict-a", "conflict-b"))
    proc = uv_env.run("lock", "--script", script, "--python", default_python, check=False)
    assert proc.returncode != 0
    assert "No solution found" in proc.stderr


def test_unknown_name_fails_without_pypi(
    uv_env: UvEnv, default_python: str, tmp_path: Path
) -> None:
    script = _script(tmp_path, ("requests",))  # real on PyPI: proves PyPI is never asked
    proc = uv_env.run("lock", "--script", script, "--python", default_python, check=False)
    assert proc.returncode != 0
    assert "requests was not found in the package registry" in proc.stderr


def test_requires_python_is_honoured(
    uv_env: UvEnv, pythons: dict[str, str], tmp_path: Path
) -> None:
    py312 = pythons["3.12"]
    script = _script(tmp_path, ("zeta",), requires_python=">=3.11")
    proc = uv_env.run("lock", "--script", script, "--python", py312, check=False)
    assert proc.returncode != 0 and "zeta==1.0.0 only supports >=3.12" in proc.stderr
    script = _script(tmp_path, ("zeta",), requires_python=">=3.12")
    uv_env.run("lock", "--script", script, "--python", py312)
    assert _locked(script) == {"zeta": "1.0.0"}


def test_exclude_newer_uses_upload_times(
    uv_env: UvEnv, default_python: str, tmp_path: Path
) -> None:
    script = tmp_path / "script.py"
    script.write_text(
        wheelhouse.pep723_block(("beta",))[: -len("# ///")]
        + '#\n# [tool.uv]\n# exclude-newer = "2024-02-01T00:00:00Z"\n# ///\n'
    )
    uv_env.run("lock", "--script", script, "--python", default_python)
    assert _locked(script) == {"alpha": "1.1.0", "beta": "1.0.0"}


def test_add_script_updates_block_and_lock(
    uv_env: UvEnv, default_python: str, tmp_path: Path
) -> None:
    script = _script(tmp_path, ())
    uv_env.run("lock", "--script", script, "--python", default_python)
    proc = uv_env.run("add", "--script", script, "epsilon", "alpha<2", "--python", default_python)
    # The ambient index must not leak into the spec (it would with UV_DEFAULT_INDEX).
    assert script.read_text() == wheelhouse.pep723_block(("alpha<2", "epsilon>=3.0.0")) + (
        "\nprint('hi')\n"
    )
    assert "warning" not in proc.stderr
    assert _locked(script) == {"alpha": "1.1.0", "epsilon": "3.0.0"}


def test_publish_is_seen_without_refresh(
    uv_env: UvEnv, fresh_index: WheelIndex, default_python: str, tmp_path: Path
) -> None:
    script = _script(tmp_path, ("epsilon",))
    lock = ("lock", "--script", script, "--python", default_python)
    uv_env.run(*lock)
    assert _locked(script) == {"epsilon": "3.0.0"}
    fresh_index.publish("epsilon", "3.1.0")
    uv_env.run(*lock)  # an existing lock is preferred: no upgrade without asking
    assert _locked(script) == {"epsilon": "3.0.0"}
    uv_env.run(*lock, "--upgrade")  # no --refresh: file:// pages are not cached by uv
    assert _locked(script) == {"epsilon": "3.1.0"}
    assert not list(uv_env.cache_dir.glob("simple-v*"))


def test_session_index_is_read_only(wheel_index: WheelIndex) -> None:
    with pytest.raises(RuntimeError, match="fresh_index"):
        wheel_index.publish("epsilon", "9.0.0")


def test_install_and_import(uv_env: UvEnv, default_python: str, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    uv_env.run("venv", venv, "--python", default_python)
    uv_env.run("pip", "install", "--python", venv / "bin" / "python", "alpha==1.1.0")
    out = subprocess.run(
        [venv / "bin" / "python", "-c", "import alpha; print(alpha.__version__, alpha.VALUE)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out == "1.1.0 alpha 1.1.0\n"


def test_find_links_without_index(
    uv_env: UvEnv, default_python: str, wheel_index: WheelIndex
) -> None:
    proc = uv_env.run(
        "pip", "compile", "--no-index", "--find-links", wheel_index.find_links,
        "--python", default_python, "-", "--no-header", "--no-annotate",
        input_text="beta<2\n",
    )  # fmt: skip
    assert proc.stdout.split() == ["alpha==2.0.0", "beta==1.0.0"]


def test_uv_env_is_hermetic(uv_env: UvEnv) -> None:
    assert os.environ["UV_CONFIG_FILE"] == str(uv_env.index.config_file)
    assert uv_env.index.url in uv_env.index.config_file.read_text()
    assert uv_env.index.url.startswith("file://") and "UV_DEFAULT_INDEX" not in os.environ
    assert os.environ["UV_CACHE_DIR"] == str(uv_env.cache_dir)
    assert Path.home() / ".cache" not in uv_env.cache_dir.parents
    assert os.environ["UVNB_ENV_DIR"] != os.environ["UVNB_STATE_DIR"]
    assert "VIRTUAL_ENV" not in os.environ and os.environ["UV_PYTHON_DOWNLOADS"] == "never"


def test_make_notebook_matches_juv_layout(make_notebook: MakeNotebook) -> None:
    path = make_notebook(lock="version = 1\n")
    raw = json.loads(path.read_text())
    nbformat.validate(nbformat.reads(path.read_text(), as_version=4))
    assert (raw["nbformat"], raw["nbformat_minor"]) == (4, 5)
    spec = raw["cells"][0]
    assert spec["metadata"] == {"jupyter": {"source_hidden": True}}
    assert "".join(spec["source"]) == (
        '# /// script\n# requires-python = ">=3.11"\n# dependencies = [\n#     "alpha",\n# ]\n# ///'
    )
    assert [c["cell_type"] for c in raw["cells"]] == ["code", "markdown", "code"]
    assert raw["cells"][2]["outputs"] and raw["metadata"]["uv.lock"] == "version = 1\n"
    bare = json.loads(make_notebook("bare.ipynb", spec=False).read_text())
    assert [c["cell_type"] for c in bare["cells"]] == ["markdown", "code"]
    assert "uv.lock" not in bare["metadata"]
