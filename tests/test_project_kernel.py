"""Kernel-per-project with real kernels: discovery, ``%add`` on the project, project kernelspecs.

Why: a notebook without a spec of its own inside a uv project must run in the env ``uv sync``
makes for that project, ``%add`` must change the project (not the notebook) and be importable
at once, a notebook with its own spec must keep its own env, a stale project lock must end in
the explaining fallback kernel, and the kernel picker must offer one kernel per project
without any install step. Kernels start as jupyter_server starts them
(``start_kernel(env={..., "JPY_SESSION_NAME": path}, cwd=folder)``).
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
from conftest import use_kernel_settings
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from test_kernel_live import run, start, stop, write_notebook
from test_project import _pyproject, _tree
from traitlets import Unicode
from traitlets.config import Configurable

from uvnb import project_list
from uvnb.kernelspec_manager import UvnbKernelSpecManager
from uvnb.project_launch import choose_project
from uvnb.provisioner import server_root

PROBE = ("import os, sys\nprint(sys.prefix, os.environ.get('UVNB_PROJECT', ''), "
         "os.environ['UVNB_NOTEBOOK'], sep='|')")


@pytest.fixture(scope="module")
def pk(tmp_path_factory: pytest.TempPathFactory, wheel_index: Any, layer_dir: Path,
       pythons: Any) -> Iterator[Path]:
    """Module-wide settings like ``uv_env``'s with the shared layer; yields a work folder."""
    python312 = pythons["3.12"]
    root = tmp_path_factory.mktemp("project-kernels")
    with pytest.MonkeyPatch.context() as mp:
        use_kernel_settings(mp, root, wheel_index, layer_dir)
        mp.setenv("UVNB_TEST_PYTHON", python312)
        yield root


def make_project(folder: Path, name: str, deps: str = '"alpha"') -> Path:
    """A locked uv project on Python 3.12 (``.python-version``) from the local index."""
    _pyproject(folder, name, deps)
    (folder / ".python-version").write_text("3.12\n")
    subprocess.run([sys.executable, "-m", "uv", "lock", "--python",
                    os.environ["UVNB_TEST_PYTHON"], "--project", str(folder)],
                   check=True, capture_output=True)
    return folder


def probe(kc: Any) -> list[str]:
    result = run(kc, PROBE)
    assert result["error"] is None, result["error"]
    return result["stdout"].strip().splitlines()[-1].split("|")


@pytest.mark.slow
@pytest.mark.network
def test_notebook_in_a_project_runs_in_its_env_and_add_changes_the_project(pk: Path) -> None:
    proj = make_project(pk / "demo", "demo")
    folder = proj / "notebooks" / "eda"
    folder.mkdir(parents=True)
    path = write_notebook(folder, "nb.ipynb", None)
    own = write_notebook(proj / "notebooks", "own.ipynb", ("beta",))
    nb_bytes, lock_before = path.read_bytes(), (proj / "uv.lock").read_text()
    km, kc = start(path)
    try:
        first = run(kc, "import alpha; print(alpha.VALUE)")
        assert first["error"] is None and "alpha 2.0.0" in first["stdout"], first
        assert "runs in the environment of project demo" in first["stdout"]
        prefix, project, nb = probe(kc)
        assert (prefix, project, nb) == (str(proj / ".venv"), str(proj), str(path))

        started = time.monotonic()
        added = run(kc, "%add epsilon")
        print(f"\nproject %add: {time.monotonic() - started:.2f} s")
        assert "+ epsilon==3.0.0" in added["stdout"], added
        assert "Changed project demo" in added["stdout"]
        assert "the notebook itself is unchanged" in added["stdout"]
        imported = run(kc, "import epsilon; print(epsilon.VALUE)")
        assert imported["stdout"].strip() == "epsilon 3.0.0", imported
        assert '"epsilon' in (proj / "pyproject.toml").read_text()
        lock_after = (proj / "uv.lock").read_text()
        assert lock_after != lock_before and 'name = "epsilon"' in lock_after
        assert path.read_bytes() == nb_bytes  # the notebook is not where projects record

        grouped = run(kc, "%add --group extra delta")
        assert "+ delta==" in grouped["stdout"], grouped
        assert "[dependency-groups]" in (proj / "pyproject.toml").read_text()
        deps = run(kc, "%deps")["stdout"]
        rows = {line.split()[0]: line.split() for line in deps.splitlines() if line.strip()}
        assert rows["epsilon"][:3] == ["epsilon", "3.0.0", "direct"], deps
        assert rows["ipykernel"][2:] == ["indirect", "kernel", "layer"]
        assert "Project demo" in deps
        assert "does not know --bogus" in _stderr(kc, "%add --bogus x")
        assert "already are the exported form" in _stderr(kc, "%export out")
    finally:
        stop(km, kc)

    km, kc = start(own)  # its own spec: its own env, even inside the project
    try:
        prefix, project, nb = probe(kc)
        assert prefix.startswith(os.environ["UVNB_ENV_DIR"]) and project == ""
        assert run(kc, "import beta")["error"] is None
        assert run(kc, "import epsilon")["error"]["ename"] == "ModuleNotFoundError"
        exported = run(kc, f"%export {pk / 'exported'}")["stdout"]
        assert "uv sync --locked" in exported and (pk / "exported" / "uv.lock").exists()
    finally:
        stop(km, kc)


