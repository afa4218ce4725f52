"""What a uvnb kernel knows about itself, and how its magics ask the server's uvnb for work.

Kernel side, so stdlib-only and Python 3.8-compatible (see ``uvnb_kernel_magics``). Each
magic runs ``$UVNB_SERVER_PYTHON -m uvnb.kernel_ops OP --notebook NB --json``: the server's
Python does the uv work; its stderr (progress) is streamed into the cell, its stdout is one
JSON answer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import uvnb_kernel_env as kenv


class _Kernel:
    """What this kernel knows: its notebook, its env, and the latest spec/lock it recorded."""

    def __init__(self) -> None:
        self.notebook = os.environ.get("UVNB_NOTEBOOK", "")
        self.server_python = os.environ.get("UVNB_SERVER_PYTHON", "")
        self.env = os.environ.get("UVNB_ENV", "")
        self.project = os.environ.get("UVNB_PROJECT", "")  # a project kernel: uv add & co.
        self.site_packages = kenv.site_packages_of(self.env)
        self.layer = kenv.layer_folder(self.site_packages)  # before a switch to a layer-less env
        self.record = None  # type: dict | None  # newer than the file once an update went out
        self.comm = None  # the frontend's comm, after its hello
        self.pending = {}  # type: dict[str, dict]  # update id -> record, until acked
        self.log = []  # type: list[str]  # what happened outside a cell (acks, fallbacks)


STATE = _Kernel()


class OpError(Exception):
    """The server side refused (a user mistake); ``str()`` is the paragraph to show."""


def _child_env() -> dict:
    """The server's Python must not inherit the kernel's env, nor IPython's forced colours
    (ipykernel sets ``FORCE_COLOR``/``CLICOLOR_FORCE``, which would put escapes in uv's
    messages)."""
    env = dict(os.environ)
    for name in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "PYTHONNOUSERSITE",
                 "FORCE_COLOR", "CLICOLOR_FORCE", "CLICOLOR"):
        env.pop(name, None)
    env["NO_COLOR"] = "1"
    return env


def run_op(op: str, args: list, state: dict | None = None) -> dict:
    """Run ``uvnb.kernel_ops OP`` in the server's Python; stream its stderr; return its JSON."""
    if not STATE.server_python:
        raise OpError("error: this kernel was not started by uvnb (UVNB_SERVER_PYTHON is not "
                      "set), so it cannot change the notebook's environment.\nhint: choose "
                      "the \"Python (uvnb)\" kernel, or `%load_ext uvnb` in a plain kernel.")
    argv = [STATE.server_python, "-m", "uvnb.kernel_ops", op, *args,
            "--notebook", STATE.notebook, "--json"]
    if STATE.env:
        argv += ["--env", STATE.env]
    if STATE.layer:
        argv += ["--layer", STATE.layer]
    if STATE.project:
        argv += ["--project", STATE.project]
    payload = json.dumps(state if state is not None else _known_state())
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=_child_env())
    out = []  # type: list[bytes]

    def talk() -> None:
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(payload.encode())
            proc.stdin.close()
        except BrokenPipeError:
            pass
        out.append(proc.stdout.read())

    worker = threading.Thread(target=talk, daemon=True)
    worker.start()
    assert proc.stderr is not None
    for raw in proc.stderr:
        sys.stderr.write(raw.decode(errors="replace"))
    worker.join()
    code = proc.wait()
    try:
        answer = json.loads(b"".join(out).decode() or "null")
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise OpError(f"error: uvnb's server side failed (exit {code}) while running %{op}.\n"
                      "hint: this is a bug in uvnb; the output above has the details.")
    if not answer.get("ok"):
        raise OpError(answer.get("error") or f"error: %{op} failed.")
    return answer


def _known_state() -> dict:
    return dict(STATE.record) if STATE.record is not None else {}
