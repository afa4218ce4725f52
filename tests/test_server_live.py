"""A real ``jupyter lab`` server: kernelspec listing, sessions, websocket, restart, ``uvnb run``.

One server per module, started as a subprocess exactly as a user would (``python -m
jupyterlab``), with every Jupyter folder in tmp (the machine's config stays out), packages from
the suite's local index, the kernel layer (ipykernel) from conftest's ``layer_dir`` and
a uv cache of its own (the session cache must only ever see the local index, see
``test_wheelhouse.py``). Notebooks are opened the way JupyterLab opens them (``POST
/api/sessions``) and driven over the server's kernel websocket with the JSON message protocol.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from labclient import Server, free_port, wait_for_status

from uvnb import lock, notebook

pytestmark = [pytest.mark.slow, pytest.mark.network]

_CLEARED = ("VIRTUAL_ENV", "CONDA_PREFIX", "UV_INDEX", "UV_DEFAULT_INDEX", "UV_INDEX_URL",
            "UV_EXTRA_INDEX_URL", "UV_FIND_LINKS", "UV_OFFLINE", "UV_PYTHON", "UVNB_OFFLINE",
            "JUPYTER_PATH", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR",
            "JPY_SESSION_NAME")


def server_env(base: Path, wheel_index: Any, layer_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _CLEARED}
    jupyter = base / "jupyter"
    env.update({
        "UV_CONFIG_FILE": str(wheel_index.config_file), "UV_CACHE_DIR": str(base / "uv-cache"),
        "UV_PYTHON_DOWNLOADS": "never", "UV_NO_PROGRESS": "1",
        "UVNB_ENV_DIR": str(base / "envs"), "UVNB_STATE_DIR": str(base / "state"),
        "UVNB_LAYER_DIR": str(layer_dir), "UVNB_LAYER_INDEX": "https://pypi.org/simple",
        "UVNB_DEFAULT_PYTHON": "3.12",
        "JUPYTER_PATH": str(base / "prefix" / "share" / "jupyter"),
        "JUPYTER_CONFIG_DIR": str(jupyter / "config"),
        "JUPYTER_DATA_DIR": str(jupyter / "data"),
        "JUPYTER_RUNTIME_DIR": str(jupyter / "runtime"),
        "JUPYTER_PLATFORM_DIRS": "1",
    })
    return env


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, wheel_index: Any,
           layer_dir: Path) -> Iterator[Server]:
    """``jupyter lab`` on a tmp root; the kernel layer is conftest's (built once, from PyPI)."""
    base = tmp_path_factory.mktemp("lab")
    env = server_env(base, wheel_index, layer_dir)
    root = base / "root"
    root.mkdir()
    installed = subprocess.run(
        [sys.executable, "-m", "uvnb", "kernel", "install", "--prefix", str(base / "prefix")],
        env=env, capture_output=True, text=True, check=False)
    assert installed.returncode == 0, installed.stderr
    port, token = free_port(), uuid.uuid4().hex
    log = base / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
             "--ip", "127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}",
             f"--ServerApp.root_dir={root}"],
            env=env, cwd=root, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_status(url, token, proc)
        yield Server(root, url, token, env, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

def place(server: Server, made: Path, rel: str) -> Path:
    """Move a ``make_notebook`` file into the server's root at ``rel``."""
    target = server.root / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(made, target)
    return target


def locked_notebook(server: Server, make_notebook: Any, rel: str,
                    deps: tuple[str, ...] = ("alpha<2",)) -> Path:
    """A notebook pinned to Python 3.12 with ``deps``, locked by the CLI, under the root."""
    path = place(server, make_notebook(dependencies=deps, requires_python=">=3.12"), rel)
    server.uvnb("python", str(path), "3.12")
    server.uvnb("lock", str(path))
    return path


PROBE = ("import os, sys; print(sys.version_info[:2], sys.prefix, os.environ['UVNB_NOTEBOOK'], "
         "sep='|')")


def probe(server: Server, kernel_id: str) -> list[str]:
    """``[python version, sys.prefix, the notebook the kernel belongs to]``."""
    result = server.run(kernel_id, PROBE)
    assert result["error"] is None, result
    return result["stdout"].strip().splitlines()[-1].split("|")


def test_kernelspec_listed(server: Server) -> None:
    specs = server.api("GET", "kernelspecs")["kernelspecs"]
    assert "uvnb" in specs, (sorted(specs), server.log_tail())
    assert specs["uvnb"]["spec"]["display_name"] == "Python (uvnb)"
    assert (specs["uvnb"]["spec"]["metadata"]["kernel_provisioner"]["provisioner_name"]
            == "uvnb-provisioner")


def test_session_kernel_runs_in_the_locked_env(server: Server, make_notebook: Any) -> None:
    path = locked_notebook(server, make_notebook, "sub/analysis.ipynb")
    before = path.read_bytes()
    started = time.monotonic()
    kernel_id = server.open("sub/analysis.ipynb")
    first = server.run(kernel_id, "pass")
    print(f"\nsession → first execution: {time.monotonic() - started:.1f} s; "
          f"startup message: {first['stdout'].strip()!r}")
    version, prefix, nb = probe(server, kernel_id)
    assert (version, nb) == ("(3, 12)", str(path))  # found through JPY_SESSION_NAME
    assert Path(prefix).is_relative_to(server.env["UVNB_ENV_DIR"])
    out = server.run(kernel_id, "import alpha, os; print(alpha.__version__, os.getcwd())")
    assert out["error"] is None, out
    assert out["stdout"].split() == ["1.1.0", str(path.parent)]
    assert server.run(kernel_id, "import beta")["error"]["ename"] == "ModuleNotFoundError"
    assert path.read_bytes() == before  # starting a kernel never writes the notebook


def test_add_magic_writes_back_without_frontend(server: Server, make_notebook: Any) -> None:
    path = locked_notebook(server, make_notebook, "sub/adds.ipynb")
    kernel_id = server.open("sub/adds.ipynb")
    started = time.monotonic()
    out = server.run(kernel_id, "%add epsilon")
    print(f"\n%add through the server: {time.monotonic() - started:.1f} s")
    assert out["error"] is None, out
    assert "+ epsilon==3.0.0" in out["stdout"], out
    assert "written on disk" in out["stdout"], out
    out = server.run(kernel_id, "import epsilon; print(epsilon.VALUE)")
    assert out["stdout"].strip().splitlines()[-1] == "epsilon 3.0.0", out

    nb = notebook.load(str(path))
    assert '"epsilon' in (nb.spec_source or "")
    assert lock.locked_versions(nb.lock_text)["epsilon"] == "3.0.0"
    lock.check(nb)
    md, code = nb.data["cells"][1], nb.data["cells"][2]
    assert "Prose that must survive" in "".join(md["source"])
    assert "".join(code["outputs"][0]["text"]) == "alpha 2.0.0\n"


def test_restart_picks_up_a_lock_changed_on_disk(server: Server, make_notebook: Any) -> None:
    locked_notebook(server, make_notebook, "restart.ipynb")
    kernel_id = server.open("restart.ipynb")
    prefix = probe(server, kernel_id)[1]
    assert server.run(kernel_id, "import beta")["error"]["ename"] == "ModuleNotFoundError"
    server.uvnb("add", str(server.root / "restart.ipynb"), "beta<2")
    started = time.monotonic()
    server.api("POST", f"kernels/{kernel_id}/restart")
    print(f"\nrestart with a new lock: {time.monotonic() - started:.1f} s")
    out = server.run(kernel_id, "import beta; print(beta.__version__)")
    assert out["error"] is None, out
    assert out["stdout"].strip().splitlines()[-1] == "1.0.0"
    assert probe(server, kernel_id)[1] != prefix  # a new lock, a new env


def test_restart_after_rename_follows_the_notebook(server: Server, make_notebook: Any) -> None:
    """A rename in Lab (contents PATCH + session PATCH) reaches the kernel's next start."""
    locked_notebook(server, make_notebook, "ren/other.ipynb")  # two notebooks: no cwd guess
    old = locked_notebook(server, make_notebook, "ren/old.ipynb", ("alpha<2", "delta<1.2"))
    kernel_id = server.open("ren/old.ipynb")
    session = next(s for s in server.api("GET", "sessions") if s["kernel"]["id"] == kernel_id)
    server.api("PATCH", "contents/ren/old.ipynb", json={"path": "ren/new.ipynb"})
    server.api("PATCH", f"sessions/{session['id']}",
               json={"path": "ren/new.ipynb", "name": "new.ipynb"})
    server.api("POST", f"kernels/{kernel_id}/restart")
    assert probe(server, kernel_id)[2] == str(old.with_name("new.ipynb"))
    assert server.run(kernel_id, "import delta")["error"] is None


BROKEN_SPEC = '# /// script\n# requires-python = ">=3.12"\n# dependencies = ["alpha"\n# ///'


def test_broken_spec_gets_the_fallback_kernel(server: Server, make_notebook: Any) -> None:
    path = place(server, make_notebook(), "broken/broken.ipynb")
    data = json.loads(path.read_text())
    data["cells"][0]["source"] = BROKEN_SPEC
    path.write_text(json.dumps(data))
    kernel_id = server.open("broken/broken.ipynb")
    kernel = server.api("GET", f"kernels/{kernel_id}")
    assert kernel["execution_state"] != "dead", kernel
    for _ in range(2):
        error = server.run(kernel_id, "print('never runs')")["error"]
        assert error is not None and error["ename"] == "UvnbEnvironmentError"
        text = "\n".join(error["traceback"])
        assert "could not start in its own environment" in text
        assert f"\nerror: the `# /// script` block in {path} is not valid TOML" in text, text
        assert "\nhint: fix the block in the notebook's first code cell" in text, text


def test_uvnb_run_smoke(server: Server, make_notebook: Any, tmp_path: Path) -> None:
    path = make_notebook("run/plain.ipynb")
    data = json.loads(path.read_text())
    del data["metadata"]["kernelspec"]
    path.write_text(json.dumps(data))
    port, token = free_port(), uuid.uuid4().hex
    env = {**server.env, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    del env["JUPYTER_PATH"]  # the kernelspec must come from `uvnb run` itself
    started = time.monotonic()
    with open(tmp_path / "run.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvnb", "run", str(path), "--", "--no-browser",
             "--allow-root", "--ip=127.0.0.1", f"--port={port}",
             f"--IdentityProvider.token={token}"],
            env=env, cwd=path.parent, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_status(url, token, proc)
        print(f"\nuvnb run → /api/status: {time.monotonic() - started:.1f} s")
        meta = json.loads(path.read_text())["metadata"]["kernelspec"]
        assert (meta["name"], meta["display_name"]) == ("uvnb", "Python (uvnb)")
        spec = httpx.get(f"{url}/kernelspecs/uvnb/kernel.json", params={"token": token})
        assert spec.json()["argv"][0] == sys.executable  # runlab's private spec, not share/
        httpx.post(f"{url}/api/shutdown", headers={"Authorization": f"token {token}"})
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
