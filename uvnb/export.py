"""Notebook → uv project / requirements.txt / pylock.toml, and uv project → notebook.

A script lock (the notebook's) and a project lock differ in format, so one is never copied
into the other. Instead uv re-locks the target with the source's exact versions forced,
then again with them released, then we check:

1. every ``name==version`` of the source lock (as ``uv export`` lists it, markers kept)
   goes into ``[tool.uv] constraint-dependencies`` of the target, and uv locks it: the
   target cannot resolve to anything else (or fails, and nothing is kept);
2. the constraints come out again and uv relocks; uv keeps the versions of an existing
   lock while they still fit, so the result is the same set of versions without pins the
   user never asked for;
3. ``uv export`` of the new lock must list exactly the source's pins, or it is an error.

Every failure leaves the notebook, pyproject.toml and uv.lock byte for byte as they were.
The requirements-txt and pylock formats are uv's own exporters on the materialised script.
"""

from __future__ import annotations

import os
import re
import sys
from argparse import Namespace
from collections.abc import Iterator
from contextlib import contextmanager

from uvnb import lock, notebook, spec, uv
from uvnb import project as project_mod
from uvnb.errors import UvnbError

#: [tool.uv] keys that only make sense for a project, never copied into a notebook spec.
PROJECT_ONLY = frozenset({"package", "workspace", "dev-dependencies", "managed",
                          "default-groups", "conflicts", "build-backend", "cache-keys"})


def project_name(notebook_path: str) -> str:
    """A valid, normalised project name from the notebook's file name."""
    stem = os.path.splitext(os.path.basename(notebook_path))[0]
    name = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")
    return name or "notebook"


def _offline(args: Namespace) -> bool:
    return bool(getattr(args, "offline", False)) or uv.offline_requested()


def _current_lock(nb: notebook.Notebook, offline: bool) -> lock.Change:
    """The notebook's lock brought up to its spec (a no-op for uv when it is current)."""
    change = lock.relock(nb, offline=offline)
    if change.lock_text != nb.lock_text:
        print(f"warning: the lock stored in {nb.path} was out of date; exporting the updated "
              f"one (run `uvnb lock {nb.path}` to save it).", file=sys.stderr)
    return change


def _script_export(nb: notebook.Notebook, fmt: str, offline: bool, pins: bool = False) -> str:
    """uv's exporter over the notebook's lock; ``pins`` strips it to requirement lines."""
    interp = lock.interpreter_for(nb)
    # No header: it would name the temporary script, which means nothing to the reader.
    extra = ["--no-hashes", "--no-annotate"] if pins else []
    with lock.materialised(nb) as script:
        proc = uv.run(["export", "--frozen", "--script", script.path, "--python", interp.path,
                       "--no-progress", "--format", fmt, "--no-header", *extra,
                       *(["--offline"] if offline else [])],
                      what=f"export the lock of {nb.path}")
    return proc.stdout


def notebook_pins(nb: notebook.Notebook, offline: bool = False) -> list[str]:
    """Exact ``name==version[ ; marker]`` lines of everything the notebook has locked."""
    text = _script_export(nb, "requirements-txt", offline, pins=True)
    return project_mod.pins_from_requirements(text)


def describe_difference(expected: list[str], got: list[str]) -> str:
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    return "; ".join(filter(None, [f"expected {', '.join(missing)}" if missing else "",
                                   f"got {', '.join(extra)}" if extra else ""]))


# --- notebook -> project --------------------------------------------------------------


@contextmanager
def _restorable(paths: list[str]) -> Iterator[None]:
    """Put ``paths`` back byte for byte (or remove them) if the block fails."""
    saved: dict[str, bytes | None] = {}
    for path in paths:
        try:
            with open(path, "rb") as handle:
                saved[path] = handle.read()
        except FileNotFoundError:
            saved[path] = None
    try:
        yield
    except BaseException:
        for path, data in saved.items():
            if data is None:
                if os.path.exists(path):
                    os.remove(path)
            else:
                notebook.atomic_write_text(path, data.decode("utf-8"))
        raise


