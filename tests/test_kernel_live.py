"""Real kernels, started exactly as jupyter_server starts them.

``KernelManager(kernel_name="uvnb").start_kernel(env={..., "JPY_SESSION_NAME": path},
cwd=folder)`` goes through the provisioner; packages come from the suite's local index,
ipykernel (the kernel layer) from real PyPI, built once per session by conftest's
``layer_dir`` (``UVNB_TEST_LAYER_DIR`` keeps it across sessions). One module-wide env store keeps
the notebooks' envs warm between tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import wheelhouse
from conftest import use_kernel_settings
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

from uvnb import lock, notebook
from uvnb.execute import kernel_manager

pytestmark = [pytest.mark.slow, pytest.mark.network]



@pytest.fixture(scope="module")
def kenv(tmp_path_factory: pytest.TempPathFactory, wheel_index: Any, layer_dir: Path,
         pythons: Any) -> Iterator[Path]:
    """Module-wide settings like ``uv_env``'s, plus the layer; yields the notebooks' folder.

    A uv cache of its own: the layer comes from PyPI, whose index pages would otherwise
    land in the session cache that other tests expect to hold only the local index.
    """
    pythons["3.12"]  # skips the module without a real Python 3.12
    root = tmp_path_factory.mktemp("kernels")
    with pytest.MonkeyPatch.context() as mp:
        use_kernel_settings(mp, root, wheel_index, layer_dir)
        (root / "nbs").mkdir()
        yield root / "nbs"


def write_notebook(folder: Path, name: str, deps: tuple[str, ...] | None,
                   cells: tuple[str, ...] = ()) -> Path:
    """A notebook pinned to 3.12 with ``deps`` (None: no spec at all) and code ``cells``."""
    path = folder / name
    nb = notebook.loads(json.dumps(notebook.new_notebook_data()), str(path))
    nb.data["cells"] = [{"cell_type": "code", "execution_count": None, "id": f"c{i}",
                         "metadata": {}, "outputs": [], "source": src}
                        for i, src in enumerate(cells)]
    if deps is not None:
        nb.set_spec_source(wheelhouse.pep723_block(deps, ">=3.11"))
        nb.set_python_request("3.12")
    nb.raw = b""
    notebook.save(nb)
    return path


def start(path: Path, km: KernelManager | None = None) -> tuple[KernelManager, Any]:
    """Start a kernel the way jupyter_server does for ``path``; return manager and client."""
    km = km or KernelManager(kernel_name="uvnb")
    km.start_kernel(env={**os.environ, "JPY_SESSION_NAME": str(path)}, cwd=str(path.parent))
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    return km, kc


def run(kc: Any, code: str) -> dict[str, Any]:
    """Execute ``code``; the stdout text and any error (ename, evalue, traceback)."""
    msg_id = kc.execute(code)
    out: dict[str, Any] = {"stdout": "", "error": None}
    while True:
        msg = kc.get_iopub_msg(timeout=30)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream" and content["name"] == "stdout":
            out["stdout"] += content["text"]
        elif kind == "error":
            out["error"] = content
        elif kind == "status" and content["execution_state"] == "idle":
            return out


def stop(km: KernelManager, kc: Any) -> None:
    kc.stop_channels()
    km.shutdown_kernel(now=True)


PROBE = ("import os, sys\nprint(sys.version_info[:2], sys.prefix, os.environ['UVNB_ENV'], "
         "os.environ['UVNB_NOTEBOOK'], sep='|')")


def probe(kc: Any) -> list[str]:
    result = run(kc, PROBE)
    assert result["error"] is None, result["error"]
    return result["stdout"].strip().splitlines()[-1].split("|")  # after any startup message


def test_kernel_runs_in_the_locked_env_and_restart_picks_up_a_new_lock(kenv: Path) -> None:
    path = write_notebook(kenv, "analysis.ipynb", ("alpha",))
    km, kc = start(path)
    try:
        first = run(kc, "pass")["stdout"]  # the magics print UVNB_STARTUP_MESSAGE once
        version, prefix, env, nb = probe(kc)
        assert version == "(3, 12)"
        assert prefix == env and prefix.startswith(os.environ["UVNB_ENV_DIR"])
        assert nb == str(path)
        assert run(kc, "import alpha; print(alpha.__name__)")["error"] is None
        assert run(kc, "import beta")["error"]["ename"] == "ModuleNotFoundError"
        # UVNB_STARTUP_MESSAGE, printed by the magics with the first execution's output
        assert "built the env for analysis.ipynb" in first and "alpha==" in first
        print("\nfirst output:", first.strip())

        nb_obj = notebook.load(path)  # what `%add beta` / `uvnb add` do: relock, save
        lock.add(nb_obj, ["beta"]).apply(nb_obj)
        notebook.save(nb_obj)
        km.restart_kernel(now=True)
        kc.wait_for_ready(timeout=60)
        assert run(kc, "import beta; print(beta.__name__)")["error"] is None
        assert probe(kc)[1] != prefix  # a new lock means a new env
    finally:
        stop(km, kc)


def test_broken_notebook_gets_the_fallback_kernel(kenv: Path) -> None:
    path = write_notebook(kenv, "broken.ipynb", ("no-such-package-uvnb",))
    km, kc = start(path)
    try:
        for _ in range(2):  # every execution answers with the error
            error = run(kc, "print('never runs')")["error"]
            assert error["ename"] == "UvnbEnvironmentError"
            text = "\n".join(error["traceback"])
            assert "could not start in its own environment" in text
            assert "no-such-package-uvnb" in text
            assert "error:" in text and "hint:" in text
    finally:
        stop(km, kc)


@pytest.fixture
def argv_manager(tmp_path: Path) -> Any:
    """A KernelManager factory for a kernelspec with only the argv (no provisioner)."""
    spec_dir = tmp_path / "kernels" / "uvnb-argv"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "uvnb.kernel", "-f", "{connection_file}"],
        "display_name": "argv only", "language": "python"}))
    ksm = KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")])
    return lambda: KernelManager(kernel_name="uvnb-argv", kernel_spec_manager=ksm)


def test_argv_launcher_without_a_provisioner(kenv: Path, argv_manager: Any) -> None:
    path = write_notebook(kenv, "argv.ipynb", ("alpha",))
    km, kc = start(path, argv_manager())
    try:
        assert type(km.provisioner).__name__ == "LocalProvisioner"
        version, prefix, env, nb = probe(kc)
        assert (version, prefix, nb) == ("(3, 12)", env, str(path))
        assert run(kc, "import alpha")["error"] is None
    finally:
        stop(km, kc)
    broken = write_notebook(kenv, "argv-broken.ipynb", ("no-such-package-uvnb",))
    km, kc = start(broken, argv_manager())
    try:
        error = run(kc, "1")["error"]
        assert error["ename"] == "UvnbEnvironmentError"
        assert "no-such-package-uvnb" in "\n".join(error["traceback"])
    finally:
        stop(km, kc)


def test_notebook_without_spec_gets_the_default_env(kenv: Path) -> None:
    (kenv / "plain").mkdir()
    path = write_notebook(kenv / "plain", "plain.ipynb", None)
    km, kc = start(path)
    try:
        version, _, _, nb = probe(kc)
        assert version == "(3, 12)" and nb == str(path)
        assert run(kc, "import alpha")["error"]["ename"] == "ModuleNotFoundError"
        assert notebook.load(path).spec_source is None  # the user's notebook is untouched
    finally:
        stop(km, kc)


def uvnb_exec(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "uvnb", "exec", str(path)],
                          capture_output=True, text=True, timeout=120, check=False)


def test_uvnb_exec_success_and_failing_cell(kenv: Path) -> None:
    good = write_notebook(kenv, "good.ipynb", ("alpha",), ("import alpha", "print(1 + 1)"))
    done = uvnb_exec(good)
    assert done.returncode == 0, done.stderr
    assert "executed 3 cells of good.ipynb" in done.stdout
    bad = write_notebook(kenv, "bad.ipynb", ("alpha",), ("x = 1", "import beta"))
    failed = uvnb_exec(bad)
    assert failed.returncode == 1
    assert "cell 2 ('import beta') failed: ModuleNotFoundError" in failed.stderr


def test_measure_warm_start(kenv: Path) -> None:
    """Warm start → first execution: uvnb kernel vs a plain ipykernel kernelspec (printed)."""
    path = write_notebook(kenv, "warm.ipynb", ("alpha",))
    stop(*start(path))  # warm up: env and layer exist afterwards

    def timed(make: Any) -> float:
        began = time.perf_counter()
        km, kc = start(path, make())
        run(kc, "1")
        seconds = time.perf_counter() - began
        stop(km, kc)
        return seconds

    plain_dir = kenv.parent / "plain-spec"
    (plain_dir / "plain").mkdir(parents=True, exist_ok=True)
    (plain_dir / "plain" / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "plain", "language": "python"}))
    plain_ksm = KernelSpecManager(kernel_dirs=[str(plain_dir)])
    uvnb_s = min(timed(kernel_manager) for _ in range(3))
    plain_s = min(timed(lambda: KernelManager(kernel_name="plain",
                                              kernel_spec_manager=plain_ksm))
                  for _ in range(3))
    print(f"\nwarm start to first execution: uvnb {uvnb_s:.2f} s, plain ipykernel "
          f"{plain_s:.2f} s (overhead {uvnb_s - plain_s:+.2f} s)")


def test_warm_start_skips_the_launch_subprocess(kenv: Path, monkeypatch: Any) -> None:
    """Nothing changed: the provisioner starts the kernel without `python -m uvnb.launch`."""
    from uvnb import provisioner

    path = write_notebook(kenv, "warm.ipynb", ("alpha",))
    km, kc = start(path)
    prefix = probe(kc)[1]
    stop(km, kc)
    # With the launch step made impossible, only the in-process quick path can succeed.
    monkeypatch.setattr(provisioner, "LAUNCH_COMMAND", ["/bin/false"])
    km, kc = start(path)
    try:
        assert probe(kc)[1] == prefix
    finally:
        stop(km, kc)
    # Any change to the file (here: a new cell) sends it back through the full launch.
    nb = notebook.load(path)
    nb.data["cells"].append({"cell_type": "code", "execution_count": None, "id": "new",
                             "metadata": {}, "outputs": [], "source": "1"})
    notebook.save(nb)
    km, kc = start(path)
    try:
        assert run(kc, "1")["error"]["ename"] == "UvnbEnvironmentError"
    finally:
        stop(km, kc)
