"""Kernel-per-project: discovery above a notebook, ``uv sync``/``uv add`` on the project,
listing the projects under a server root, and the per-project kernelspec.

Why: a notebook inside a uv project must run in *that* project's env exactly as ``uv sync``
makes it (workspace-aware, ``UV_PROJECT_ENVIRONMENT`` honoured), a stale lock must be
reported rather than silently rewritten by a kernel start, and the kernel picker's listing
must stay fast on large trees.
"""

from __future__ import annotations

import json
import time
from argparse import Namespace
from pathlib import Path

import pytest
from conftest import UvEnv

from uvnb import project as project_mod
from uvnb import project_list
from uvnb.errors import LockMismatch, UvnbError
from uvnb.project_kernel import install_project_kernelspec


def _pyproject(folder: Path, name: str, deps: str = '"beta"', extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text(
        f'[project]\nname = "{name}"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
        f"dependencies = [{deps}]\n\n[tool.uv]\npackage = false\n{extra}")
    return folder


def _installed(venv: Path) -> dict[str, str]:
    found = {}
    for info in venv.glob("lib/python3.*/site-packages/*.dist-info"):
        name, version = info.name[: -len(".dist-info")].rsplit("-", 1)
        found[name] = version
    return found


def test_find_project_nearest_stop_at_and_virtual_roots(tmp_path: Path) -> None:
    outer = _pyproject(tmp_path / "outer", "outer")
    inner = _pyproject(outer / "sub" / "inner", "inner")
    (inner / "notebooks").mkdir()
    (outer / "tools").mkdir()
    (outer / "tools" / "pyproject.toml").write_text("[tool.ruff]\nline-length = 90\n")
    assert project_mod.find_project(str(inner / "notebooks" / "a.ipynb")).root == str(inner)
    found = project_mod.find_project(str(outer / "tools" / "a.ipynb"))
    assert found is not None and found.name == "outer" and not found.is_member
    assert project_mod.find_project(str(outer / "tools" / "a.ipynb"),
                                    stop_at=str(outer / "tools")) is None
    assert project_mod.find_project(str(tmp_path / "a.ipynb"), stop_at=str(tmp_path)) is None


def test_workspace_member_knows_its_workspace_root(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.uv.workspace]\nmembers = ["packages/*"]\nexclude = ["packages/skip"]\n')
    member = _pyproject(tmp_path / "packages" / "lib", "lib")
    skipped = _pyproject(tmp_path / "packages" / "skip", "skip")
    found = project_mod.find_project(str(member / "nb.ipynb"))
    assert found is not None and found.workspace_root == str(tmp_path) and found.is_member
    assert found.lock_path == str(tmp_path / "uv.lock")
    assert found.package_args() == ["--project", str(member), "--package", "lib"]
    assert project_mod.find_project(str(skipped / "nb.ipynb")).workspace_root == str(skipped)
    with pytest.raises(LockMismatch, match=r"has no uv\.lock.*workspace root"):
        project_mod.check_lock(found)


def test_broken_pyproject_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project\nname = 1\n")
    with pytest.raises(UvnbError, match="not valid TOML") as info:
        project_mod.find_project(str(tmp_path / "nb.ipynb"))
    assert info.value.hint


def test_sync_add_remove_in_a_project(
    uv_env: UvEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, default_python: str
) -> None:
    root = _pyproject(tmp_path / "proj", "proj", '"alpha==1.1.0"', extra="\n[dependency-groups]"
                      '\ndev = ["epsilon"]\n')
    uv_env.run("lock", "--python", default_python, cwd=root)
    monkeypatch.setenv("UV_PROJECT_ENVIRONMENT", "envs/kernel")
    proj = project_mod.load(str(root))
    env = project_mod.sync_project(proj)
    assert env.path == str(root / "envs" / "kernel") and Path(env.python).exists()
    assert _installed(Path(env.path)) == {"alpha": "1.1.0", "epsilon": "3.0.0"}  # dev too
    pth = Path(env.site_packages) / "zz_uvnb_kernel_layer.pth"
    pth.write_text("/somewhere/layer\n")  # what kernel_layer.attach leaves in the env
    assert project_mod.add(proj, ["delta==1.0.0"]) == ["+ delta==1.0.0"]
    assert project_mod.add(proj, ["conflict-a"], group="extra") == ["+ conflict-a==1.0.0"]
    assert project_mod.remove(proj, ["conflict-a"], group="extra") == ["- conflict-a==1.0.0"]
    assert "delta" in _installed(Path(env.path)) and pth.exists()  # uv sync keeps our .pth
    lock_before = (root / "uv.lock").read_bytes()
    (root / "pyproject.toml").write_text(
        (root / "pyproject.toml").read_text().replace('"delta==1.0.0"', '"delta==1.2.0"'))
    with pytest.raises(LockMismatch, match="out of date") as info:
        project_mod.sync_project(proj)
    assert "uv lock --project" in (info.value.hint or "")
    assert (root / "uv.lock").read_bytes() == lock_before


def test_sync_failure_is_reported(uv_env: UvEnv, tmp_path: Path, default_python: str) -> None:
    root = _pyproject(tmp_path / "proj", "proj", '"conflict-a", "conflict-b"')
    with pytest.raises(UvnbError, match="failed to sync"):
        project_mod.sync_project(project_mod.load(str(root)), locked=False)
    assert not (root / "uv.lock").exists()


def test_sync_async_twin(uv_env: UvEnv, tmp_path: Path, default_python: str) -> None:
    import asyncio

    root = _pyproject(tmp_path / "proj", "proj")
    uv_env.run("lock", "--python", default_python, cwd=root)
    lines: list[str] = []
    env = asyncio.run(project_mod.sync_project_async(project_mod.load(str(root)),
                                                     on_line=lines.append))
    assert _installed(Path(env.path)) == {"alpha": "2.0.0", "beta": "2.0.0"}
    assert any("Installed" in line for line in lines)


def _tree(root: Path, folders: int) -> int:
    """``folders`` folders, 10 per level-2 parent, a project in every 100th."""
    import os

    made = 0
    os.mkdir(root)
    for a in range(folders // 100):
        os.mkdir(f"{root}/a{a}")
        for b in range(10):
            os.mkdir(f"{root}/a{a}/b{b}")
            for c in range(9):
                os.mkdir(f"{root}/a{a}/b{b}/c{c}")
            made += 10
        _pyproject(root / f"a{a}" / "b0" / "c0", f"p{a}")
    for noise in (".git/x", "node_modules/y", ".venv/z", "__pycache__/w"):
        _pyproject(root / noise, "hidden")
    return made + folders // 100


def test_list_projects_is_bounded_cached_and_fast(tmp_path: Path) -> None:
    root = tmp_path / "srv"
    count = _tree(root, 10_000)
    assert count >= 10_000
    project_list.clear_cache()
    started = time.perf_counter()
    found = project_list.list_projects(str(root))
    cold = time.perf_counter() - started
    started = time.perf_counter()
    again = project_list.list_projects(str(root))
    warm = time.perf_counter() - started
    print(f"\nlist_projects over {count} folders: cold {cold * 1000:.0f} ms, "
          f"cached {warm * 1000:.0f} ms")
    assert len(found) == 100 and again == found
    assert {p.name for p in found} == {f"p{i}" for i in range(100)}
    assert cold < 2.0 and warm < cold
    assert project_list.list_projects(str(root), max_depth=2) == []
    _pyproject(root / "a0" / "b1", "late")  # a change below is seen despite the cache
    assert "late" in {p.name for p in project_list.list_projects(str(root))}


def test_project_kernelspec(tmp_path: Path) -> None:
    root = _pyproject(tmp_path / "My Proj", "My_Proj")
    args = Namespace(project=str(root), name=None, display_name=None, user=False,
                     prefix=str(tmp_path / "prefix"), quiet=True)
    assert install_project_kernelspec(args) == 0
    spec = json.loads((tmp_path / "prefix/share/jupyter/kernels/uvnb-my-proj/kernel.json")
                      .read_text())
    assert spec["display_name"] == "Python (My_Proj)"
    assert spec["argv"][1:] == ["-m", "uvnb.kernel", "--project", str(root), "-f",
                                "{connection_file}"]
    assert spec["metadata"]["kernel_provisioner"]["provisioner_name"] == "uvnb-provisioner"
    assert spec["metadata"]["uvnb"] == {"project": str(root)}
