"""Helpers for the CLI tests: run the real ``uvnb`` command and read back what it wrote.

Every test drives ``python -m uvnb`` in a subprocess, with the environment ``uv_env`` set up
(local wheel index, shared uv cache, per-test env store), so what is asserted is what a user
at a terminal would see: the exit code, stdout/stderr, the notebook file and the env.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit


@dataclass
class Result:
    code: int
    out: str
    err: str


class Cli:
    """``cli("add", nb, "alpha")`` runs ``uvnb add NB alpha``; ``expect`` is the exit code."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd

    def __call__(self, *args: str | os.PathLike[str], env: dict[str, str] | None = None,
                 expect: int | None = 0) -> Result:
        full = {**os.environ, "UVNB_PYTHON_DOWNLOADS": "never", **(env or {})}
        argv = [sys.executable, "-m", "uvnb", *map(str, args)]
        proc = subprocess.run(argv, cwd=self.cwd, env=full, capture_output=True, text=True,
                              timeout=120, check=False)
        if expect is not None and proc.returncode != expect:
            raise AssertionError(
                f"uvnb {' '.join(map(str, args))} exited {proc.returncode}, not {expect}\n"
                f"--- stdout\n{proc.stdout}--- stderr\n{proc.stderr}")
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def inproc(self, *args: str | os.PathLike[str], expect: int | None = 0) -> Result:
        """``uvnb.cli.main`` in this process: for failures that happen before uv runs.

        ~50x faster than a subprocess. An exception escaping ``main`` is what a user would
        see as a traceback, so it fails the test as such.
        """
        from uvnb import cli, uv

        saved_env, saved_cwd = dict(os.environ), os.getcwd()
        os.environ["UVNB_PYTHON_DOWNLOADS"] = "never"
        out, err = io.StringIO(), io.StringIO()
        try:
            os.chdir(self.cwd)
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    code = cli.main([str(a) for a in args])
                except SystemExit as exc:  # argparse
                    code = int(exc.code or 0)
                except Exception:
                    err.write("Traceback (most recent call last):\n" + traceback.format_exc())
                    code = 1
        finally:
            os.chdir(saved_cwd)
            os.environ.clear()
            os.environ.update(saved_env)
            uv._UV_BIN = None
        res = Result(code, out.getvalue(), err.getvalue())
        if expect is not None and code != expect:
            raise AssertionError(f"uvnb {' '.join(map(str, args))} exited {code}: {res}")
        return res


def assert_user_error(res: Result, *needles: str) -> None:
    """The contract for user mistakes: exit 1, ``error:`` first, a ``hint:``, no traceback."""
    assert res.code == 1, res
    assert res.err.startswith("error:"), res.err
    assert "\nhint: " in res.err, res.err
    assert "Traceback" not in res.err + res.out, res.err
    for needle in needles:
        assert needle in res.err, (needle, res.err)


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def spec_cell(data: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in data["cells"] if c["cell_type"] == "code"
                and "# /// script" in "".join(c["source"]))


def spec_source(path: Path) -> str:
    return "".join(spec_cell(load(path))["source"])


def lock_of(path: Path) -> dict[str, Any]:
    return tomlkit.parse(load(path)["metadata"]["uv.lock"]).unwrap()


def locked(path: Path) -> dict[str, str]:
    """``{name: version}`` from the notebook's stored lock."""
    return {p["name"]: p["version"] for p in lock_of(path).get("package", [])}


def other_cells(path: Path) -> str:
    """Every cell but the spec cell, as canonical JSON (for byte-for-byte comparisons)."""
    data = load(path)
    spec = spec_cell(data) if "# /// script" in json.dumps(data["cells"]) else None
    return json.dumps([c for c in data["cells"] if c is not spec], sort_keys=True)


ENV_LINE = re.compile(r"env (?P<path>\S+) \(Python (?P<version>[\d.]+)\)")


def synced_env(res: Result) -> Path:
    """The env path a ``uvnb sync`` reported."""
    match = ENV_LINE.search(res.out)
    assert match, res.out
    return Path(match["path"])


def env_run(env: Path, code: str) -> str:
    proc = subprocess.run([str(env / "bin" / "python"), "-c", code], capture_output=True,
                          text=True, check=False, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def installed(env: Path) -> dict[str, str]:
    """``{name: version}`` of every distribution the env's own interpreter can see."""
    out = env_run(env, "import importlib.metadata as m, json; print(json.dumps("
                       "{d.metadata['Name'].lower(): d.version for d in m.distributions()}))")
    return json.loads(out)


def hand_edit_spec(path: Path, source: str) -> None:
    """Replace the spec cell's source the way a person editing the notebook would."""
    data = load(path)
    spec_cell(data)["source"] = source
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