def _dump(doc: object, path: str) -> None:
    import tomlkit

    notebook.atomic_write_text(path, tomlkit.dumps(doc))


def rebase_sources(tool_uv: dict, src_dir: str, dest_dir: str) -> dict:
    """``[tool.uv.sources]`` with relative ``path``s re-expressed from ``dest_dir``."""
    sources = tool_uv.get("sources")
    if not isinstance(sources, dict):
        return tool_uv
    rebased = {}
    for name, source in sources.items():
        entries = source if isinstance(source, list) else [source]
        fixed = []
        for entry in entries:
            entry = dict(entry)
            if isinstance(entry.get("path"), str) and not os.path.isabs(entry["path"]):
                target = os.path.join(src_dir, entry["path"])
                entry["path"] = os.path.relpath(target, dest_dir).replace(os.sep, "/")
            fixed.append(entry)
        rebased[name] = fixed if isinstance(source, list) else fixed[0]
    return {**tool_uv, "sources": rebased}


def _new_pyproject(nb: notebook.Notebook, parsed: spec.Spec, dest: str) -> object:
    import tomlkit

    doc = tomlkit.document()
    table = tomlkit.table()
    table["name"] = project_name(nb.path)
    table["version"] = "0.1.0"
    if parsed.requires_python:
        table["requires-python"] = parsed.requires_python
    deps = tomlkit.array()
    deps.extend(parsed.dependencies)
    deps.multiline(bool(parsed.dependencies))
    table["dependencies"] = deps
    doc["project"] = table
    nb_dir = os.path.dirname(os.path.abspath(nb.path))
    carried = rebase_sources(dict(parsed.tool_uv), nb_dir, dest)
    tool_uv = tomlkit.table()
    tool_uv["package"] = False  # a virtual project: `uv sync` never builds it
    for key, value in carried.items():
        if key not in PROJECT_ONLY:
            tool_uv[key] = value
    tool = tomlkit.table(is_super_table=True)
    tool["uv"] = tool_uv
    doc["tool"] = tool
    return doc


def _merged_pyproject(path: str, parsed: spec.Spec) -> object:
    """The existing pyproject with the notebook's requirements in its dependencies."""
    import tomlkit
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project_mod.read_pyproject(path)  # a clear error for broken TOML
    with open(path, encoding="utf-8") as handle:
        doc = tomlkit.parse(handle.read())
    table = doc.get("project")
    if table is None:
        raise UvnbError(f"{path} has no [project] table to merge into.",
                        "add one, or export with --force to replace the file.")
    deps = table.setdefault("dependencies", tomlkit.array())
    ours = {canonicalize_name(Requirement(d).name): d for d in parsed.dependencies}
    for index in reversed(range(len(deps))):
        if canonicalize_name(Requirement(str(deps[index])).name) in ours:
            del deps[index]  # the notebook's requirement replaces the project's
    deps.extend(ours.values())
    deps.multiline(True)
    return doc


def with_constraints(doc: object, pins: list[str]) -> object:
    import copy

    import tomlkit

    forced = copy.deepcopy(doc)
    tool = forced.setdefault("tool", tomlkit.table(is_super_table=True))
    tool_uv = tool.setdefault("uv", tomlkit.table())
    existing = list(tool_uv.get("constraint-dependencies", []))
    tool_uv["constraint-dependencies"] = existing + pins
    return forced


