"""uvnb magics inside a uvnb kernel: ``%add``, ``%remove``, ``%lock``, ``%sync``, ``%deps``, ….

This module runs inside the notebook's env, where uvnb itself is not installed (the env holds
exactly what the notebook's lock says), so it uses only the stdlib and IPython/ipykernel,
and stays compatible with Python 3.8. The work (uv, locks, the env store) happens in the
server's uvnb: ``$UVNB_SERVER_PYTHON -m uvnb.kernel_ops OP --notebook NB --json`` answers
with one JSON object; its stderr (progress) is streamed into the cell.

Envs are content-addressed and shared, so the running env is never changed in place: the
server builds the env of the new lock (hardlinks from uv's cache) and this module puts the
new env's site-packages where the old one was on ``sys.path``. A module already imported
from a package whose version changed keeps the old code; the output says to restart.

The change reaches the notebook through the ``uvnb`` comm when a JupyterLab frontend said
``hello`` (see ``uvnb/frontend.py`` for the messages and why there is no waiting for a
reply), otherwise the server writes the notebook file atomically. The output says which.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
import time
import uuid

import uvnb_kernel_env as kenv
import uvnb_kernel_project as kproj
from uvnb_kernel_server import STATE, OpError, run_op

TARGET = "uvnb"
PROTOCOL_VERSION = 1

HELP = """\
uvnb magics: change this notebook's locked environment from a cell, without a restart.

  %add REQ...             add requirements (e.g. %add "pandas>=2" seaborn), lock, install
  %add --upgrade REQ...   the same, allowing upgrades of already locked packages
  %remove NAME...         remove direct dependencies
  %lock [--upgrade] [NAME...]  relock (upgrade everything, or only NAME...)
  %sync                   make the kernel match the notebook's spec and lock
  %deps                   list locked packages: version, direct or not, kernel layer
  %python VERSION         pin another Python (takes effect after a kernel restart)
  %export DIR [--merge|--force]  write DIR/pyproject.toml + DIR/uv.lock with these versions
  %uvnb help              this text

Changes are sent to the open notebook in JupyterLab (save it to keep them); without a
connected frontend uvnb writes the notebook file itself.