def _stderr(kc: Any, code: str) -> str:
    """The stderr text of one execution (user errors of the magics go there)."""
    msg_id = kc.execute(code)
    text = ""
    while True:
        msg = kc.get_iopub_msg(timeout=30)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream" and msg["content"]["name"] == "stderr":
            text += msg["content"]["text"]
        elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return text


@pytest.mark.slow
@pytest.mark.network
def test_stale_project_lock_gets_the_fallback_kernel(pk: Path) -> None:
    proj = make_project(pk / "stale", "stale")
    pyproject = proj / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"alpha"', '"alpha", "beta"'))
    lock_before = (proj / "uv.lock").read_bytes()
    path = write_notebook(proj, "nb.ipynb", None)
    km, kc = start(path)
    try:
        error = run(kc, "1")["error"]
        assert error["ename"] == "UvnbEnvironmentError"
        text = "\n".join(error["traceback"])
        assert "uv.lock of project stale is out of date" in text
        assert f"uv lock --project {proj}" in text
    finally:
        stop(km, kc)
    assert (proj / "uv.lock").read_bytes() == lock_before  # a kernel start never relocks


@pytest.mark.slow
@pytest.mark.network
def test_kernel_install_project_end_to_end(pk: Path, tmp_path: Path) -> None:
    proj = make_project(pk / "bound", "bound", '"gamma"')
    prefix = tmp_path / "prefix"
    env = {**os.environ, "JUPYTER_PATH": str(prefix / "share" / "jupyter")}
    done = subprocess.run([sys.executable, "-m", "uvnb", "kernel", "install", "--project",
                           str(proj), "--prefix", str(prefix)],
                          capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    listed = subprocess.run([sys.executable, "-m", "uvnb", "kernel", "list"],
                            capture_output=True, text=True, env=env, check=False).stdout
    line = next(ln for ln in listed.splitlines() if "uvnb-bound" in ln)
    assert line.startswith("*") and f"(project {proj})" in line
    spec = json.loads((prefix / "share/jupyter/kernels/uvnb-bound/kernel.json").read_text())
    assert spec["display_name"] == "Python (bound)"

    elsewhere = tmp_path / "elsewhere"  # a notebook outside the project: the spec decides
    elsewhere.mkdir()
    path = write_notebook(elsewhere, "nb.ipynb", None)
    ksm = KernelSpecManager(kernel_dirs=[str(prefix / "share/jupyter/kernels")])
    km, kc = start(path, KernelManager(kernel_name="uvnb-bound", kernel_spec_manager=ksm))
    try:
        assert probe(kc)[:2] == [str(proj / ".venv"), str(proj)]
        assert run(kc, "import gamma")["error"] is None
    finally:
        stop(km, kc)


class FakeServer(Configurable):
    """What the kernelspec manager needs of jupyter_server's ServerApp: its root_dir."""

    root_dir = Unicode("")


def test_kernelspec_manager_offers_one_kernel_per_project(tmp_path: Path) -> None:
    root = tmp_path / "srv"
    _pyproject(root / "a", "alpha-proj")
    _pyproject(root / "deep" / "b", "beta-proj")
    _pyproject(root / "other" / "a", "alpha-proj")  # same name: distinct kernel names
    (root / "tools").mkdir()
    (root / "tools" / "pyproject.toml").write_text("[tool.ruff]\n")  # not a project
    ksm = UvnbKernelSpecManager(parent=FakeServer(root_dir=str(root)))
    specs = ksm.get_all_specs()
    ours = {name: s["spec"] for name, s in specs.items()
            if s["spec"]["metadata"].get("uvnb")}
    assert len(ours) == 3 and "uvnb-beta-proj" in ours
    beta = ours["uvnb-beta-proj"]
    assert beta["display_name"] == "Python (beta-proj)"
    assert beta["metadata"]["uvnb"]["project"] == str(root / "deep" / "b")
    assert beta["argv"][-4:] == ["--project", str(root / "deep" / "b"), "-f",
                                 "{connection_file}"]
    assert beta["metadata"]["kernel_provisioner"]["provisioner_name"] == "uvnb-provisioner"
    assert sorted(n for n in ours if n.startswith("uvnb-alpha-proj-")) != []
    assert ksm.get_kernel_spec("uvnb-beta-proj").metadata["uvnb"]["project"] == str(
        root / "deep" / "b")


def test_kernelspec_manager_listing_time_on_a_large_tree(tmp_path: Path) -> None:
    root = tmp_path / "big"
    count = _tree(root, 10_000)
    project_list.clear_cache()
    ksm = UvnbKernelSpecManager(parent=FakeServer(root_dir=str(root)), scan_interval=0)
    started = time.perf_counter()
    cold = ksm.get_all_specs()
    cold_s = time.perf_counter() - started
    started = time.perf_counter()
    warm = ksm.get_all_specs()
    warm_s = time.perf_counter() - started
    cached = UvnbKernelSpecManager(parent=FakeServer(root_dir=str(root)))
    cached.get_all_specs()
    started = time.perf_counter()
    cached.get_all_specs()
    cached_s = time.perf_counter() - started
    print(f"\nkernelspec listing over {count} folders (100 projects): cold {cold_s * 1000:.0f} ms,"
          f" revalidated {warm_s * 1000:.0f} ms, within scan_interval {cached_s * 1000:.0f} ms")
    assert sum(1 for s in cold.values() if s["spec"]["metadata"].get("uvnb")) == 100
    assert warm.keys() == cold.keys()
    assert cold_s < 10  # generous: a picker must not hang


def test_project_choice_and_server_root(tmp_path: Path) -> None:
    outer = _pyproject(tmp_path / "outer", "outer")
    nb_dir = outer / "srv" / "nbs"
    nb_dir.mkdir(parents=True)
    plain = write_notebook(nb_dir, "plain.ipynb", None)
    own = write_notebook(nb_dir, "own.ipynb", ("alpha",))
    assert choose_project(str(plain), None, None, None).root == str(outer)
    assert choose_project(str(plain), None, None, str(outer / "srv")) is None  # root stops
    assert choose_project(str(own), None, None, None) is None  # own spec wins
    assert choose_project(str(own), None, str(outer), None).root == str(outer)  # explicit
    assert choose_project(None, str(nb_dir), None, None).root == str(outer)  # a console

    class Node:
        def __init__(self, parent: Any = None, root_dir: str | None = None) -> None:
            self.parent, self.root_dir = parent, root_dir

    provisioner = Node(Node(Node(Node(None, "/srv/root"))))  # → KM → MKM(root_dir) → app
    assert server_root(provisioner) == "/srv/root"
    assert server_root(Node(Node())) is None


def test_wheel_ships_the_server_config() -> None:
    here = Path(__file__).resolve().parent.parent
    config = json.loads((here / "jupyter-config/jupyter_server_config.d/uvnb.json").read_text())
    assert config["ServerApp"]["kernel_spec_manager_class"] == (
        "uvnb.kernelspec_manager.UvnbKernelSpecManager")
    assert ('"jupyter-config/jupyter_server_config.d/uvnb.json" = '
            '"etc/jupyter/jupyter_server_config.d/uvnb.json"') in (
        here / "pyproject.toml").read_text()


def test_export_op_and_its_project_kernel_answer(uv_env: Any, make_notebook: Any,
                                                 tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """``%export DIR`` runs ``kernel_ops export``: the notebook's versions as a uv project."""
    from uvnb import kernel_ops

    path = make_notebook(dependencies=("alpha==1.1.0",))
    out = tmp_path / "out"
    assert kernel_ops.main(["export", str(out), "--notebook", str(path)]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["ok"], answer
    assert "uv sync --locked" in answer["message"]
    assert 'version = "1.1.0"' in (out / "uv.lock").read_text()
    assert kernel_ops.main(["export", str(tmp_path / "x"), "--notebook", str(path),
                            "--project", str(out)]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert not answer["ok"] and "already are the exported form" in answer["error"]
