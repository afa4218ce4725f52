"""Choosing the interpreter a notebook runs on, offline and fast.

Order (issue #3): what uv itself can see, then pyenv's ``~/.pyenv/versions/*``, then system
``pythonX.Y``, and only then ``uv python install``. Discovery never executes a pyenv *shim*
(each call costs ~190 ms, and an inactive shim exits 127, which makes ``uv python find`` give
up); every candidate is resolved to its real path. Versions come from folder names where
these are authoritative (pyenv, uv-managed) and otherwise from running the interpreter once;
results are cached by (path, mtime) so that a warm lookup starts no process at all.
"""

from __future__ import annotations

import json
import os

from uvnb import dirs
from uvnb.errors import PythonNotFound

_VERSION_IN_NAME = r"(?:^|cpython-)(\d+)\.(\d+)\.(\d+)(?:$|[-+])"


class Interpreter:
    """A real interpreter path and its version (a plain class: cheap to import)."""

    __slots__ = ("path", "version")

    def __init__(self, path: str, version: tuple[int, ...]) -> None:
        self.path = path
        self.version = tuple(version)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Interpreter) and (self.path, self.version) == (
            other.path, other.version)

    def __hash__(self) -> int:
        return hash((self.path, self.version))

    def __repr__(self) -> str:
        return f"Interpreter(path={self.path!r}, version={self.version!r})"

    @property
    def version_text(self) -> str:
        return ".".join(map(str, self.version))

    @property
    def minor(self) -> str:
        return f"{self.version[0]}.{self.version[1]}"


def _pyenv_root() -> str:
    return os.environ.get("PYENV_ROOT") or os.path.join(os.path.expanduser("~"), ".pyenv")


def _uv_python_dir() -> str:
    if os.environ.get("UV_PYTHON_INSTALL_DIR"):
        return os.environ["UV_PYTHON_INSTALL_DIR"]
    data = os.environ.get("XDG_DATA_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "share"
    )
    return os.path.join(data, "uv", "python")


def _named_installs(root: str) -> list[Interpreter]:
    """Interpreters in folders named after their version (pyenv and uv-managed)."""
    import glob
    import re

    found = []
    for folder in sorted(glob.glob(os.path.join(root, "*"))):
        match = re.search(_VERSION_IN_NAME, os.path.basename(folder))
        if not match or match.group(1) != "3":
            continue
        major, minor, micro = (int(g) for g in match.groups())
        exe = os.path.join(folder, "bin", f"python{major}.{minor}")
        if os.path.isfile(exe) and os.access(exe, os.X_OK):
            found.append(Interpreter(os.path.realpath(exe), (major, minor, micro)))
    return found


def _probe_cache_path() -> str:
    return os.path.join(dirs.state_dir(), "pythons.json")


def _load_probe_cache() -> dict[str, dict]:
    try:
        with open(_probe_cache_path(), encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}


def _save_json(path: str, data: dict) -> None:
    """Best effort: these are caches, and a read-only state dir must not break a command."""
    try:
        dirs.ensure(os.path.dirname(path))
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
        os.replace(tmp, path)
    except OSError:
        pass


def _save_probe_cache(cache: dict[str, dict]) -> None:
    _save_json(_probe_cache_path(), cache)


