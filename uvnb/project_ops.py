"""The server side of the magics in a *project* kernel (``UVNB_PROJECT`` set).

In such a kernel the notebook has no spec of its own: the project's ``pyproject.toml`` and
``uv.lock`` are the source of truth, so ``%add``/``%remove`` are ``uv add``/``uv remove`` on the
project (``--group``/``--dev`` pass through), which also syncs the very env the kernel runs in.
Nothing is sent to the notebook. :mod:`uvnb.kernel_ops` dispatches here when it gets
``--project``; the answers have the same shape as its own, plus ``"project"``.
"""

from __future__ import annotations

import argparse
from typing import Any

from uvnb import project as project_mod
from uvnb.errors import UvnbError
from uvnb.uv import offline_requested


def _project(args: argparse.Namespace) -> project_mod.Project:
    return project_mod.load(args.project)


def _changed(diff: list[str]) -> dict[str, list[str]]:
    """Packages whose version changed or that left, with their likely import name.

    The env is changed in place, so the old ``RECORD`` is gone by the time we know what
    changed; the distribution name with ``_`` for ``-`` is right for nearly every package,
    and a miss only loses the "restart the kernel" advice.
    """
    changed = {}
    for line in diff:
        if line[:2] in {"~ ", "- "}:
            name = line[2:].split()[0].split("==")[0]
            changed[name] = [name.replace("-", "_").lower()]
    return changed


def _answer(proj: project_mod.Project, diff: list[str], **extra: Any) -> dict[str, Any]:
    env = project_mod.env_path(proj)
    files = [proj.pyproject, proj.lock_path]
    return {"project": proj.root, "project_name": proj.name, "files": files, "diff": diff,
            "env": env, "changed": _changed(diff), **extra}


def _group_args(args: argparse.Namespace) -> dict[str, Any]:
    return {"group": getattr(args, "group", None), "dev": bool(getattr(args, "dev", False))}


def op_add(args: argparse.Namespace, state: dict[str, Any]) -> dict[str, Any]:
    proj = _project(args)
    extra = ["--upgrade"] if args.upgrade else []
    diff = project_mod.add(proj, [*extra, *args.items], offline=offline_requested(),
                           **_group_args(args))
    return _answer(proj, diff)


def op_remove(args: argparse.Namespace, state: dict[str, Any]) -> dict[str, Any]:
    proj = _project(args)
    diff = project_mod.remove(proj, args.items, offline=offline_requested(), **_group_args(args))
    return _answer(proj, diff)


def op_lock(args: argparse.Namespace, state: dict[str, Any]) -> dict[str, Any]:
    """``uv lock`` (``--upgrade`` / ``--upgrade-package NAME``), then sync the env."""
    from uvnb import uv
    from uvnb.lock import diff_locks

    proj = _project(args)
    before = project_mod.read_lock(proj)
    upgrade = ["--upgrade"] if args.upgrade and not args.items else []
    for name in args.items:
        upgrade += ["--upgrade-package", name]
    interp = project_mod.interpreter_for(proj)
    uv.run(["lock", *project_mod.common_args(interp, offline_requested()), "--project", proj.root,
            *upgrade], what=f"lock project {proj.name}")
    project_mod.sync_project(proj, offline=offline_requested())
    return _answer(proj, diff_locks(before, project_mod.read_lock(proj)))


def op_sync(args: argparse.Namespace, state: dict[str, Any]) -> dict[str, Any]:
    proj = _project(args)
    project_mod.sync_project(proj, offline=offline_requested())
    return _answer(proj, [])


def op_python(args: argparse.Namespace, state: dict[str, Any]) -> dict[str, Any]:
    proj = _project(args)
    raise UvnbError(f"this kernel runs in project {proj.name}, whose Python comes from its "
                    ".python-version or requires-python, not from the notebook.",
                    f"run `uv python pin VERSION --project {proj.root}` in a terminal, then "
                    "restart the kernel.")


def op_export(args: argparse.Namespace, state: dict[str, Any]) -> dict[str, Any]:
    proj = _project(args)
    raise UvnbError(f"this kernel runs in project {proj.name}: its pyproject.toml and uv.lock "
                    f"({proj.root}) already are the exported form.",
                    "copy that project, or give the notebook its own spec with "
                    f"`uvnb import {proj.root} NOTEBOOK.ipynb` first.")


def op_deps(args: argparse.Namespace, state: dict[str, Any]) -> dict[str, Any]:
    """Rows for ``%deps``: the project's locked packages (with its default groups), then the
    kernel layer. Direct = named in ``[project].dependencies`` or a dependency group."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    from uvnb.kernel_layer import layer_packages

    proj = _project(args)
    data = project_mod.read_pyproject(proj.pyproject)
    declared = list(data.get("project", {}).get("dependencies", []))
    for group in (data.get("dependency-groups") or {}).values():
        declared += [d for d in group if isinstance(d, str)]
    direct = set()
    for text in declared:
        try:
            direct.add(canonicalize_name(Requirement(text).name))
        except InvalidRequirement:
            continue
    layer = {canonicalize_name(k): v for k, v in layer_packages(args.layer or "").items()}
    rows = []
    for pin in project_mod.locked_pins(proj, offline=offline_requested(), default_groups=True):
        name, _, version = pin.split(";")[0].strip().partition("==")
        key = canonicalize_name(name)
        rows.append({"name": name, "version": version, "direct": key in direct,
                     "source": "lock+layer" if key in layer else "lock"})
    locked = {canonicalize_name(r["name"]) for r in rows}
    rows += [{"name": n, "version": v, "direct": False, "source": "layer"}
             for n, v in sorted(layer.items()) if n not in locked]
    note = f"Project {proj.name}: {proj.pyproject} and {proj.lock_path}."
    return {"rows": rows, "python": None, "note": note, "project": proj.root}


OPS = {"add": op_add, "remove": op_remove, "lock": op_lock, "sync": op_sync,
       "python": op_python, "deps": op_deps, "export": op_export}
