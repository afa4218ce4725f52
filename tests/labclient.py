"""A client for a real ``jupyter lab`` server in tests: REST with the token, kernel websocket.

``execute`` speaks the Jupyter message protocol as JSON over
``/api/kernels/<id>/channels`` (the legacy, subprotocol-less websocket format JupyterLab's
services package also understands): one ``execute_request`` on the shell channel, then the
iopub messages whose parent it is, until the kernel reports ``idle``.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from tornado.websocket import websocket_connect


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A running server: its root folder, address, token, environment and log file."""

    root: Path
    url: str
    token: str
    env: dict[str, str]
    log: Path

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(method, f"{self.url}/api/{path}", timeout=180,
                                 headers={"Authorization": f"token {self.token}"}, **kwargs)
        assert response.is_success, (response.status_code, response.text, self.log_tail())
        return response.json() if response.content else None

    def uvnb(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([sys.executable, "-m", "uvnb", *args], env=self.env,
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        return done

    def open(self, rel: str) -> str:
        """``POST /api/sessions`` as JupyterLab sends it; the new kernel's id."""
        session = self.api("POST", "sessions", json={
            "path": rel, "type": "notebook", "name": os.path.basename(rel),
            "kernel": {"name": "uvnb"}})
        return session["kernel"]["id"]

    def run(self, kernel_id: str, code: str, timeout: float = 90) -> dict[str, Any]:
        return asyncio.run(execute(self, kernel_id, code, timeout))

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def wait_for_status(url: str, token: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"jupyter lab exited with {proc.returncode}"
        try:
            if httpx.get(f"{url}/api/status", params={"token": token}, timeout=2).is_success:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"no /api/status from {url} in {timeout} s")


async def execute(server: Server, kernel_id: str, code: str, timeout: float) -> dict[str, Any]:
    """Send one ``execute_request`` over the websocket; collect output until ``idle``."""
    ws_url = (server.url.replace("http", "ws", 1)
              + f"/api/kernels/{kernel_id}/channels?token={server.token}")
    conn = await websocket_connect(ws_url)
    try:
        msg_id = uuid.uuid4().hex
        await conn.write_message(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test",
                       "session": uuid.uuid4().hex, "version": "5.3", "date": ""},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": True,
                        "user_expressions": {}, "allow_stdin": False}}))
        out: dict[str, Any] = {"stdout": "", "stderr": "", "error": None}
        deadline = time.monotonic() + timeout
        while True:
            raw = await asyncio.wait_for(conn.read_message(), deadline - time.monotonic())
            assert raw is not None, "the kernel websocket closed"
            msg = json.loads(raw)
            if msg.get("channel") != "iopub" or msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                out[content["name"]] += content["text"]
            elif kind == "error":
                out["error"] = content
            elif kind == "status" and content["execution_state"] == "idle":
                return out
    finally:
        conn.close()
