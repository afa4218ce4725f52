"""Making a notebook's env match its lock: the step every kernel start and `uvnb sync` take.

The fast path is what matters most: a notebook whose spec and lock were already checked
against each other (recorded in its pointer) and whose env is complete needs nothing from uv,
so the answer comes from two small file reads and a hash. Everything else goes through
``uv lock`` (a no-op when the lock is current) and, if the env is new, ``uv venv`` + an exact
``uv sync``. The async twin serves the kernel provisioner, where blocking freezes the server.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from uvnb import envs
from uvnb.notebook import Notebook


@dataclass
class SyncResult:
    env: envs.Env
    built: bool = False
    locked: bool = False
    seconds: float = 0.0
    installed: list[str] = field(default_factory=list)


def _digest(text: str | None) -> str:
    return hashlib.sha256((text or "").encode()).hexdigest()[:20]


def _verified_file(notebook_path: str) -> str:
    return envs._pointer_file(notebook_path).replace(".json", ".verified")


def fast_path(notebook: Notebook) -> envs.Env | None:
    """The env, if nothing changed since the last sync (no uv, no interpreter probe)."""
    try:
        with open(_verified_file(notebook.path), encoding="utf-8") as handle:
            seen = json.load(handle)
    except (OSError, ValueError):
        return None
    if seen.get("spec") != _digest(notebook.spec_source) or \
            seen.get("lock") != _digest(notebook.lock_text) or \
            seen.get("python_request") != notebook.python_request:
        return None
    if not os.path.exists(seen.get("interpreter", "")):
        return None
    env = envs.ready(seen["env"])
    if env is None:
        return None
    return env


def _remember(notebook: Notebook, env: envs.Env) -> None:
    envs.point(notebook.path, env.key)
    path = _verified_file(notebook.path)
    data = {"spec": _digest(notebook.spec_source), "lock": _digest(notebook.lock_text),
            "python_request": notebook.python_request, "interpreter": env.interpreter,
            "env": env.key}
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    os.replace(tmp, path)


def sync(notebook: Notebook, *, offline: bool = False,
         on_line: Callable[[str], None] | None = None) -> SyncResult:
    """Bring the notebook's env in line with its lock, locking first if the spec moved.

    Sets ``notebook``'s lock when it changes but does not save the notebook: the caller
    decides (the CLI writes the file; a kernel sends the change to the frontend).
    """
    started = time.monotonic()
    env = fast_path(notebook)
    if env is not None:
        return SyncResult(env, seconds=time.monotonic() - started)
    from uvnb import lock as lock_mod
    from uvnb import uv

    interp = lock_mod.interpreter_for(notebook)
    change = lock_mod.relock(notebook, offline=offline, interp=interp)
    locked = change.lock_text != notebook.lock_text
    change.apply(notebook)
    assert notebook.lock_text is not None
    key = envs.env_key(notebook.lock_text, interp.path, interp.version_text)
    built, installed = False, []
    env = envs.ready(key)
    if env is None:
        with envs._FileLock(key):
            env = envs.ready(key)
            if env is None:
                with lock_mod.materialised(notebook) as script:
                    try:
                        for args in envs.build_commands(key, interp.path, script.path, offline):
                            proc = uv.run(args, env=envs.env_vars(key),
                                          what=f"build the env of {notebook.path}")
                            installed += _installed_lines(proc.stderr, on_line)
                    except BaseException:
                        envs.discard(key)
                        raise
                env = envs.write_marker(key, interp.path, interp.version_text,
                                        notebook.lock_text)
                built = True
    _remember(notebook, env)
    return SyncResult(env, built=built, locked=locked, installed=installed,
                      seconds=time.monotonic() - started)


def _installed_lines(stderr: str | None, on_line: Callable[[str], None] | None) -> list[str]:
    lines = [ln.strip() for ln in (stderr or "").splitlines() if ln.strip().startswith("+ ")]
    if on_line is not None:
        for line in (stderr or "").splitlines():
            on_line(line)
    return lines


async def sync_async(notebook: Notebook, *, offline: bool = False,
                     on_line: Callable[[str], None] | None = None) -> SyncResult:
    """:func:`sync` without blocking the event loop: uv runs as async subprocesses."""
    import asyncio

    started = time.monotonic()
    env = fast_path(notebook)
    if env is not None:
        return SyncResult(env, seconds=time.monotonic() - started)
    # Locking and building are subprocess-bound; run the whole blocking path in a thread so
    # the server's loop keeps serving while uv works.
    result = await asyncio.get_running_loop().run_in_executor(
        None, lambda: sync(notebook, offline=offline, on_line=on_line)
    )
    result.seconds = time.monotonic() - started
    return result
