"""uv projects around notebooks: discovery, sync, and ``%add`` for kernel-per-project.

A notebook without a spec of its own that lives inside a uv project (``pyproject.toml`` with
a ``[project]`` table) runs in that project's environment, managed by uv exactly as ``uv
sync`` / ``uv add`` would: the project's ``uv.lock`` stays the one source of truth, so the
notebook, the terminal and CI all see the same env. A project may be a member of a uv
workspace; then the lock and (by default) the ``.venv`` live at the workspace root, and uv
is pointed at the member so that its dependencies are the ones installed.

Listing the projects under a server root lives in :mod:`uvnb.project_list`.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from uvnb import python, uv
from uvnb.errors import LockMismatch, UvError, UvnbError

PYPROJECT = "pyproject.toml"


@dataclass(frozen=True)
class Project:
    """A uv project: ``root`` holds its pyproject; ``workspace_root`` holds the lock."""

    root: str
    name: str
    requires_python: str | None
    workspace_root: str

    @property
    def pyproject(self) -> str:
        return os.path.join(self.root, PYPROJECT)

    @property
    def lock_path(self) -> str:
        return os.path.join(self.workspace_root, "uv.lock")

    @property
    def is_member(self) -> bool:
        """A member of a workspace rooted elsewhere (its lock is not next to it)."""
        return self.workspace_root != self.root

    def package_args(self) -> list[str]:
        """uv arguments that select this project (and, in a workspace, this member)."""
        args = ["--project", self.root]
        if self.is_member:
            args += ["--package", self.name]
        return args


def read_pyproject(path: str) -> dict[str, Any]:
    """Parse a pyproject.toml; a syntax error becomes a :class:`UvnbError` naming the file."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomlkit as tomllib  # type: ignore[no-redef]
    try:
        with open(path, "rb") as handle:
            data = tomllib.loads(handle.read().decode("utf-8"))
    except OSError as exc:
        raise UvnbError(f"cannot read {path}: {exc.strerror}.", None) from None
    except Exception as exc:  # tomllib.TOMLDecodeError / tomlkit ParseError / bad UTF-8
        raise UvnbError(f"{path} is not valid TOML: {exc}.",
                        "fix the file (uv would refuse it too), then try again.") from None
    return dict(data)


def _member_of(root: str, project_dir: str, workspace: dict[str, Any]) -> bool:
    rel = os.path.relpath(project_dir, root).replace(os.sep, "/")
    if rel == ".":
        return True
    if any(fnmatch.fnmatchcase(rel, pat.rstrip("/")) for pat in workspace.get("exclude", [])):
        return False
    return any(fnmatch.fnmatchcase(rel, pat.rstrip("/")) for pat in workspace.get("members", []))


def _workspace_root(project_dir: str) -> str:
    """The root of the uv workspace that ``project_dir`` belongs to (itself if none)."""
    current = project_dir
    while True:
        candidate = os.path.join(current, PYPROJECT)
        if os.path.isfile(candidate):
            tool = read_pyproject(candidate).get("tool", {})
            workspace = tool.get("uv", {}).get("workspace") if isinstance(tool, dict) else None
            if isinstance(workspace, dict) and _member_of(current, project_dir, workspace):
                return current
        parent = os.path.dirname(current)
        if parent == current:
            return project_dir
        current = parent


def load(directory: str) -> Project:
    """The project in ``directory``; a missing file or ``[project]`` table is a UvnbError."""
    root = os.path.abspath(directory)
    path = os.path.join(root, PYPROJECT)
    if not os.path.isfile(path):
        raise UvnbError(f"{root} is not a uv project: it has no {PYPROJECT}.",
                        f"create one with `uv init --bare {root}`, or name another folder.")
    data = read_pyproject(path)
    table = data.get("project")
    if not isinstance(table, dict) or not isinstance(table.get("name"), str):
        raise UvnbError(f"{path} has no [project] table with a name.",
                        "add `[project]` with `name`, `version` and `dependencies`.")
    requires = table.get("requires-python")
    return Project(root, table["name"], str(requires) if requires else None,
                   _workspace_root(root))