def _probe(paths: list[str]) -> list[Interpreter]:
    """Versions of interpreters whose folder name does not say, cached by (path, mtime)."""
    import subprocess

    cache = _load_probe_cache()
    found, dirty = [], False
    for path in paths:
        try:
            stamp = os.stat(path).st_mtime
        except OSError:
            continue
        entry = cache.get(path)
        if entry is None or entry.get("mtime") != stamp:
            try:
                out = subprocess.run(
                    [path, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                    capture_output=True, text=True, timeout=10, check=True,
                ).stdout.strip()
            except (OSError, subprocess.SubprocessError):
                continue
            entry = {"mtime": stamp, "version": out}
            cache[path], dirty = entry, True
        parts = tuple(int(p) for p in entry["version"].split("."))
        if len(parts) == 3:
            found.append(Interpreter(path, parts))  # type: ignore[arg-type]
    if dirty:
        _save_probe_cache(cache)
    return found


def _system_candidates() -> list[str]:
    import glob
    import re

    shims = os.path.join(_pyenv_root(), "shims")
    seen: list[str] = []
    for folder in [*os.environ.get("PATH", "").split(os.pathsep), "/usr/local/bin", "/usr/bin"]:
        if not folder or os.path.realpath(folder) == os.path.realpath(shims):
            continue
        for exe in glob.glob(os.path.join(folder, "python3.[0-9]*")):
            if not re.fullmatch(r"python3\.\d+", os.path.basename(exe)):
                continue
            real = os.path.realpath(exe)
            if real not in seen and os.access(real, os.X_OK) and "/shims/" not in real:
                seen.append(real)
    return seen


def available() -> list[Interpreter]:
    """Every interpreter found, newest first, one per real path."""
    found: dict[str, Interpreter] = {}
    for interp in _named_installs(_uv_python_dir()) + _named_installs(
        os.path.join(_pyenv_root(), "versions")
    ):
        found.setdefault(interp.path, interp)
    for interp in _probe([p for p in _system_candidates() if p not in found]):
        found.setdefault(interp.path, interp)
    return sorted(found.values(), key=lambda i: i.version, reverse=True)


def _matches(interp: Interpreter, request: str | None, requires_python: str | None) -> bool:
    import re

    from packaging.specifiers import SpecifierSet

    if request:
        if re.fullmatch(r"\d+(\.\d+){0,2}", request):
            wanted = tuple(int(p) for p in request.split("."))
            if interp.version[: len(wanted)] != wanted:
                return False
        elif not SpecifierSet(request).contains(interp.version_text, prereleases=True):
            return False
    return not requires_python or SpecifierSet(requires_python).contains(
        interp.version_text, prereleases=True
    )


def _resolution_cache_path() -> str:
    return os.path.join(dirs.state_dir(), "python-choice.json")


def cached_choice(request: str | None, requires_python: str | None) -> Interpreter | None:
    """The interpreter chosen last time for this pin, if it still exists (no process)."""
    try:
        with open(_resolution_cache_path(), encoding="utf-8") as handle:
            entry = json.load(handle).get(f"{request}|{requires_python}")
    except (OSError, ValueError):
        return None
    if not entry or not os.path.exists(entry["path"]):
        return None
    return Interpreter(entry["path"], tuple(entry["version"]))  # type: ignore[arg-type]


def _remember(request: str | None, requires_python: str | None, interp: Interpreter) -> None:
    path = _resolution_cache_path()
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        data = {}
    data[f"{request}|{requires_python}"] = {"path": interp.path, "version": interp.version}
    _save_json(path, data)


def find(request: str | None = None, requires_python: str | None = None,
         *, allow_install: bool | None = None) -> Interpreter:
    """The interpreter for a notebook pinned to ``request`` (e.g. ``"3.12"``).

    Without an explicit request, the Python running uvnb wins when it satisfies
    ``requires-python`` (least surprise), else the oldest satisfying minor release, newest
    patch: closest to what the author asked for with ``>=``.
    """
    hit = cached_choice(request, requires_python)
    if hit is not None:
        return hit
    candidates = [i for i in available() if _matches(i, request, requires_python)]
    choice = None
    if candidates:
        if request:
            choice = candidates[0]
        else:
            import sys

            own = os.path.realpath(sys.executable)
            choice = next((i for i in candidates if i.path == own), None)
            if choice is None:
                oldest_minor = min(i.version[:2] for i in candidates)
                choice = next(i for i in candidates if i.version[:2] == oldest_minor)
    if choice is None:
        choice = _install(request, requires_python, allow_install)
    _remember(request, requires_python, choice)
    return choice


def _install(request: str | None, requires_python: str | None,
             allow_install: bool | None) -> Interpreter:
    wanted = request or requires_python or "3"
    seen = [i.version_text for i in sorted(set(available()), key=lambda i: i.version)]
    listing = ", ".join(seen) if seen else "none"
    if allow_install is None:
        allow_install = os.environ.get("UVNB_PYTHON_DOWNLOADS", "automatic") != "never" and \
            os.environ.get("UVNB_OFFLINE", "").lower() not in {"1", "true", "yes"}
    if allow_install:
        import sys

        from uvnb import uv
        from uvnb.errors import UvError

        print(f"uvnb: Python {wanted} not found here; trying `uv python install {wanted}`…",
              file=sys.stderr)
        try:
            uv.run(["python", "install", wanted], env={"UV_PYTHON_DOWNLOADS": "automatic"},
                   what=f"install Python {wanted}")
            out = uv.run(["python", "find", "--managed-python", wanted],
                         env={"UV_PYTHON_DOWNLOADS": "never"}, what="find Python").stdout
            path = os.path.realpath(out.strip())
            return _probe([path])[0]
        except (UvError, IndexError):
            pass
    raise PythonNotFound(
        f"no Python matching {wanted} was found on this machine (found: {listing}).",
        f"install it (`uv python install {wanted}`, `pyenv install {wanted}` or your system's "
        f"package manager), or pin a Python you have: `uvnb python NOTEBOOK "
        f"{seen[-1].rsplit('.', 1)[0]}`."
        if seen else f"install it (`uv python install {wanted}` or `pyenv install {wanted}`).",
    )