def export_project(nb_path: str | notebook.Notebook, dest: str, *, force: bool = False,
                   merge: bool = False, offline: bool = False) -> project_mod.Project:
    """Write ``dest/pyproject.toml`` and ``dest/uv.lock`` with the notebook's exact versions.

    ``nb_path`` may be a loaded notebook: a kernel's ``%export`` passes the spec and lock it
    knows, which can be newer than the file (sent to JupyterLab, not saved yet).
    """
    nb = nb_path if isinstance(nb_path, notebook.Notebook) else notebook.load(nb_path)
    parsed = lock.parsed_spec(nb)
    dest = os.path.abspath(dest)
    pyproject = os.path.join(dest, project_mod.PYPROJECT)
    exists = os.path.exists(pyproject)
    if exists and not (force or merge):
        raise UvnbError(f"{pyproject} already exists.",
                        "use --merge to add the notebook's dependencies to that project, "
                        "--force to replace it, or another --to folder.")
    if merge and not exists:
        raise UvnbError(f"--merge needs an existing project, but {pyproject} does not exist.",
                        "drop --merge to create a new project there.")
    _current_lock(nb, offline).apply(nb)  # in memory only: the notebook is never saved
    pins = notebook_pins(nb, offline)
    interp = lock.interpreter_for(nb)
    doc = _merged_pyproject(pyproject, parsed) if merge else _new_pyproject(nb, parsed, dest)
    os.makedirs(dest, exist_ok=True)
    lock_file = os.path.join(dest, "uv.lock")
    version_file = os.path.join(dest, ".python-version")
    with _restorable([pyproject, lock_file, version_file]):
        if not merge and force and os.path.exists(lock_file):
            os.remove(lock_file)  # a replaced project starts from the notebook's versions only
        if nb.python_request and not merge:
            notebook.atomic_write_text(version_file, nb.python_request + "\n")
        common = ["--python", interp.path, "--no-progress", *(["--offline"] if offline else [])]
        _dump(with_constraints(doc, pins), pyproject)
        uv.run(["lock", *common, "--project", dest], what=f"lock {dest} at {nb.path}'s versions")
        _dump(doc, pyproject)
        uv.run(["lock", *common, "--project", dest], what=f"lock {dest}")
        result = project_mod.load(dest)
        got = project_mod.locked_pins(result, offline=offline, interp=interp)
        ok = set(pins) <= set(got) if merge else sorted(pins) == sorted(got)
        if not ok:
            raise UvnbError(f"the lock of {dest} does not reproduce {nb.path}'s versions "
                            f"({describe_difference(pins, got)}); nothing was written.",
                            "the project's own requirements pull other versions; export to "
                            "a new folder instead of --merge.")
    return result


# --- CLI ------------------------------------------------------------------------------


def import_project(proj_dir: str, nb_path: str, quiet: bool = False,
                   offline: bool | None = None) -> int:
    """``uvnb add NB --from DIR`` / ``uvnb import DIR NB`` (see :mod:`uvnb.project_import`)."""
    from uvnb.project_import import import_project as run

    return run(proj_dir, nb_path, quiet=quiet, offline=offline)


def cli_import(args: Namespace) -> int:
    return import_project(args.project, args.notebook, quiet=getattr(args, "quiet", False),
                          offline=_offline(args))


def cli_export(args: Namespace) -> int:
    fmt = args.format or ("project" if args.to else "requirements-txt")
    offline = _offline(args)
    if fmt == "project":
        if not args.to:
            raise UvnbError("--format project needs --to DIR.",
                            f"e.g. `uvnb export {args.notebook} --to ./project`.")
        result = export_project(args.notebook, args.to, force=args.force, merge=args.merge,
                                offline=offline)
        if not getattr(args, "quiet", False):
            print(f"Exported {args.notebook} to {result.pyproject} and {result.lock_path}; "
                  f"`uv sync --locked --project {result.root}` reproduces its env.")
        return 0
    if args.to or args.merge:
        raise UvnbError(f"--to/--merge go with --format project, not {fmt}.",
                        "use -o FILE to write the file somewhere.")
    nb = notebook.load(args.notebook)
    _current_lock(nb, offline).apply(nb)
    text = _script_export(nb, "pylock.toml" if fmt == "pylock" else fmt, offline)
    if args.output:
        if os.path.exists(args.output) and not args.force:
            raise UvnbError(f"{args.output} already exists.", "add --force to overwrite it.")
        notebook.atomic_write_text(args.output, text)
    else:
        sys.stdout.write(text)
    return 0
