"""Notebook ⇄ uv project round trips keep exact versions, and bad input changes nothing.

Why these tests: the promise of ``uvnb export`` is that ``uv sync --locked`` in the exported
project installs *the very same versions* the notebook had locked, even when a fresh
resolution would pick newer ones; and ``uvnb import`` promises the reverse. So every test
locks a notebook or project at deliberately old versions (alpha 1.1.0 / beta 1.0.0, while
the index offers 2.0.0 of both) and compares installed or locked versions, not files.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import MakeNotebook, UvEnv

from uvnb import cli, lock, notebook, spec, sync
from uvnb import project as project_mod
from uvnb.export import project_name

OLD = {"alpha": "1.1.0", "beta": "1.0.0", "delta": "1.2.0", "gamma": "0.1.0"}


def _installed(venv: Path) -> dict[str, str]:
    """``{name: version}`` from the dist-info folders of a venv (no process needed)."""
    found = {}
    for info in venv.glob("lib/python3.*/site-packages/*.dist-info"):
        name, version = info.name[: -len(".dist-info")].rsplit("-", 1)
        found[name.replace("_", "-")] = version
    return found


def _old_notebook(make_notebook: MakeNotebook, name: str = "My Analysis.ipynb") -> Path:
    """A notebook asking for ``alpha, gamma`` whose lock holds the old versions in OLD."""
    path = make_notebook(name, dependencies=("alpha==1.1.0", "gamma"))
    nb = notebook.load(path)
    lock.relock(nb).apply(nb)
    nb.set_spec_source(spec.edit(nb.spec_source or "", str(path),
                                 dependencies=["alpha", "gamma"]))
    lock.relock(nb).apply(nb)  # uv keeps the locked versions while they still fit
    notebook.save(nb)
    assert lock.locked_versions(nb.lock_text) == OLD
    return path


def _old_project(uv_env: UvEnv, folder: Path, python: str, extra: str = "") -> Path:
    """A virtual uv project depending on ``beta, epsilon``, locked at old versions."""
    folder.mkdir(parents=True, exist_ok=True)
    body = ('[project]\nname = "proj"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
            'dependencies = [{deps}]\n\n[tool.uv]\npackage = false\n' + extra)
    pyproject = folder / "pyproject.toml"
    pyproject.write_text(body.format(deps='"beta", "epsilon", "alpha==1.1.0"'))
    uv_env.run("lock", "--python", python, cwd=folder)
    pyproject.write_text(body.format(deps='"beta", "epsilon"'))
    uv_env.run("lock", "--python", python, cwd=folder)
    return folder


def _snapshot(*paths: Path) -> dict[Path, bytes | None]:
    return {p: p.read_bytes() if p.exists() else None for p in paths}


def test_project_name_is_normalised() -> None:
    assert project_name("/x/My Analysis (v2).ipynb") == "my-analysis-v2"
    assert project_name("__.ipynb") == "notebook"


def test_export_then_uv_sync_locked_installs_the_notebooks_versions(
    uv_env: UvEnv, make_notebook: MakeNotebook, tmp_path: Path, default_python: str
) -> None:
    nb_path = _old_notebook(make_notebook)
    before = nb_path.read_bytes()
    dest = tmp_path / "proj"
    assert cli.main(["export", str(nb_path), "--to", str(dest), "-q"]) == 0
    assert nb_path.read_bytes() == before  # export never writes the notebook
    pyproject = (dest / "pyproject.toml").read_text()
    assert 'name = "my-analysis"' in pyproject and "package = false" in pyproject
    assert "constraint-dependencies" not in pyproject  # the forcing pins are gone again
    uv_env.run("sync", "--locked", "--python", default_python, cwd=dest)
    assert _installed(dest / ".venv") == OLD


def test_export_refuses_existing_project_and_force_replaces(
    uv_env: UvEnv, make_notebook: MakeNotebook, tmp_path: Path, capsys
) -> None:
    nb_path = _old_notebook(make_notebook)
    dest = tmp_path / "proj"
    dest.mkdir()
    (dest / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "1"\n')
    files = _snapshot(dest / "pyproject.toml", dest / "uv.lock")
    assert cli.main(["export", str(nb_path), "--to", str(dest)]) == 1
    assert "already exists" in capsys.readouterr().err
    assert _snapshot(*files) == files
    assert cli.main(["export", str(nb_path), "--to", str(dest), "--force", "-q"]) == 0
    assert lock.locked_versions((dest / "uv.lock").read_text()).items() >= OLD.items()


def test_export_merge_keeps_the_projects_content(
    uv_env: UvEnv, make_notebook: MakeNotebook, tmp_path: Path, default_python: str
) -> None:
    nb_path = _old_notebook(make_notebook)
    dest = _old_project(uv_env, tmp_path / "proj", default_python,
                        extra='\n[tool.ruff]\nline-length = 99\n')
    assert cli.main(["export", str(nb_path), "--to", str(dest), "--merge", "-q"]) == 0
    data = project_mod.read_pyproject(str(dest / "pyproject.toml"))
    assert data["project"]["name"] == "proj" and data["tool"]["ruff"] == {"line-length": 99}
    assert data["project"]["dependencies"] == ["beta", "epsilon", "alpha", "gamma"]
    locked = lock.locked_versions((dest / "uv.lock").read_text())
    assert locked.items() >= OLD.items() and locked["epsilon"] == "3.0.0"


def test_requirements_and_pylock_come_from_uvs_exporter(
    uv_env: UvEnv, make_notebook: MakeNotebook, tmp_path: Path, capsys
) -> None:
    nb_path = _old_notebook(make_notebook)
    assert cli.main(["export", str(nb_path)]) == 0
    out = capsys.readouterr().out
    assert "alpha==1.1.0" in out and "--hash=sha256:" in out and ".uvnb-" not in out
    target = tmp_path / "pylock.toml"
    assert cli.main(["export", str(nb_path), "--format", "pylock", "-o", str(target)]) == 0
    assert 'lock-version = "1.0"' in target.read_text()
    assert cli.main(["export", str(nb_path), "--format", "pylock", "-o", str(target)]) == 1


def test_import_gives_a_new_notebook_the_projects_exact_versions(
    uv_env: UvEnv, tmp_path: Path, default_python: str
) -> None:
    proj = _old_project(uv_env, tmp_path / "proj", default_python,
                        extra='exclude-newer = "2025-01-01T00:00:00Z"\n')
    nb_path = tmp_path / "new.ipynb"
    assert cli.main(["import", str(proj), str(nb_path), "-q"]) == 0
    nb = notebook.load(str(nb_path))
    parsed = spec.parse(nb.spec_source or "")
    assert parsed.dependencies == ["beta", "epsilon"]
    assert parsed.requires_python == ">=3.11"
    assert parsed.exclude_newer == "2025-01-01T00:00:00Z"
    assert "constraint-dependencies" not in (nb.spec_source or "")
    project_locked = lock.locked_versions((proj / "uv.lock").read_text())
    project_locked.pop("proj")
    assert lock.locked_versions(nb.lock_text) == project_locked == {
        "alpha": "1.1.0", "beta": "1.0.0", "epsilon": "3.0.0"}
    assert cli.main(["sync", str(nb_path), "-q"]) == 0
    env = sync.fast_path(notebook.load(str(nb_path)))
    assert env is not None and _installed(Path(env.path)) == project_locked


def test_add_from_project_keeps_the_notebooks_own_dependencies(
    uv_env: UvEnv, make_notebook: MakeNotebook, tmp_path: Path, default_python: str
) -> None:
    proj = _old_project(uv_env, tmp_path / "proj", default_python)
    nb_path = make_notebook(dependencies=("delta",))
    assert cli.main(["add", str(nb_path), "--from", str(proj), "-q"]) == 0
    nb = notebook.load(str(nb_path))
    assert spec.parse(nb.spec_source or "").dependencies == ["delta", "beta", "epsilon"]
    assert lock.locked_versions(nb.lock_text).items() >= {"alpha": "1.1.0",
                                                         "beta": "1.0.0"}.items()
    cells = json.loads(nb_path.read_text())["cells"]
    assert cells[-1]["outputs"][0]["text"] == ["alpha 2.0.0\n"]  # other cells untouched


@pytest.mark.parametrize("problem", ["broken", "stale", "member-without-lock", "no-project"])
def test_import_refuses_bad_projects_and_changes_nothing(
    uv_env: UvEnv, make_notebook: MakeNotebook, tmp_path: Path, default_python: str,
    problem: str, capsys
) -> None:
    proj = _old_project(uv_env, tmp_path / "proj", default_python)
    pyproject = proj / "pyproject.toml"
    expected = {"broken": "not valid TOML", "stale": "out of date",
                "member-without-lock": "has no uv.lock", "no-project": "no [project]"}[problem]
    if problem == "broken":
        pyproject.write_text(pyproject.read_text() + "\n[project\n")
    elif problem == "stale":
        pyproject.write_text(pyproject.read_text().replace('"epsilon"', '"epsilon", "delta"'))
    elif problem == "no-project":
        pyproject.write_text("[tool.uv]\npackage = false\n")
    else:
        (tmp_path / "pyproject.toml").write_text(
            '[tool.uv.workspace]\nmembers = ["proj"]\n')
        (proj / "uv.lock").unlink()
    nb_path = make_notebook()
    files = _snapshot(nb_path, pyproject, proj / "uv.lock")
    assert cli.main(["import", str(proj), str(nb_path)]) == 1
    err = capsys.readouterr().err
    assert expected in err and "hint:" in err
    if problem == "stale":
        assert "uv lock --project" in err
    assert _snapshot(*files) == files


def test_merge_that_cannot_keep_the_versions_changes_nothing(
    uv_env: UvEnv, make_notebook: MakeNotebook, tmp_path: Path, default_python: str, capsys
) -> None:
    nb_path = _old_notebook(make_notebook)
    dest = _old_project(uv_env, tmp_path / "proj", default_python)
    pyproject = dest / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"epsilon"', '"epsilon", "conflict-b"'))
    uv_env.run("lock", "--python", default_python, cwd=dest)
    files = _snapshot(nb_path, dest / "pyproject.toml", dest / "uv.lock",
                      dest / ".python-version")
    assert cli.main(["export", str(nb_path), "--to", str(dest), "--merge"]) == 1
    assert "error: cannot lock" in capsys.readouterr().err
    assert _snapshot(*files) == files
