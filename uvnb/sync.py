"""Making a notebook's env match its lock: the step every kernel start and `uvnb sync` take.

The fast path is what matters most: a notebook whose spec and lock were already checked
against each other (recorded in its pointer) and whose env is complete needs nothing from uv,
so the answer comes from two small file reads and a hash. Everything else goes through
``uv lock`` (a no-op when the lock is current) and, if the env is new, ``uv venv`` + an exact
``uv sync``. The kernel provisioner runs this in a subprocess (``python -m uvnb.launch``), so
that blocking here never freezes the server.
"""

from __future__ import annotations

import os
import time

from uvnb import envs
from uvnb.errors import UvError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from uvnb import python
    from uvnb.notebook import Notebook


class SyncResult:
    """What a sync did: ``built`` a new env, ``locked`` (the lock changed), what it installed."""

    def __init__(self, env: envs.Env, built: bool = False, locked: bool = False,
                 seconds: float = 0.0, installed: list[str] | None = None) -> None:
        self.env = env
        self.built = built
        self.locked = locked
        self.seconds = seconds
        self.installed = installed or []


def _digest(text: str | None) -> str:
    return envs.digest((text or "").encode())


def _verified_file(notebook_path: str) -> str:
    return envs.state_file(notebook_path, envs.VERIFIED_SUFFIX)


def _read_record(notebook_path: str) -> dict[str, str]:
    """The last verified sync, as ``key\tvalue`` lines: no json import on the hot path."""
    try:
        with open(_verified_file(notebook_path), encoding="utf-8") as handle:
            return dict(line.rstrip("\n").split("\t", 1) for line in handle if "\t" in line)
    except (OSError, ValueError):
        return {}


def _write_record(notebook_path: str, record: dict[str, str]) -> None:
    path = _verified_file(notebook_path)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.writelines(f"{key}\t{value}\n" for key, value in record.items())
    os.replace(tmp, path)


def _env_from_record(record: dict[str, str]) -> envs.Env | None:
    """The recorded env, without reading its marker's JSON (json costs more than the rest)."""
    key = record.get("env", "")
    if not key or not os.path.exists(record.get("interpreter", "")) or not envs.complete(key):
        return None
    return envs.Env(key, envs.env_path(key), record.get("python_version", "?"),
                    record["interpreter"])


