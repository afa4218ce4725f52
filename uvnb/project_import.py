"""uv project → notebook: the project's requirements, Python and exact versions.

The reverse of :func:`uvnb.export.export_project`, by the same method (see its module
docstring): the notebook is locked once with the project's ``uv export`` pins forced as
``constraint-dependencies``, once without them (uv keeps the versions), and the result must
contain every pin. The notebook is written only after that check, so any failure (broken
pyproject, stale or missing lock, a conflict with the notebook's own requirements) leaves
it untouched.
"""

from __future__ import annotations

import os

from uvnb import lock, notebook, spec, uv
from uvnb import project as project_mod
from uvnb.errors import UvnbError
from uvnb.export import (
    PROJECT_ONLY,
    describe_difference,
    notebook_pins,
    rebase_sources,
    with_constraints,
)


def _spec_for_project(nb: notebook.Notebook, proj: project_mod.Project) -> str:
    """The notebook's spec with the project's requirements, Python and [tool.uv] settings."""
    import tomlkit
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    data = project_mod.read_pyproject(proj.pyproject)
    wanted = [str(d) for d in data["project"].get("dependencies", [])]
    tool = data.get("tool", {})
    tool_uv = dict(tool.get("uv", {})) if isinstance(tool, dict) else {}
    nb_dir = os.path.dirname(os.path.abspath(nb.path))
    tool_uv = rebase_sources(tool_uv, proj.root, nb_dir)
    source = nb.spec_source or spec.new_source(proj.requires_python)
    doc = tomlkit.parse(spec.extract_body(source, nb.path))
    names = {canonicalize_name(Requirement(d).name) for d in wanted}
    kept = [d for d in doc.get("dependencies", [])
            if canonicalize_name(Requirement(str(d)).name) not in names]
    deps = tomlkit.array()
    deps.extend([*map(str, kept), *wanted])
    deps.multiline(True)
    doc["dependencies"] = deps
    if proj.requires_python:
        doc["requires-python"] = proj.requires_python
    carried = {k: v for k, v in tool_uv.items() if k not in PROJECT_ONLY}
    if carried:
        doc_tool = doc.setdefault("tool", tomlkit.table(is_super_table=True))
        target = doc_tool.setdefault("uv", tomlkit.table())
        for key, value in carried.items():
            target[key] = value
    return spec.render(tomlkit.dumps(doc))


def import_into(proj_dir: str, nb_path: str, *, offline: bool = False) -> lock.Change:
    """Give the notebook the project's dependencies and exact versions; save it."""
    proj = project_mod.load(proj_dir)
    interp = project_mod.interpreter_for(proj)
    project_mod.check_lock(proj, offline=offline, interp=interp)
    pins = project_mod.locked_pins(proj, offline=offline, interp=interp)
    nb = notebook.open_for_write(nb_path, create=True)
    old_lock = nb.lock_text
    final = _spec_for_project(nb, proj)
    nb.set_spec_source(_force(final, nb.path, pins) if pins else final)
    lock.relock(nb, offline=offline, interp=interp).apply(nb)
    nb.set_spec_source(final)
    lock.relock(nb, offline=offline, interp=interp).apply(nb)
    got = notebook_pins(nb, offline)
    if not set(pins) <= set(got):
        raise UvnbError(f"{nb.path} cannot lock the versions of project {proj.name} "
                        f"({describe_difference(pins, got)}); the notebook was not changed.",
                        "its own requirements pull other versions; import into a new "
                        "notebook, or remove the conflicting requirement first.")
    if not nb.python_request:
        nb.set_python_request(interp.minor)
    notebook.save(nb)
    return lock.Change(final, nb.lock_text, old_lock)


def _force(source: str, where: str, pins: list[str]) -> str:
    import tomlkit

    doc = tomlkit.parse(spec.extract_body(source, where))
    return spec.render(tomlkit.dumps(with_constraints(doc, pins)))


def import_project(proj_dir: str, nb_path: str, quiet: bool = False,
                   offline: bool | None = None) -> int:
    """``uvnb add NB --from DIR`` and ``uvnb import DIR NB``: print what changed."""
    change = import_into(proj_dir, nb_path,
                         offline=uv.offline_requested() if offline is None else offline)
    if not quiet:
        print(f"Imported {os.path.abspath(proj_dir)} into {nb_path}")
        for line in change.diff():
            print(f"  {line}")
    return 0
