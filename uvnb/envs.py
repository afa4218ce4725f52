"""The env store: content-addressed environments, shared by notebooks with identical locks.

An env is keyed by what determines it, the hash of (lock text, interpreter), and lives in
``<store>/<key>/``. A marker file written *last* says the env is complete, so an unchanged
env is recognised without starting uv (a no-op sync costs a few file reads), and a build
that dies half-way is never mistaken for a good one. Builds of one key are serialised by a
file lock; a failed build removes its own folder and leaves every other env alone.
Notebooks point to the env they last used (``<state>/notebooks/*.json``); ``gc`` removes
envs that no existing notebook points to.
"""

from __future__ import annotations

import os
import time

from uvnb import dirs

MARKER = ".uvnb-env.json"


class Env:
    """A complete env in the store (a plain class: dataclasses cost ~10 ms to import)."""

    def __init__(self, key: str, path: str, python_version: str, interpreter: str) -> None:
        self.key = key
        self.path = path
        self.python_version = python_version
        self.interpreter = interpreter

    def __repr__(self) -> str:
        return f"Env({self.key!r}, {self.path!r}, Python {self.python_version})"

    @property
    def python(self) -> str:
        return os.path.join(self.path, "bin", "python")

    @property
    def site_packages(self) -> str:
        minor = ".".join(self.python_version.split(".")[:2])
        return os.path.join(self.path, "lib", f"python{minor}", "site-packages")


def digest(data: bytes) -> str:
    """A short content hash: blake2b from the builtin module, because ``hashlib`` loads
    OpenSSL (~12 ms per CLI start)."""
    try:
        from _blake2 import blake2b
    except ImportError:  # pragma: no cover - CPython always has it
        from hashlib import blake2b
    return blake2b(data, digest_size=16).hexdigest()[:20]


def env_key(lock_text: str, interpreter_path: str, version: str) -> str:
    return digest(b"".join(part.encode() + b"\0"
                           for part in (lock_text, interpreter_path, version)))


def env_path(key: str) -> str:
    return os.path.join(dirs.env_dir(), key)


def complete(key: str) -> bool:
    """Whether env ``key`` was finished (marker written last) and still has its python."""
    path = env_path(key)
    return os.path.exists(os.path.join(path, MARKER)) and \
        os.path.exists(os.path.join(path, "bin", "python"))


def ready(key: str) -> Env | None:
    """The finished env for ``key``, or None; reads one small file, starts nothing."""
    import json

    if not complete(key):
        return None
    try:
        with open(os.path.join(env_path(key), MARKER), encoding="utf-8") as handle:
            info = json.load(handle)
    except (OSError, ValueError):
        return None
    return Env(key, env_path(key), info["python_version"], info["interpreter"])


# --- pointers ----------------------------------------------------------------------------
#: What the state dir keeps per notebook: the env it points to, and its last verified sync.
POINTER_SUFFIX, VERIFIED_SUFFIX = ".json", ".verified"


def state_file(notebook_path: str, suffix: str = POINTER_SUFFIX) -> str:
    name = digest(os.path.abspath(notebook_path).encode())
    return os.path.join(dirs.state_dir(), "notebooks", f"{name}{suffix}")


def _pointer_file(notebook_path: str) -> str:
    return state_file(notebook_path, POINTER_SUFFIX)


def pointer(notebook_path: str) -> str | None:
    import json

    try:
        with open(_pointer_file(notebook_path), encoding="utf-8") as handle:
            return json.load(handle).get("env")
    except (OSError, ValueError):
        return None


def point(notebook_path: str, key: str) -> None:
    """Record that the notebook uses env ``key`` (only writes when it changed)."""
    if pointer(notebook_path) == key:
        return
    import json

    path = _pointer_file(notebook_path)
    dirs.ensure(os.path.dirname(path))
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump({"notebook": os.path.abspath(notebook_path), "env": key}, handle)
    os.replace(tmp, path)


def pointers() -> list[dict[str, str]]:
    import json

    folder = os.path.join(dirs.state_dir(), "notebooks")
    found = []
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        try:
            with open(os.path.join(folder, name), encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, ValueError):
            continue
        data["file"] = os.path.join(folder, name)
        found.append(data)
    return found


# --- building ----------------------------------------------------------------------------
class _FileLock:
    """``flock`` on ``<store>/.locks/<key>``: one builder per env, others wait then reuse."""

    def __init__(self, key: str) -> None:
        self.path = os.path.join(dirs.ensure(os.path.join(dirs.env_dir(), ".locks")), key)
        self.fd = -1

    def __enter__(self) -> _FileLock:
        import fcntl

        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        import fcntl

        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def build_commands(key: str, interpreter: str, script_path: str,
                   offline: bool, empty: bool = False) -> list[list[str]]:
    """The uv calls that build env ``key``: a venv, then an exact sync from the lock.

    ``empty``: the spec and its lock name no package at all, so the fresh venv already is
    the env; skipping the sync halves the cost of a new notebook's first kernel.
    """
    target = env_path(key)
    common = ["--no-progress"] + (["--offline"] if offline else [])
    commands = [
        ["venv", target, "--python", interpreter, "--quiet", "--allow-existing",
         "--no-config", *common],
    ]
    if not empty:
        commands.append(["sync", "--script", script_path, "--active", "--locked", "--python",
                         os.path.join(target, "bin", "python"), *common])
    return commands


def write_marker(key: str, interpreter: str, version: str, lock_text: str) -> Env:
    import json

    target = env_path(key)
    info = {"key": key, "interpreter": interpreter, "python_version": version,
            "created": time.time()}
    tmp = os.path.join(target, f"{MARKER}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(info, handle)
    os.replace(tmp, os.path.join(target, MARKER))
    return Env(key, target, version, interpreter)


def discard(key: str) -> None:
    import shutil

    shutil.rmtree(env_path(key), ignore_errors=True)


def env_vars(key: str) -> dict[str, str]:
    """What uv needs to treat our env as the active one."""
    return {"VIRTUAL_ENV": env_path(key)}