def find_project(notebook_path: str, stop_at: str | None = None) -> Project | None:
    """The nearest project above ``notebook_path``, not looking above ``stop_at``.

    A pyproject.toml without ``[project]`` (a virtual workspace root, or one used only for
    tool settings) does not count, and the search goes on above it.
    """
    current = os.path.dirname(os.path.abspath(notebook_path))
    limit = os.path.abspath(stop_at) if stop_at else None
    while True:
        path = os.path.join(current, PYPROJECT)
        if os.path.isfile(path) and isinstance(read_pyproject(path).get("project"), dict):
            return load(current)
        parent = os.path.dirname(current)
        if current == limit or parent == current:
            return None
        current = parent


def interpreter_for(project: Project) -> python.Interpreter:
    """A real interpreter for the project: ``.python-version`` first, then requires-python."""
    request = None
    for folder in (project.root, project.workspace_root):
        try:
            with open(os.path.join(folder, ".python-version"), encoding="utf-8") as handle:
                lines = [ln.strip() for ln in handle if ln.strip() and not ln.startswith("#")]
        except OSError:
            continue
        request = lines[0] if lines else None
        break
    return python.find(request, project.requires_python)


def common_args(interp: python.Interpreter, offline: bool) -> list[str]:
    """What every uv call on a project gets: the real interpreter, no progress bars."""
    return ["--python", interp.path, "--no-progress", *(["--offline"] if offline else [])]


def lock_command(project: Project) -> str:
    return f"uv lock --project {project.workspace_root}"


def check_lock(project: Project, *, offline: bool = False,
               interp: python.Interpreter | None = None) -> None:
    """Raise unless the project's ``uv.lock`` exists and matches its pyproject."""
    if not os.path.isfile(project.lock_path):
        where = (f"its workspace root {project.workspace_root}" if project.is_member
                 else project.root)
        raise LockMismatch(f"project {project.name} has no uv.lock (looked in {where}).",
                           f"run `{lock_command(project)}` and commit uv.lock.")
    interp = interp or interpreter_for(project)
    try:
        uv.run(["lock", "--check", *common_args(interp, offline), "--project", project.root],
               what=f"check the lock of project {project.name}")
    except UvError as exc:
        if "needs to be updated" in exc.stderr:
            raise LockMismatch(
                f"the uv.lock of project {project.name} is out of date with its pyproject.toml.",
                f"run `{lock_command(project)}` (and commit it), then try again.",
            ) from None
        raise


def locked_pins(project: Project, *, offline: bool = False,
                interp: python.Interpreter | None = None,
                default_groups: bool = False) -> list[str]:
    """``name==version[ ; marker]`` for every package the project's main deps lock to
    (with ``default_groups``, also its default dependency groups: what ``uv sync`` installs)."""
    interp = interp or interpreter_for(project)
    groups = [] if default_groups else ["--no-default-groups"]
    proc = uv.run(["export", "--frozen", *common_args(interp, offline), *project.package_args(),
                   "--no-emit-project", *groups, "--format", "requirements-txt",
                   "--no-hashes", "--no-header", "--no-annotate"],
                  what=f"read the locked versions of project {project.name}")
    return pins_from_requirements(proc.stdout)


def pins_from_requirements(text: str) -> list[str]:
    """The ``==`` lines of a requirements.txt that uv exported (comments, options dropped)."""
    return [ln.strip() for ln in text.splitlines()
            if "==" in ln and not ln.startswith((" ", "#", "-"))]


@dataclass(frozen=True)
class ProjectEnv:
    """A synced project env: what a kernel launcher needs to start Python in it."""

    path: str
    python: str
    interpreter: python.Interpreter

    @property
    def site_packages(self) -> str:
        return os.path.join(self.path, "lib", f"python{self.interpreter.minor}",
                            "site-packages")