def quick_check(notebook_path: str) -> envs.Env | None:
    """The env, if the notebook *file* is byte-identical to the last verified sync.

    This is the cheapest possible no-op: read the file, hash it, compare; no JSON parsing
    (importing json alone costs more than the rest of the check).
    """
    record = _read_record(notebook_path)
    if not record.get("file"):
        return None
    try:
        with open(notebook_path, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    if envs.digest(data) != record["file"]:
        return None
    return _env_from_record(record)


def fast_path(notebook: Notebook) -> envs.Env | None:
    """The env, if spec, lock and pin are what the last sync verified (no uv, no probe)."""
    record = _read_record(notebook.path)
    if record.get("spec") != _digest(notebook.spec_source) or \
            record.get("lock") != _digest(notebook.lock_text) or \
            record.get("python_request", "") != (notebook.python_request or ""):
        return None
    env = _env_from_record(record)
    if env is not None and notebook.raw and record.get("file") != envs.digest(notebook.raw):
        # Other cells changed since: remember this file so the next check is the quick one.
        record["file"] = envs.digest(notebook.raw)
        _write_record(notebook.path, record)
    return env


def _remember(notebook: Notebook, env: envs.Env) -> None:
    envs.point(notebook.path, env.key)
    _write_record(notebook.path, {
        "file": envs.digest(notebook.raw) if notebook.raw else "",
        "spec": _digest(notebook.spec_source), "lock": _digest(notebook.lock_text),
        "python_request": notebook.python_request or "", "interpreter": env.interpreter,
        "env": env.key, "python_version": env.python_version,
    })


def sync(notebook: Notebook, *, offline: bool = False,
         on_line: Callable[[str], None] | None = None,
         before_relock: Callable[[], None] | None = None) -> SyncResult:
    """Bring the notebook's env in line with its lock, locking first if the spec moved.

    Sets ``notebook``'s lock when it changes but does not save the notebook: the caller
    decides (the CLI writes the file; a kernel sends the change to the frontend).
    ``before_relock`` runs when the lock is about to change and may raise (the CLI checks
    the notebook is writable), so that nothing is built for a change that cannot be kept.
    """
    started = time.monotonic()
    env = fast_path(notebook)
    if env is not None:
        return SyncResult(env, seconds=time.monotonic() - started)
    from uvnb import lock as lock_mod

    interp = lock_mod.interpreter_for(notebook)
    locked = False
    env = envs.ready(_key(notebook, interp)) if notebook.lock_text is not None else None
    if notebook.lock_text is None or env is not None:
        # No lock yet, or the env exists and only the spec/lock agreement is unknown:
        # `uv lock` answers both (a ~25 ms no-op when the lock is current).
        locked = _relock(notebook, interp, offline, before_relock)
        if locked or env is None:
            env = envs.ready(_key(notebook, interp))
    built, installed = False, []
    if env is None:
        try:
            env, installed = _build(notebook, interp, offline, on_line)
        except UvError as exc:
            # `uv sync --locked` refuses a lock that no longer fits the spec: relock, retry.
            if "needs to be updated" not in exc.stderr:
                raise
            locked = _relock(notebook, interp, offline, before_relock) or locked
            env = envs.ready(_key(notebook, interp))
            if env is None:
                env, installed = _build(notebook, interp, offline, on_line)
        built = True
    _remember(notebook, env)
    return SyncResult(env, built=built, locked=locked, installed=installed,
                      seconds=time.monotonic() - started)


def _key(notebook: Notebook, interp: python.Interpreter) -> str:
    return envs.env_key(notebook.lock_text or "", interp.path, interp.version_text)


def _relock(notebook: Notebook, interp: python.Interpreter, offline: bool,
            before_relock: Callable[[], None] | None = None) -> bool:
    from uvnb import lock as lock_mod

    change = lock_mod.relock(notebook, offline=offline, interp=interp)
    changed = change.lock_text != notebook.lock_text
    if changed and before_relock is not None:
        before_relock()
    change.apply(notebook)
    return changed


def _build(notebook: Notebook, interp: python.Interpreter, offline: bool,
           on_line: Callable[[str], None] | None) -> tuple[envs.Env, list[str]]:
    """Build the env for the notebook's current lock, once, under the env's file lock."""
    from uvnb import lock as lock_mod
    from uvnb import uv

    key = _key(notebook, interp)
    installed: list[str] = []
    with envs._FileLock(key):
        env = envs.ready(key)
        if env is not None:
            return env, installed
        with lock_mod.materialised(notebook) as script:
            try:
                for args in envs.build_commands(key, interp.path, script.path, offline,
                                                empty=_is_empty(notebook)):
                    proc = uv.run(args, env=envs.env_vars(key), on_line=on_line,
                                  what=f"build the env of {notebook.path}")
                    installed += _installed_lines(proc.stderr)
            except BaseException:
                envs.discard(key)
                raise
        env = envs.write_marker(key, interp.path, interp.version_text, notebook.lock_text or "")
    return env, installed


def _is_empty(notebook: Notebook) -> bool:
    """No dependency declared and none locked: nothing for ``uv sync`` to do."""
    from uvnb import lock as lock_mod
    from uvnb import spec as spec_mod

    if lock_mod.locked_versions(notebook.lock_text):
        return False
    source = notebook.spec_source or ""
    return not spec_mod.parse(source, notebook.path, validate=False).dependencies


def _installed_lines(stderr: str | None) -> list[str]:
    return [ln.strip() for ln in (stderr or "").splitlines() if ln.strip().startswith("+ ")]
