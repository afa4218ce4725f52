"""Locking a notebook's spec through uv, and telling whether a stored lock is current.

uv only knows scripts, so each operation materialises the spec cell as a small script
(plus ``<script>.lock`` from the notebook's ``uv.lock`` metadata) in a temporary folder next
to the notebook, so that relative paths in the spec mean the same thing, and asks uv:
``uv lock --script``, ``uv add --script``, ``uv remove --script``, always with
``--python <real path>``. What uv writes back becomes the new spec and lock; the caller
decides whether to save the notebook.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from uvnb import python, uv
from uvnb import spec as spec_mod
from uvnb.errors import LockMismatch, SpecError, UvError
from uvnb.notebook import Notebook
from uvnb.script import Script, materialised

__all__ = ["Change", "Script", "add", "check", "diff_locks", "interpreter_for",
           "locked_versions", "materialised", "relock", "remove"]


def require_spec(notebook: Notebook) -> None:
    """Fail early and clearly when there is no spec; uv validates the rest itself."""
    if notebook.spec_source is None:
        parsed_spec(notebook)


def parsed_spec(notebook: Notebook) -> spec_mod.Spec:
    source = notebook.spec_source
    if source is None:
        raise SpecError(
            f"{notebook.path} has no environment spec yet.",
            f"run `uvnb init {notebook.path}` or `uvnb add {notebook.path} PACKAGE` first.",
        )
    return spec_mod.parse(source, notebook.path, validate=False)


def _run(notebook: Notebook, args: list[str], what: str,
         requirements: Sequence[str] = ()) -> None:
    """Run uv; if it refuses to parse something, say which requirement and why.

    When ``requirements`` are being added and uv finds no such package, the hint becomes a
    "did you mean" from the index (:mod:`uvnb.pypi`, imported only on this path).
    """
    try:
        uv.run(args, what=what)
    except UvError as exc:
        # uv's parse errors name a temporary script; say it in the notebook's terms.
        for requirement in requirements:
            spec_mod.check_requirement(requirement)
        spec_mod.parse(notebook.spec_source or "", notebook.path, validate=True)
        if requirements:
            from uvnb import pypi

            pypi.explain_not_found(exc, offline="--offline" in args)
        raise


def _requires_python_fast(source: str) -> str | None:
    """``requires-python`` by a line scan when it is a plain quoted string, else None.

    Reading it is needed by every command (to pick the interpreter); a full TOML parse
    costs ~15 ms of imports, which is a tenth of a whole ``uvnb add``.
    """
    for line in source.splitlines():
        text = line[2:] if line.startswith("# ") else ""
        if text.startswith("requires-python"):
            _, _, value = text.partition("=")
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'" and \
                    value.count(value[0]) == 2:
                return value[1:-1]
            return None
    return None


def interpreter_for(notebook: Notebook) -> python.Interpreter:
    """The interpreter every step for this notebook uses: its pin, else requires-python."""
    source = notebook.spec_source
    requires = None
    if source:
        requires = _requires_python_fast(source)
        if requires is None:
            requires = spec_mod.parse(source, notebook.path, validate=False).requires_python
    return python.find(notebook.python_request, requires)


def _common(interp: python.Interpreter, offline: bool) -> list[str]:
    args = ["--python", interp.path, "--no-progress"]
    if offline:
        args.append("--offline")
    return args


class Change:
    """The outcome of an edit: new spec and lock, and the lock before, for the diff."""

    def __init__(self, spec_source: str, lock_text: str | None, old_lock: str | None) -> None:
        self.spec_source = spec_source
        self.lock_text = lock_text
        self.old_lock = old_lock

    def apply(self, notebook: Notebook) -> None:
        notebook.set_spec_source(self.spec_source)
        notebook.set_lock_text(self.lock_text)

    def diff(self) -> list[str]:
        return diff_locks(self.old_lock, self.lock_text)


def relock(notebook: Notebook, *, upgrade: bool = False,
           upgrade_packages: Sequence[str] = (), offline: bool = False,
           interp: python.Interpreter | None = None) -> Change:
    """``uv lock --script``: a new lock for the current spec (minimal changes unless asked)."""
    require_spec(notebook)
    interp = interp or interpreter_for(notebook)
    args = ["lock", *_common(interp, offline)]
    if upgrade:
        args.append("--upgrade")
    for name in upgrade_packages:
        args += ["--upgrade-package", name]
    with materialised(notebook) as script:
        _run(notebook, [*args, "--script", script.path], f"lock {notebook.path}")
        return Change(script.read_spec(), script.read_lock(), notebook.lock_text)


def add(notebook: Notebook, requirements: Sequence[str], *, upgrade: bool = False,
        requirements_file: str | None = None, index: str | None = None,
        pin: bool = False, offline: bool = False,
        interp: python.Interpreter | None = None) -> Change:
    """``uv add --script``: uv edits the block (format-preserving) and relocks in one call."""
    if notebook.spec_source is None:
        notebook.set_spec_source(spec_mod.new_source(_default_requires_python(notebook)))
    require_spec(notebook)
    interp = interp or interpreter_for(notebook)
    args = ["add", *_common(interp, offline)]
    if upgrade:
        args.append("--upgrade")
    if requirements_file:
        args += ["--requirements", os.path.abspath(requirements_file)]
    if index:
        args += ["--index", index]
    what = f"add {' '.join(requirements) or requirements_file} to {notebook.path}"
    with materialised(notebook) as script:
        _run(notebook, [*args, "--script", script.path, *requirements], what, requirements)
        _lock_if_missing(script, interp, offline, what)
        change = Change(script.read_spec(), script.read_lock(), notebook.lock_text)
        if pin and requirements:
            change = _pin(notebook, change, requirements, script, interp, offline)
        return change


def _lock_if_missing(script: Script, interp: python.Interpreter, offline: bool,
                     what: str) -> None:
    """``uv add/remove --script`` only update a lock that exists; a notebook without one
    (made by juv, or by hand) must still come out locked."""
    if not os.path.exists(script.lock_path):
        uv.run(["lock", *_common(interp, offline), "--script", script.path], what=what)


def _default_requires_python(notebook: Notebook) -> str:
    request = notebook.python_request
    if request:
        return f"=={request}.*" if request.count(".") == 1 else f"=={request}"
    interp = python.find(None, None)
    return f">={interp.minor}"


def _pin(notebook: Notebook, change: Change, requirements: Sequence[str], script: Script,
         interp: python.Interpreter, offline: bool) -> Change:
    """Rewrite the requirements just added as ``name==locked-version`` and relock."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    locked = locked_versions(change.lock_text)
    added = {canonicalize_name(Requirement(r).name) for r in requirements}
    deps = spec_mod.parse(change.spec_source, notebook.path, validate=False).dependencies
    pinned = []
    for dep in deps:
        req = Requirement(dep)
        name = canonicalize_name(req.name)
        if name in added and name in locked and req.url is None:
            extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
            marker = f"; {req.marker}" if req.marker else ""
            dep = f"{req.name}{extras}=={locked[name]}{marker}"
        pinned.append(dep)
    source = spec_mod.edit(change.spec_source, notebook.path, dependencies=pinned)
    with open(script.path, "w", encoding="utf-8") as handle:
        handle.write(source + "\n")
    uv.run(["lock", *_common(interp, offline), "--script", script.path],
           what=f"pin {', '.join(requirements)} in {notebook.path}")
    return Change(script.read_spec(), script.read_lock(), change.old_lock)


