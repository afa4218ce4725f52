"""The kernel magics against real kernels: ``%add`` then import, recording, errors, the comm.

Why real kernels: the point of ``%add`` is that the *running* interpreter sees a package that
did not exist when it started, and that the notebook file (or the frontend) gets the new spec
and lock. Each test starts ipykernel the way the uvnb launcher does: the notebook's env built
by ``uvnb.sync``, the ipykernel layer joined by ``.pth`` (ipykernel from PyPI, once per
session), and ``uvnb.magics.kernel_launch_extras()`` for the extension. The layer is conftest's
``layer_dir``, shared by every kernel test.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager

from uvnb import lock as lock_mod
from uvnb import notebook

pytestmark = pytest.mark.slow


class Kernel:
    """A started uvnb-style kernel and a client that collects each execution's output."""

    def __init__(self, km: KernelManager) -> None:
        self.km = km
        self.kc = km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)
        self.comm_messages: list[dict[str, Any]] = []

    def run(self, code: str, timeout: float = 60) -> tuple[str, str]:
        """Execute ``code``; return (stdout, stderr); fail on a Python error."""
        out: list[str] = []
        err: list[str] = []

        def hook(msg: dict[str, Any]) -> None:
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                (out if content["name"] == "stdout" else err).append(content["text"])
            elif kind == "error":
                err.append("\n".join(content["traceback"]))
                err.append("PYTHON-ERROR")
            elif kind == "comm_msg":
                self.comm_messages.append(content["data"])

        reply = self.kc.execute_interactive(code, output_hook=hook, timeout=timeout)
        return "".join(out), "".join(err) + ("" if reply["content"]["status"] == "ok"
                                             else "PYTHON-ERROR")

    def open_frontend_comm(self, notebook_path: str) -> str:
        """What the JupyterLab extension does on kernel start: open ``uvnb`` with hello."""
        comm_id = uuid.uuid4().hex
        msg = self.kc.session.msg("comm_open", {
            "comm_id": comm_id, "target_name": "uvnb",
            "data": {"type": "hello", "notebook": notebook_path, "version": 1}})
        self.kc.shell_channel.send(msg)
        # The welcome's parent is the comm_open, so execute_interactive would drop it.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            reply = self.kc.get_iopub_msg(timeout=10)
            if reply["msg_type"] == "comm_msg":
                self.comm_messages.append(reply["content"]["data"])
                break
        return comm_id

    def send_comm(self, comm_id: str, data: dict[str, Any]) -> None:
        self.kc.shell_channel.send(self.kc.session.msg("comm_msg",
                                                       {"comm_id": comm_id, "data": data}))

    def stop(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


@pytest.fixture
def start_kernel(uv_env: Any, layer_dir: Path, tmp_path: Path,
                 monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``start_kernel(path, uvnb=True)``: a kernel as ``uvnb.launch.prepare`` starts it."""
    monkeypatch.setenv("UVNB_LAYER_INDEX", "https://pypi.org/simple")
    monkeypatch.setenv("UVNB_LAYER_DIR", str(layer_dir))
    started: list[Kernel] = []

    def start(path: Path, *, uvnb: bool = True) -> Kernel:
        from uvnb.launch import prepare

        launch = prepare(str(path))  # what the provisioner and the argv launcher both run
        assert launch.error is None, launch.error
        argv, env = launch.argv, dict(os.environ, **launch.env)
        if not uvnb:  # the same env, started as a plain ipykernel
            argv = argv[:5]
            for name in ("UVNB_KERNEL", "UVNB_NOTEBOOK", "UVNB_SERVER_PYTHON", "UVNB_ENV"):
                env.pop(name, None)
            env["UVNB_UV"] = uv_env.uv_bin  # uv is not installed in the notebook's env
        spec_dir = tmp_path / "kernels" / "uvnbtest"
        spec_dir.mkdir(parents=True, exist_ok=True)
        (spec_dir / "kernel.json").write_text(json.dumps({
            "argv": argv,
            "display_name": "uvnb test", "language": "python"}))
        ksm = KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")])
        km = KernelManager(kernel_name="uvnbtest", kernel_spec_manager=ksm)
        km.start_kernel(env=env, cwd=str(path.parent))
        kernel = Kernel(km)
        started.append(kernel)
        return kernel

    yield start
    for kernel in started:
        kernel.stop()


def test_add_then_import_and_recorded_on_disk(make_notebook: Any, start_kernel: Any) -> None:
    path = make_notebook(dependencies=("alpha<2",), requires_python=">=3.12")
    kernel = start_kernel(path)
    out, err = kernel.run("import alpha; print(alpha.VALUE)")
    assert out.startswith("uvnb: built the env")  # UVNB_STARTUP_MESSAGE, first cell only
    assert "alpha 1.1.0" in out and not err

    started = time.monotonic()
    out, err = kernel.run("%add epsilon")
    elapsed = time.monotonic() - started
    assert out.startswith("+ epsilon==3.0.0\nEnv ready in") and not err, (out, err)
    assert "written on disk: no JupyterLab frontend is connected" in out
    out, err = kernel.run("import epsilon; print(epsilon.VALUE)")
    assert out.strip() == "epsilon 3.0.0", err
    print(f"%add took {elapsed:.2f}s round trip")

    nb = notebook.load(path)
    assert '"epsilon' in (nb.spec_source or "")
    assert "epsilon" in lock_mod.locked_versions(nb.lock_text)
    lock_mod.check(nb)  # spec and lock agree
    md, code = nb.data["cells"][1], nb.data["cells"][2]
    assert md["cell_type"] == "markdown" and "Prose that must survive" in "".join(md["source"])
    assert "".join(code["outputs"][0]["text"]) == "alpha 2.0.0\n"  # untouched output

    # An upgrade of an imported package asks for a restart; the new env is still used.
    out, err = kernel.run("%add 'alpha>=2'")
    assert "~ alpha 1.1.0 → 2.0.0" in out, err
    assert "Restart the kernel to use the new versions of alpha" in out
    out, _ = kernel.run("%uvnb help")
    assert "%add REQ..." in out


def test_error_changes_nothing(make_notebook: Any, start_kernel: Any) -> None:
    path = make_notebook(dependencies=("alpha",), requires_python=">=3.12")
    kernel = start_kernel(path)
    before = path.read_bytes()
    out, err = kernel.run("%add no-such-package-xyz")
    assert "PYTHON-ERROR" not in err and "Traceback" not in err
    assert err.startswith("error: cannot add no-such-package-xyz to"), err
    assert path.read_bytes() == before
    out, err = kernel.run("%remove gamma")
    assert "gamma is not a dependency" in err and "PYTHON-ERROR" not in err
    out, err = kernel.run("%add --bogus x")
    assert "does not know --bogus" in err
    assert path.read_bytes() == before
    out, err = kernel.run("import alpha; print(alpha.VALUE)")
    assert out.strip().endswith("alpha 2.0.0")

    # A read-only notebook: refused before any work, and the kernel keeps its env.
    path.chmod(0o444)
    out, err = kernel.run("%add epsilon")
    assert "read-only" in err and "Traceback" not in err, err
    assert path.read_bytes() == before
    out, err = kernel.run("import epsilon")
    assert "ModuleNotFoundError" in err


def test_deps_table(make_notebook: Any, start_kernel: Any) -> None:
    path = make_notebook(dependencies=("beta",), requires_python=">=3.12")
    kernel = start_kernel(path)
    out, err = kernel.run("%deps")
    assert not err, err
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("package "))
    rows = {line.split()[0]: line.split() for line in lines[header + 1:]}
    assert rows["beta"][:3] == ["beta", "2.0.0", "direct"], out
    assert rows["alpha"][:3] == ["alpha", "2.0.0", "indirect"]
    assert rows["ipykernel"][2:] == ["indirect", "kernel", "layer"]
    assert "`%lock` records this one" in out  # the launcher locked it, the file has none
    out, err = kernel.run("%lock")
    assert "+ beta==2.0.0" in out and "written on disk" in out, err
    assert notebook.load(path).lock_text is not None


def test_comm_path_with_fake_frontend(make_notebook: Any, start_kernel: Any) -> None:
    path = make_notebook(dependencies=("alpha",), requires_python=">=3.12")
    kernel = start_kernel(path)
    comm_id = kernel.open_frontend_comm(str(path))
    out, err = kernel.run("print('after hello')")
    assert {"type": "welcome", "notebook": str(path), "version": 1} in kernel.comm_messages
    before = path.read_bytes()

    out, err = kernel.run("%add delta")
    assert "+ delta==1.2.0" in out and "sent to JupyterLab" in out, (out, err)
    updates = [m for m in kernel.comm_messages if m.get("type") == "update"]
    assert len(updates) == 1
    from uvnb.frontend import check_update

    update = check_update(updates[0])
    assert update["notebook"] == str(path) and '"delta' in update["spec"]
    assert 'name = "delta"' in update["lock"]
    assert path.read_bytes() == before  # the frontend owns the write
    kernel.send_comm(comm_id, {"type": "ack", "id": update["id"]})

    # The next change starts from what the frontend has, not from the stale file.
    out, err = kernel.run("%add epsilon")
    spec = [m for m in kernel.comm_messages if m.get("type") == "update"][-1]["spec"]
    assert '"delta' in spec and '"epsilon' in spec
    assert path.read_bytes() == before
    out, err = kernel.run("import delta, epsilon; print(delta.VALUE, epsilon.VALUE)")
    assert out.strip() == "delta 1.2.0 epsilon 3.0.0"


def test_plain_kernel_load_ext(make_notebook: Any, start_kernel: Any, tmp_path: Path) -> None:
    """``%load_ext uvnb`` where uvnb is importable but the kernel is not a uvnb kernel."""
    path = make_notebook(dependencies=("alpha",), requires_python=">=3.12")
    kernel = start_kernel(path, uvnb=False)
    before = path.read_bytes()
    # uvnb lives in the test venv; the plain kernel reaches it the way a user's env would.
    kernel.run(f"import sys; sys.path.append({os.path.dirname(os.path.dirname(__file__))!r})")
    out, err = kernel.run("%load_ext uvnb")
    assert "PYTHON-ERROR" not in err, err
    out, err = kernel.run("%add epsilon")
    assert "+ epsilon==3.0.0" in out and "uvnb add NOTEBOOK.ipynb epsilon" in out, (out, err)
    out, err = kernel.run("import epsilon; print(epsilon.VALUE)")
    assert out.strip() == "epsilon 3.0.0"
    out, err = kernel.run("%deps")
    assert "not a uvnb kernel" in err
    assert path.read_bytes() == before
