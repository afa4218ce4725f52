"""The server-side half of the kernel magics: one short process per ``%add``, ``%deps``, ….

Why a subprocess: a notebook's env does not contain uvnb (its lock is the notebook's own), so
the kernel-side module (stdlib only) runs ``$UVNB_SERVER_PYTHON -m uvnb.kernel_ops OP
--notebook NB --json …`` and reads one JSON object from stdout. Progress goes to stderr, which
the kernel streams into the cell. Imports stay lazy: ``%add`` of a cached package should cost
well under half a second, and interpreter start-up plus imports are a good part of that.

What the kernel knows better than the file: once it has sent an ``update`` to JupyterLab the
open notebook (not yet saved) is ahead of the file on disk, so the kernel passes its last
known ``{"spec", "lock", "python"}`` on stdin and these replace what the file says. The file
still supplies everything else (its path, and all cells and outputs for ``write``).

In a project kernel (``--project ROOT``) the ops are :mod:`uvnb.project_ops`: ``uv add`` & co.
on the project instead of the notebook.

Output: ``{"ok": true, …}`` or ``{"ok": false, "error": "error: …\\nhint: …"}`` (exit 0 both
ways: a user mistake is an answer, not a crash; exit 1 is left to real bugs).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from uvnb.env_modules import changed_modules as _changed_modules
from uvnb.uv import offline_requested

if TYPE_CHECKING:  # pragma: no cover
    from uvnb.notebook import Notebook


def _load(path: str, state: dict[str, Any]) -> Notebook:
    """The notebook from disk, with the kernel's newer spec/lock/pin laid over it."""
    from uvnb import notebook

    if not path:
        from uvnb.errors import NotebookError

        raise NotebookError(
            "this kernel does not know which notebook it belongs to, so uvnb cannot record "
            "the change.",
            "open the notebook with the \"Python (uvnb)\" kernel from JupyterLab, or use "
            "`uvnb add NOTEBOOK PACKAGE` in a terminal.",
        )
    nb = notebook.load(path)
    if "spec" in state:
        if state["spec"] is not None:
            nb.set_spec_source(state["spec"])
        nb.set_lock_text(state.get("lock"))
        nb.set_python_request(state.get("python"))
    return nb


def _ensure_lock(nb: Notebook) -> bool:
    """Lock a spec that has none, in memory: the kernel started from this lock (the launcher
    locked it without writing the file), so diffs and ``%deps`` must start from it too."""
    if nb.spec_source is None or nb.lock_text is not None:
        return False
    from uvnb import lock

    lock.relock(nb, offline=offline_requested()).apply(nb)
    return True


def _record(nb: Notebook) -> dict[str, Any]:
    return {"spec": nb.spec_source, "lock": nb.lock_text, "python": nb.python_request}


def _built(nb: Notebook, old_lock: str | None, old_env: str | None,
           diff: list[str]) -> dict[str, Any]:
    """Build (or reuse) the env for the notebook's new lock; describe the switch."""
    from uvnb import sync

    result = sync.sync(nb, offline=offline_requested())
    if result.locked and not diff:
        from uvnb.lock import diff_locks

        diff = diff_locks(old_lock, nb.lock_text)
    return {**_record(nb), "diff": diff, "env": result.env.path,
            "site_packages": result.env.site_packages, "built": result.built,
            "python_version": result.env.python_version,
            "changed": _changed_modules(old_env, old_lock, nb.lock_text)}


def op_add(args: argparse.Namespace, state: dict[str, Any]) -> dict[str, Any]:
    from uvnb import lock

    nb = _load(args.notebook, state)
    _ensure_lock(nb)
    old_lock = nb.lock_text
    change = lock.add(nb, args.items, upgrade=args.upgrade, offline=offline_requested())
    change.apply(nb)
    return _built(nb, old_lock, args.env, change.diff())


def op_remove(args: argparse.Namespace, state: dict[str, Any]) -> dict[str, Any]:
    from uvnb import lock

    nb = _load(args.notebook, state)
    _ensure_lock(nb)
    old_lock = nb.lock_text
    change = lock.remove(nb, args.items, offline=offline_requested())
    change.apply(nb)
    return _built(nb, old_lock, args.env, change.diff())


def op_lock(args: argparse.Namespace, state: dict[str, Any]) -> dict[str, Any]:
    from uvnb import lock

    nb = _load(args.notebook, state)
    old_lock = nb.lock_text
    change = lock.relock(nb, upgrade=args.upgrade, upgrade_packages=args.items,
                         offline=offline_requested())
    change.apply(nb)
    return _built(nb, old_lock, args.env, change.diff())


def op_sync(args: argparse.Namespace, state: dict[str, Any]) -> dict[str, Any]:
    nb = _load(args.notebook, state)
    return _built(nb, nb.lock_text, args.env, [])


def op_python(args: argparse.Namespace, state: dict[str, Any]) -> dict[str, Any]:
    """Re-pin and relock; the running interpreter cannot change, so no env switch."""
    from uvnb import lock, python, spec

    if len(args.items) != 1:
        from uvnb.errors import UvnbError

        raise UvnbError("%python takes one version, e.g. `%python 3.12`.", None)
    nb = _load(args.notebook, state)
    lock.parsed_spec(nb)
    interp = python.find(args.items[0])
    nb.set_python_request(args.items[0])
    nb.set_spec_source(spec.edit(nb.spec_source or "", nb.path,
                                 requires_python=f">={interp.minor}"))
    change = lock.relock(nb, offline=offline_requested(), interp=interp)
    change.apply(nb)
    return {**_record(nb), "diff": change.diff(), "python_version": interp.version_text,
            "restart": True}