def remove(notebook: Notebook, names: Sequence[str], *, offline: bool = False,
           interp: python.Interpreter | None = None) -> Change:
    """``uv remove --script``; a name that is not a dependency is an error, nothing changes."""
    from packaging.utils import canonicalize_name

    current = parsed_spec(notebook).dependencies
    declared = {canonicalize_name(spec_mod.check_requirement(d).name) for d in current}
    missing = [n for n in names if canonicalize_name(n) not in declared]
    if missing:
        listing = ", ".join(sorted(declared)) or "none"
        raise SpecError(
            f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not a dependency of "
            f"{notebook.path} (its dependencies: {listing}).",
            "check the spelling; `uvnb tree` shows direct and indirect dependencies.",
        )
    interp = interp or interpreter_for(notebook)
    with materialised(notebook) as script:
        uv.run(["remove", *_common(interp, offline), "--script", script.path, *names],
               what=f"remove {' '.join(names)} from {notebook.path}")
        _lock_if_missing(script, interp, offline, f"lock {notebook.path}")
        return Change(script.read_spec(), script.read_lock(), notebook.lock_text)


def check(notebook: Notebook, *, offline: bool = False,
          interp: python.Interpreter | None = None) -> None:
    """Raise :class:`LockMismatch` if the stored lock does not fit the spec."""
    parsed_spec(notebook)
    if notebook.lock_text is None:
        raise LockMismatch(f"{notebook.path}: has a spec but no lock.",
                           f"run `uvnb lock {notebook.path}`.")
    interp = interp or interpreter_for(notebook)
    with materialised(notebook) as script:
        try:
            uv.run(["lock", "--check", *_common(interp, offline), "--script", script.path],
                   what=f"check the lock of {notebook.path}")
        except UvError as exc:
            if "needs to be updated" in exc.stderr:
                raise LockMismatch(
                    f"{notebook.path}: the lock does not match the spec.",
                    f"run `uvnb lock {notebook.path}` and commit the result.",
                ) from None
            spec_mod.parse(notebook.spec_source or "", notebook.path, validate=True)
            raise


def locked_versions(lock_text: str | None) -> dict[str, str]:
    """``{name: version}`` of every package in a uv lock.

    uv writes each ``[[package]]`` as ``name = "…"`` then ``version = "…"`` on the next
    lines, so a line scan reads it without a TOML parser (~15 ms of imports per command);
    anything unexpected falls back to a real parse.
    """
    if not lock_text:
        return {}
    found: dict[str, str] = {}
    name: str | None = None
    for line in lock_text.splitlines():
        if line == "[[package]]":
            name = None
        elif name is None and line.startswith('name = "') and line.endswith('"'):
            name = line[8:-1]
            found[name] = "?"
        elif name is not None and found[name] == "?" and line.startswith('version = "') \
                and line.endswith('"'):
            found[name] = line[11:-1]
    if found and "?" not in found.values():
        return found
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomlkit as tomllib  # type: ignore[no-redef]
    data = tomllib.loads(lock_text)
    return {
        str(pkg["name"]): str(pkg.get("version", "?"))
        for pkg in data.get("package", [])
        if "name" in pkg
    }


def diff_locks(old: str | None, new: str | None) -> list[str]:
    """``+ name==v`` / ``- name==v`` / ``~ name a → b`` lines, sorted by name."""
    before, after = locked_versions(old), locked_versions(new)
    lines = []
    for name in sorted(set(before) | set(after)):
        if name not in before:
            lines.append(f"+ {name}=={after[name]}")
        elif name not in after:
            lines.append(f"- {name}=={before[name]}")
        elif before[name] != after[name]:
            lines.append(f"~ {name} {before[name]} → {after[name]}")
    return lines