def env_path(project: Project) -> str:
    """Where ``uv sync`` puts the env: ``UV_PROJECT_ENVIRONMENT`` or ``<workspace>/.venv``."""
    configured = os.environ.get("UV_PROJECT_ENVIRONMENT")
    if configured:
        return os.path.join(project.workspace_root, os.path.expanduser(configured))
    return os.path.join(project.workspace_root, ".venv")


def _sync_args(project: Project, interp: python.Interpreter, offline: bool, locked: bool,
               groups: Sequence[str]) -> list[str]:
    args = ["sync", *common_args(interp, offline), *project.package_args()]
    if locked:
        args.append("--locked")
    for group in groups:
        args += ["--group", group]
    return args


def _sync_error(project: Project, exc: UvError) -> UvnbError:
    if "needs to be updated" in exc.stderr:
        return LockMismatch(
            f"the uv.lock of project {project.name} is out of date with its pyproject.toml.",
            f"run `{lock_command(project)}` (and commit it), then restart the kernel.")
    return UvError(f"project {project.name} failed to sync: {exc.message}",
                   exc.hint or f"run `uv sync --project {project.root}` to see uv's full "
                   "output.", exc.stderr)


def sync_project(project: Project, offline: bool = False, *, locked: bool = True,
                 groups: Sequence[str] = ()) -> ProjectEnv:
    """``uv sync`` the project (uv's default groups, plus ``groups``) and return its env.

    ``locked`` refuses a stale lock instead of relocking behind the user's back: a kernel
    start must not rewrite a committed uv.lock.
    """
    interp = interpreter_for(project)
    try:
        uv.run(_sync_args(project, interp, offline, locked, groups),
               what=f"sync project {project.name}")
    except UvError as exc:
        raise _sync_error(project, exc) from None
    return _env(project, interp)


async def sync_project_async(project: Project, offline: bool = False, *, locked: bool = True,
                             groups: Sequence[str] = (),
                             on_line: Callable[[str], None] | None = None) -> ProjectEnv:
    """The async twin of :func:`sync_project` for the provisioner (never block the server)."""
    interp = interpreter_for(project)
    try:
        await uv.run_async(_sync_args(project, interp, offline, locked, groups),
                           what=f"sync project {project.name}", on_line=on_line)
    except UvError as exc:
        raise _sync_error(project, exc) from None
    return _env(project, interp)


def _env(project: Project, interp: python.Interpreter) -> ProjectEnv:
    path = env_path(project)
    return ProjectEnv(path, os.path.join(path, "bin", "python"), interp)


def read_lock(project: Project) -> str | None:
    """The text of the project's ``uv.lock`` (None if it has none), for lock diffs."""
    try:
        with open(project.lock_path, encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        return None


def _edit(verb: str, project: Project, args: Sequence[str], group: str | None, dev: bool,
          offline: bool) -> list[str]:
    from uvnb.lock import diff_locks

    interp = interpreter_for(project)
    extra = ["--dev"] if dev else (["--group", group] if group else [])
    before = read_lock(project)
    uv.run([verb, *common_args(interp, offline), *project.package_args(), *extra, *args],
           what=f"{verb} {' '.join(args)} {'to' if verb == 'add' else 'from'} project "
                f"{project.name}")
    return diff_locks(before, read_lock(project))


def add(project: Project, requirements: Sequence[str], *, group: str | None = None,
        dev: bool = False, offline: bool = False) -> list[str]:
    """``uv add`` in the project (which also syncs its env); returns the lock diff lines."""
    return _edit("add", project, requirements, group, dev, offline)


def remove(project: Project, names: Sequence[str], *, group: str | None = None,
           dev: bool = False, offline: bool = False) -> list[str]:
    """``uv remove`` in the project; returns the lock diff lines."""
    return _edit("remove", project, names, group, dev, offline)