def op_deps(args: argparse.Namespace, state: dict[str, Any]) -> dict[str, Any]:
    """Rows for ``%deps``: every locked package, then what only the kernel layer brings."""
    from packaging.utils import canonicalize_name

    from uvnb import lock, spec
    from uvnb.kernel_layer import layer_packages

    nb = _load(args.notebook, state)
    direct = set()
    if nb.spec_source is not None:
        parsed = spec.parse(nb.spec_source, nb.path)
        direct = {canonicalize_name(spec.check_requirement(d).name) for d in parsed.dependencies}
    layer = {canonicalize_name(k): v for k, v in layer_packages(args.layer or "").items()}
    note = None
    if _ensure_lock(nb):
        note = "The notebook file has no lock yet; `%lock` records this one."
    rows = []
    for name, version in sorted(lock.locked_versions(nb.lock_text).items()):
        key = canonicalize_name(name)
        if version == "?" and key not in direct:
            continue  # the script's own placeholder entry in some uv versions
        rows.append({"name": name, "version": version, "direct": key in direct,
                     "source": "lock+layer" if key in layer else "lock"})
    locked = {canonicalize_name(r["name"]) for r in rows}
    for name, version in sorted(layer.items()):
        if name not in locked:
            rows.append({"name": name, "version": version, "direct": False,
                         "source": "layer"})
    return {"rows": rows, "python": nb.python_request, "note": note}


def op_write(args: argparse.Namespace, state: dict[str, Any]) -> dict[str, Any]:
    from uvnb.frontend import write_change

    if "spec" not in state or state["spec"] is None:
        from uvnb.errors import UvnbError

        raise UvnbError("nothing to write: the kernel sent no spec.", None)
    written = write_change(args.notebook, state["spec"], state.get("lock"),
                           state.get("python"))
    return {"written": written}


def op_export(args: argparse.Namespace, state: dict[str, Any]) -> dict[str, Any]:
    """``%export DIR``: like ``uvnb export NB --to DIR``, from the kernel's newest spec/lock."""
    from uvnb.errors import UvnbError
    from uvnb.export import export_project

    if len(args.items) != 1:
        raise UvnbError("%export takes one folder, e.g. `%export ../project`.",
                        "add --merge to merge into an existing project, --force to replace it.")
    nb = _load(args.notebook, state)
    result = export_project(nb, args.items[0], force=args.force, merge=args.merge,
                            offline=offline_requested())
    return {"message": f"Exported {nb.path} to {result.pyproject} and {result.lock_path}; "
                       f"`uv sync --locked --project {result.root}` reproduces its env."}


OPS = {"add": op_add, "remove": op_remove, "lock": op_lock, "sync": op_sync,
       "python": op_python, "deps": op_deps, "write": op_write, "export": op_export}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m uvnb.kernel_ops")
    parser.add_argument("op", choices=sorted(OPS))
    parser.add_argument("items", nargs="*")
    parser.add_argument("--notebook", default="")
    parser.add_argument("--env", default=None, help="the env the kernel runs in now")
    parser.add_argument("--layer", default=None, help="the kernel layer folder")
    parser.add_argument("--upgrade", action="store_true")
    parser.add_argument("--project", default=None,
                        help="the uv project of a project kernel (its ops: uvnb.project_ops)")
    parser.add_argument("--group", default=None, help="project kernels: uv's --group")
    parser.add_argument("--dev", action="store_true", help="project kernels: uv's --dev")
    parser.add_argument("--force", action="store_true", help="%%export: replace a project")
    parser.add_argument("--merge", action="store_true", help="%%export: merge into a project")
    parser.add_argument("--json", action="store_true", help="read state on stdin (JSON)")
    parser.add_argument("--write", action="store_true",
                        help="no frontend is connected: also write the notebook file")
    return parser


#: Ops whose result is a new spec/lock that the notebook must record.
RECORDING_OPS = {"add", "remove", "lock", "python"}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    state: dict[str, Any] = {}
    if args.json:
        text = sys.stdin.read()
        state = json.loads(text) if text.strip() else {}
    from uvnb.errors import UvnbError

    handler = OPS[args.op]
    if args.project and args.op != "write":
        from uvnb.project_ops import OPS as PROJECT_OPS

        handler = PROJECT_OPS[args.op]
    write = args.write and args.op in RECORDING_OPS and not args.project
    try:
        if write:  # fail before any work if the change could not be recorded
            from uvnb.notebook import ensure_writable

            ensure_writable(args.notebook)
        answer = {"ok": True, **handler(args, state)}
        if write and answer.get("spec") is not None:
            # Same process as the change itself: one Python start fewer per `%add`.
            from uvnb.frontend import write_change

            answer["written"] = write_change(args.notebook, answer["spec"],
                                             answer.get("lock"), answer.get("python"))
    except UvnbError as exc:
        answer = {"ok": False, "error": exc.render()}
    sys.stdout.write(json.dumps(answer))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
