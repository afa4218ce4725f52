"""A notebook made by either tool works in the other: uvnb <-> juv (installed from PyPI).

juv runs with the same uv (the one in this venv), the same local index and cache. It finds
its Python through ``UV_PYTHON``: pyenv's shims break ``uv python find``, so it gets a real
interpreter path. No network is involved.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from clitools import Cli, installed, load, locked, other_cells, spec_cell, spec_source, synced_env

JUV = Path(sys.executable).with_name("juv")


@pytest.fixture
def cli(uv_env, tmp_path) -> Cli:
    return Cli(tmp_path)


@pytest.fixture
def juv(uv_env, pythons, tmp_path):
    if not JUV.exists():
        pytest.skip("juv is not installed in this venv")
    python = pythons["3.12"]

    def run(*args: str | os.PathLike[str]) -> str:
        env = {**os.environ, "UV_PYTHON": python}
        proc = subprocess.run([str(JUV), *map(str, args)], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 0, f"juv {args} failed:\n{proc.stdout}{proc.stderr}"
        return proc.stdout

    return run


def test_juv_reads_and_relocks_what_uvnb_wrote(cli, juv, tmp_path):
    nb = tmp_path / "by-uvnb.ipynb"
    cli("init", nb, "--python", "3.12")
    cli("add", nb, "gamma")
    lock_before, spec_before = load(nb)["metadata"]["uv.lock"], spec_source(nb)
    tree = juv("tree", nb).splitlines()
    assert tree[0] == "gamma v0.1.0" and "└── delta v1.2.0" in tree
    juv("lock", nb)
    assert load(nb)["metadata"]["uv.lock"] == lock_before  # the same lock, byte for byte
    assert spec_source(nb) == spec_before
    assert "every lock is current" in cli("lock", "--check", nb).out


def test_uvnb_check_accepts_a_lock_juv_made(cli, juv, make_notebook):
    nb = make_notebook(dependencies=("beta",), requires_python=">=3.12")
    juv("lock", nb)
    assert locked(nb) == {"alpha": "2.0.0", "beta": "2.0.0"}
    cli("lock", "--check", nb)
    assert "no change" in cli("lock", nb).out


def test_uvnb_adds_locks_and_syncs_a_notebook_juv_wrote(cli, juv, tmp_path):
    nb = tmp_path / "by-juv.ipynb"
    juv("init", nb)
    juv("add", nb, "beta")
    assert spec_cell(load(nb))["metadata"]["jupyter"]["source_hidden"] is True
    cells_before = other_cells(nb)
    res = cli("add", nb, "delta")
    assert {"  + alpha==2.0.0", "  + beta==2.0.0", "  + delta==1.2.0"} <= \
        set(res.out.splitlines())
    assert '"beta>=2.0.0"' in spec_source(nb) and '"delta>=1.2.0"' in spec_source(nb)
    assert other_cells(nb) == cells_before
    cli("lock", "--check", nb)
    env = synced_env(cli("sync", nb))
    assert installed(env) == {"alpha": "2.0.0", "beta": "2.0.0", "delta": "1.2.0"}
    juv("tree", nb)  # and juv still reads it after uvnb rewrote it


def test_juv_adds_to_a_notebook_uvnb_locked(cli, juv, tmp_path):
    nb = tmp_path / "shared.ipynb"
    cli("init", nb, "--python", "3.12")
    cli("add", nb, "alpha")
    juv("add", nb, "delta")
    assert locked(nb) == {"alpha": "2.0.0", "delta": "1.2.0"}
    cli("lock", "--check", nb)
    assert load(nb)["metadata"]["uvnb"]["python"] == "3.12"  # juv kept uvnb's pin
    assert "(Python 3.12." in cli("sync", nb).out