In a project kernel (a notebook without a spec of its own inside a uv project) %add and
%remove are `uv add`/`uv remove` on the project: its pyproject.toml and uv.lock change, not
the notebook; `--group NAME` and `--dev` pass through to uv."""


# --- switching the running kernel to a new env -------------------------------------------
def switch_env(env: str, site_packages: str) -> None:
    """Use the new env from now on: ``sys.path``, ``PATH``/``VIRTUAL_ENV``, our state."""
    if site_packages == STATE.site_packages:
        return
    kenv.replace_site_packages(STATE.site_packages, site_packages)
    kenv.swap_path_var(STATE.env, env)
    os.environ["UVNB_ENV"] = env
    STATE.env, STATE.site_packages = env, site_packages


# --- recording the change in the notebook ------------------------------------------------
def record(answer: dict) -> str:
    """Send the new spec/lock to the frontend, or have the server write the file."""
    new = {"spec": answer["spec"], "lock": answer.get("lock"), "python": answer.get("python")}
    if new == STATE.record:
        return ""
    if "written" in answer:  # the server side already wrote it (no frontend connected)
        STATE.record = new
        return (f"Recorded in {STATE.notebook} (written on disk: no JupyterLab frontend is "
                "connected)." if answer["written"] else "")
    if STATE.comm is not None:
        message_id = uuid.uuid4().hex
        STATE.comm.send({"type": "update", "notebook": STATE.notebook, "spec": new["spec"],
                         "lock": new["lock"], "python": new["python"], "id": message_id})
        STATE.pending[message_id] = new
        STATE.record = new
        return ("Recorded in the open notebook (sent to JupyterLab; save the notebook to "
                "keep it).")
    run_op("write", [], new)
    STATE.record = new
    return f"Recorded in {STATE.notebook} (written on disk: no JupyterLab frontend is connected)."


def _on_comm_open(comm, open_msg) -> None:
    data = (open_msg.get("content") or {}).get("data") or {}
    if data.get("type") != "hello":
        comm.close()
        return
    STATE.comm = comm
    comm.on_msg(_on_comm_msg)
    comm.on_close(lambda msg: _on_comm_close(comm))
    comm.send({"type": "welcome", "notebook": STATE.notebook or None,
               "version": PROTOCOL_VERSION})


def _on_comm_msg(msg) -> None:
    data = (msg.get("content") or {}).get("data") or {}
    kind, message_id = data.get("type"), data.get("id")
    if kind == "ack":
        STATE.pending.pop(message_id, None)
    elif kind == "nack":
        rec = STATE.pending.pop(message_id, None)
        if rec is not None:
            _write_fallback(rec, f"the frontend could not apply it: {data.get('reason')}")


def _on_comm_close(comm) -> None:
    """A frontend that leaves with unacknowledged updates: put them on disk."""
    if STATE.comm is comm:
        STATE.comm = None
    if STATE.pending and STATE.record is not None:
        STATE.pending.clear()
        _write_fallback(STATE.record, "the frontend closed before confirming it")


def _write_fallback(rec: dict, why: str) -> None:
    try:
        run_op("write", [], rec)
        STATE.log.append(f"uvnb: wrote the change to {STATE.notebook} on disk ({why}).")
    except OpError as exc:
        STATE.log.append(str(exc))


# --- the magics --------------------------------------------------------------------------
def _split(line: str) -> tuple:
    words = shlex.split(line)
    flags = {w for w in words if w.startswith("--")}
    return [w for w in words if not w.startswith("--")], flags


def _check_flags(magic: str, flags: set, allowed: set) -> None:
    unknown = sorted(flags - allowed)
    if unknown:
        raise OpError(f"error: %{magic} does not know {', '.join(unknown)}.\n"
                      "hint: `%uvnb help` lists the options.")


def _change(op: str, line: str, allowed: set = frozenset()) -> None:
    items, flags = _split(line)
    _check_flags(op, flags, set(allowed))
    if op in ("add", "remove") and not items:
        raise OpError(f"error: %{op} needs at least one package, e.g. `%{op} attrs`.\nhint: "
                      "`%uvnb help` shows every magic.")
    started = time.monotonic()
    write = [] if STATE.comm is not None or STATE.project else ["--write"]
    answer = run_op(op, [*items, *sorted(flags), *write])
    switch_env(answer["env"], answer["site_packages"])
    lines = list(answer.get("diff") or [])
    if not lines:
        lines.append("No change to the locked packages.")
    note = record(answer)
    importable = "; importable now" if op != "sync" else ""
    lines.append(f"Env ready in {time.monotonic() - started:.2f} s{importable}.")
    if note:
        lines.append(note)
    stale = kenv.stale_packages(answer.get("changed") or {}, STATE.env)
    if stale:
        lines.append(f"Restart the kernel to use the new versions of {', '.join(stale)} "
                     "(already imported).")
    print("\n".join(lines))


def magic_python(line: str) -> None:
    items, flags = _split(line)
    _check_flags("python", flags, set())
    answer = run_op("python", items)
    note = record(answer)
    lines = list(answer.get("diff") or [])
    lines.append(f"Pinned Python {answer['python_version']}. Restart the kernel to run on it.")
    if note:
        lines.append(note)
    print("\n".join(lines))


def _guarded(func):
    """Show a user error as its one paragraph, never a traceback; log out-of-cell events."""
    def magic(line: str = "") -> None:
        while STATE.log:
            print(STATE.log.pop(0))
        try:
            func(line)
        except (OpError, kproj.UsageError) as exc:
            print(str(exc), file=sys.stderr)
        except ValueError as exc:  # shlex: unbalanced quotes
            print(f"error: cannot read the arguments: {exc}.", file=sys.stderr)
    magic.__doc__ = func.__doc__
    return magic


def _uvnb(line: str) -> None:
    if line.strip() not in ("", "help", "--help", "-h"):
        raise OpError(f"error: unknown `%uvnb {line.strip()}`.\nhint: `%uvnb help`.")
    print(HELP)


def _changer(op: str, allowed: set = frozenset()):
    """The notebook's own env (``_change``), or the project's in a project kernel."""
    def magic(line: str) -> None:
        if STATE.project:
            kproj.project_change(run_op, op, line)
        else:
            _change(op, line, allowed)
    return magic


MAGICS = {
    "add": _changer("add", {"--upgrade"}),
    "remove": _changer("remove"),
    "lock": _changer("lock", {"--upgrade"}),
    "sync": _changer("sync"),
    "deps": lambda line: kproj.magic_deps(run_op, line),
    "export": lambda line: kproj.magic_export(run_op, line),
    "python": magic_python,
    "uvnb": _uvnb,
}


def _show_startup_message(*args) -> None:
    message = os.environ.pop("UVNB_STARTUP_MESSAGE", "")
    ip = _ipython()
    if ip is not None:
        with contextlib.suppress(ValueError):
            ip.events.unregister("pre_run_cell", _show_startup_message)
    if message:
        print(message)


def _ipython():
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return None
    return get_ipython()


def load_ipython_extension(ipython) -> None:
    """Register the magics and the ``uvnb`` comm target (``--ext uvnb_kernel_magics``)."""
    for name, func in MAGICS.items():
        ipython.register_magic_function(_guarded(func), "line", name)
    kernel = getattr(ipython, "kernel", None)
    manager = getattr(kernel, "comm_manager", None)
    if manager is None:
        try:
            import comm

            manager = comm.get_comm_manager()
        except ImportError:
            manager = None
    if manager is not None:
        manager.register_target(TARGET, _on_comm_open)
    if os.environ.get("UVNB_STARTUP_MESSAGE"):
        ipython.events.register("pre_run_cell", _show_startup_message)
