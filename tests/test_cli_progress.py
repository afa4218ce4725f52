"""Work that takes more than a second says what it is doing; quick work prints nothing extra."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from clitools import Cli, locked


@pytest.fixture
def cli(uv_env, tmp_path) -> Cli:
    return Cli(tmp_path)


def slow_uv(tmp_path: Path, seconds: float) -> dict[str, str]:
    """A uv that takes ``seconds`` longer than the real one (``UVNB_UV`` picks the binary)."""
    from uvnb.uv import uv_bin

    fake = tmp_path / "slow-uv"
    fake.write_text(f"#!/bin/sh\nsleep {seconds}\nexec {uv_bin()} \"$@\"\n")
    fake.chmod(0o755)
    return {"UVNB_UV": str(fake)}


def test_slow_add_shows_progress(cli, make_notebook, tmp_path):
    nb = make_notebook(dependencies=("alpha",))
    res = cli("add", nb, "epsilon", env=slow_uv(tmp_path, 1.5))
    assert "uvnb: resolving and locking" in res.err and str(nb) in res.err
    assert "epsilon" in locked(nb)


def test_quick_add_is_silent_on_stderr(cli, make_notebook):
    nb = make_notebook(dependencies=("alpha",))
    res = cli("add", nb, "epsilon")
    assert "resolving" not in res.err
    assert "+ epsilon==3.0.0" in res.out


def test_quiet_silences_progress(cli, make_notebook, tmp_path):
    nb = make_notebook(dependencies=("alpha",))
    res = cli("add", "-q", nb, "epsilon", env=slow_uv(tmp_path, 1.5))
    assert res.out == "" and "resolving" not in res.err
    assert os.path.exists(nb)
