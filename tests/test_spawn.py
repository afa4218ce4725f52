"""The subprocess-free runner must behave like subprocess.run for uv's calls."""

from __future__ import annotations

import sys

import pytest

from uvnb import spawn

pytestmark = pytest.mark.skipif(not spawn.available(), reason="no posix_spawn here")


def test_output_streams_exit_code_and_environment_are_kept_apart() -> None:
    code, out, err = spawn.run(
        [sys.executable, "-c",
         "import os, sys; print(os.environ['WHO']); print('oops', file=sys.stderr); "
         "sys.exit(3)"],
        {"WHO": "uvnb", "PATH": "/usr/bin:/bin"})
    assert (code, out, err) == (3, "uvnb\n", "oops\n")


def test_large_output_on_both_streams_does_not_deadlock() -> None:
    big = 300_000  # far beyond a pipe's buffer, on both pipes at once
    code, out, err = spawn.run(
        [sys.executable, "-c",
         f"import sys\nfor _ in range({big // 1000}):\n"
         "    sys.stdout.write('o' * 1000); sys.stderr.write('e' * 1000)"],
        {"PATH": "/usr/bin:/bin"})
    assert code == 0 and len(out) == big and len(err) == big


def test_stdin_is_empty() -> None:
    code, out, _ = spawn.run([sys.executable, "-c", "import sys; print(repr(sys.stdin.read()))"],
                             {})
    assert code == 0 and out.strip() == "''"
