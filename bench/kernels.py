"""Kernel helpers for the bench (issue #4): start a kernel as jupyter_server does, run cells.

A kernel is started in the bench's own process with ``jupyter_client.KernelManager`` and
``start_kernel(env={..., "JPY_SESSION_NAME": <abs notebook path>}, cwd=<notebook folder>)``,
which is what jupyter_server does; for the ``uvnb`` kernelspec this goes through the
provisioner (``python -m uvnb.launch`` as an async subprocess, then exec of the env's Python).
Nothing here knows about uvnb: the kernelspecs decide what starts.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def write_kernelspec(root: Path, name: str, argv: list[str], display: str) -> None:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kernel.json").write_text(json.dumps(
        {"argv": argv, "display_name": display, "language": "python"}, indent=1))


def spec_manager(*dirs: Path) -> Any:
    from jupyter_client.kernelspec import KernelSpecManager

    return KernelSpecManager(kernel_dirs=[str(d) for d in dirs])


class LogCapture(logging.Handler):
    """Records (seconds since ``t0``, message) of everything the kernel manager logs."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.t0 = time.perf_counter()
        self.lines: list[tuple[float, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((time.perf_counter() - self.t0, record.getMessage()))


@contextlib.contextmanager
def _server_environ(env: dict[str, str]) -> Iterator[None]:
    """This process's environment as a Jupyter server's would be: a server passes its own
    ``os.environ`` (settings included) to every kernel, and the uvnb provisioner relies on
    that to skip its launch subprocess when nothing changed."""
    keys = [k for k in env if k.startswith(("UVNB_", "UV_"))]
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update({k: env[k] for k in keys})
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class Kernel:
    """One kernel of kernelspec ``name`` for the notebook ``notebook`` (its folder is cwd)."""

    def __init__(self, name: str, ksm: Any, env: dict[str, str], notebook: Path,
                 log: logging.Logger | None = None, stderr: Any = None) -> None:
        from jupyter_client.manager import KernelManager

        kw = {"log": log} if log is not None else {}
        self.km = KernelManager(kernel_name=name, kernel_spec_manager=ksm, **kw)
        self.env = {**env, "JPY_SESSION_NAME": str(notebook.resolve())}
        self.cwd = str(notebook.resolve().parent)
        self.kc: Any = None
        self.stderr = stderr  # the kernel process's stdout/stderr (a file), else inherited

    def start(self, timeout: float = 120) -> Kernel:
        streams = {"stdout": self.stderr, "stderr": self.stderr} if self.stderr else {}
        with _server_environ(self.env):
            self.km.start_kernel(env=self.env, cwd=self.cwd, **streams)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=timeout)
        return self

    def run(self, code: str, timeout: float = 120) -> dict[str, Any]:
        """Execute ``code`` and wait for its idle status: stdout, stderr, error content."""
        msg_id = self.kc.execute(code)
        out: dict[str, Any] = {"stdout": "", "stderr": "", "error": None}
        deadline = time.monotonic() + timeout
        while True:
            msg = self.kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                out[content["name"]] += content["text"]
            elif kind == "error":
                out["error"] = content
            elif kind == "status" and content["execution_state"] == "idle":
                return out

    def stop(self) -> None:
        try:
            if self.kc is not None:
                self.kc.stop_channels()
        finally:
            self.km.shutdown_kernel(now=True)


def check(result: dict[str, Any], what: str, expect: str = "") -> dict[str, Any]:
    """Fail the bench loudly when a timed cell did not do what it should."""
    err = result["error"]
    if err is not None or "error:" in result["stderr"] or expect not in result["stdout"]:
        detail = "\n".join(err["traceback"]) if err else ""
        raise SystemExit(f"{what}: unexpected result\nstdout: {result['stdout']}\n"
                         f"stderr: {result['stderr']}\n{detail}")
    return result
