"""What each ``uvnb`` command does, once its arguments are parsed.

Every command follows one pattern: load the notebook (a bad file fails here, before any
work), check it can be written if the command writes, compute the change through uv, and
only then save the notebook atomically. A failure anywhere leaves the file as it was.
"""

from __future__ import annotations

import sys

from uvnb import lock, notebook, spec
from uvnb.errors import LockMismatch, SpecError, UvnbError
from uvnb.progress import progress
from uvnb.uv import offline_requested

TYPE_CHECKING = False
if TYPE_CHECKING:  # argparse costs ~10 ms to import; the everyday commands never need it
    from argparse import Namespace


def _say(args: Namespace, text: str) -> None:
    if not getattr(args, "quiet", False):
        print(text)


def _report(args: Namespace, nb: notebook.Notebook, change: lock.Change, verb: str) -> None:
    written = notebook.save(nb)
    if not written:
        _say(args, f"{nb.path}: no change")
        return
    _say(args, f"{verb} {nb.path}")
    for line in change.diff():
        _say(args, f"  {line}")


def cmd_init(args: Namespace) -> int:
    from uvnb import python

    path = args.notebook
    nb = notebook.open_for_write(path, create=True)
    if nb.spec_source is not None:
        raise SpecError(f"{path} already has an environment spec.",
                        f"use `uvnb add {path} PACKAGE` or `uvnb python {path} VERSION`.")
    interp = python.find(args.python)
    if args.python:
        nb.set_python_request(args.python)
    nb.set_spec_source(spec.new_source(f">={interp.minor}"))
    with progress(f"locking {path}"):
        change = lock.relock(nb, offline=offline_requested(), interp=interp)
    change.apply(nb)
    notebook.save(nb)
    _say(args, f"Initialized {path} (Python {interp.version_text}, {interp.path})")
    return 0


def cmd_add(args: Namespace) -> int:
    if args.from_project:
        from uvnb.export import import_project

        return import_project(args.from_project, args.notebook, quiet=args.quiet)
    if not args.requirements and not args.requirements_file:
        raise UvnbError("nothing to add.", f"name packages: `uvnb add {args.notebook} pandas`.")
    nb = notebook.open_for_write(args.notebook)
    with progress(f"resolving and locking {nb.path}"):
        change = lock.add(nb, args.requirements, upgrade=args.upgrade,
                          requirements_file=args.requirements_file, index=args.index,
                          pin=args.pin, offline=offline_requested())
    change.apply(nb)
    _report(args, nb, change, "Updated")
    return 0


def cmd_remove(args: Namespace) -> int:
    nb = notebook.open_for_write(args.notebook)
    with progress(f"relocking {nb.path}"):
        change = lock.remove(nb, args.names, offline=offline_requested())
    change.apply(nb)
    _report(args, nb, change, "Updated")
    return 0


def cmd_lock(args: Namespace) -> int:
    if args.check:
        return _check_many(args)
    status = 0
    for path in args.notebooks:
        try:
            nb = notebook.open_for_write(path)
            with progress(f"locking {path}"):
                change = lock.relock(nb, upgrade=args.upgrade,
                                     upgrade_packages=args.upgrade_package,
                                     offline=offline_requested())
            change.apply(nb)
            _report(args, nb, change, "Locked")
        except UvnbError as exc:
            if len(args.notebooks) == 1:
                raise
            print(exc.render(), file=sys.stderr)
            status = 1
    return status


def _check_one(path: str) -> str | None:
    try:
        nb = notebook.load(path)
        if nb.spec_source is None:
            return None  # not a uvnb notebook: nothing to keep in sync
        lock.check(nb, offline=offline_requested())
    except LockMismatch as exc:
        return exc.message
    except UvnbError as exc:
        # Most messages already start with the path; don't say it twice.
        return exc.message if exc.message.startswith(path) else f"{path}: {exc.message}"
    return None


def _check_many(args: Namespace) -> int:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(8, len(args.notebooks))) as pool:
        problems = [p for p in pool.map(_check_one, args.notebooks) if p]
    for problem in problems:
        print(problem)
    if problems:
        print(f"hint: run `uvnb lock` on {'it' if len(problems) == 1 else 'them'} and commit.",
              file=sys.stderr)
        return 1
    _say(args, f"{len(args.notebooks)} notebook(s) checked: every lock is current")
    return 0


def cmd_sync(args: Namespace) -> int:
    from uvnb import sync
    from uvnb.progress import progress

    nb = notebook.load(args.notebook)
    if nb.spec_source is None:
        raise SpecError(f"{nb.path} has no environment spec.",
                        f"run `uvnb init {nb.path}` or `uvnb add {nb.path} PACKAGE`.")
    with progress(f"syncing the env of {nb.path}"):
        result = sync.sync(nb, offline=offline_requested(),
                           before_relock=lambda: notebook.ensure_writable(nb.path))
    if result.locked:
        notebook.save(nb)
        _say(args, f"Locked {nb.path} (its spec had changed)")
    for line in result.installed:
        _say(args, f"  {line}")
    state = "built" if result.built else "up to date"
    _say(args, f"{nb.path}: {state}, env {result.env.path} (Python "
               f"{result.env.python_version}) in {result.seconds:.2f}s")
    return 0


def cmd_tree(args: Namespace) -> int:
    from uvnb import uv

    nb = notebook.load(args.notebook)
    interp = lock.interpreter_for(nb)
    extra = ["--frozen"] if nb.lock_text else []
    if args.depth is not None:
        extra += ["--depth", str(args.depth)]
    if offline_requested():
        extra.append("--offline")
    with lock.materialised(nb) as script, progress(f"reading the tree of {nb.path}"):
        proc = uv.run(["tree", "--script", script.path, "--python", interp.path, "--quiet",
                       "--no-progress", *extra], what=f"show the tree of {nb.path}")
    sys.stdout.write(proc.stdout)
    return 0


def cmd_python(args: Namespace) -> int:
    from uvnb import python

    nb = notebook.open_for_write(args.notebook)
    lock.parsed_spec(nb)
    interp = python.find(args.version)
    nb.set_python_request(args.version)
    nb.set_spec_source(spec.edit(nb.spec_source or "", nb.path,
                                 requires_python=f">={interp.minor}"))
    with progress(f"relocking {nb.path} for Python {interp.version_text}"):
        change = lock.relock(nb, offline=offline_requested(), interp=interp)
    change.apply(nb)
    _report(args, nb, change, f"Pinned Python {interp.version_text} in")
    return 0


def exclude_newer_value(date: str | None) -> str:
    """``YYYY-MM-DD`` means "everything published that day" (midnight after it, UTC)."""
    import datetime as dt

    if date is None:
        now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        return now.isoformat().replace("+00:00", "Z")
    try:
        day = dt.date.fromisoformat(date)
    except ValueError:
        pass
    else:
        return f"{day + dt.timedelta(days=1)}T00:00:00Z"
    try:
        moment = dt.datetime.fromisoformat(date.replace("Z", "+00:00"))
    except ValueError:
        raise UvnbError(f"`{date}` is neither a date (YYYY-MM-DD) nor an RFC 3339 time.",
                        "use e.g. `2026-11-01` or `2026-11-01T12:00:00Z`.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def cmd_stamp(args: Namespace) -> int:
    nb = notebook.open_for_write(args.notebook)
    lock.parsed_spec(nb)
    value = None if args.clear else exclude_newer_value(args.date)
    nb.set_spec_source(spec.edit(nb.spec_source or "", nb.path, exclude_newer=value))
    with progress(f"relocking {nb.path}"):
        change = lock.relock(nb, offline=offline_requested())
    change.apply(nb)
    _report(args, nb, change, "Cleared exclude-newer in" if value is None
            else f"Stamped exclude-newer = {value} in")
    return 0


def cmd_exec(args: Namespace) -> int:
    from uvnb.execute import execute

    return execute(args.notebook, inplace=args.inplace, output=args.output,
                   timeout=args.timeout, quiet=args.quiet)


def cmd_envs(args: Namespace) -> int:
    from uvnb.store import describe

    for line in describe():
        print(line)
    return 0


def cmd_gc(args: Namespace) -> int:
    from uvnb.store import collect

    removed, freed = collect(dry_run=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    for key in removed:
        _say(args, f"{verb} env {key}")
    _say(args, f"{verb} {len(removed)} env(s), {freed / 1e6:.1f} MB")
    return 0


def cmd_run(args: Namespace) -> int:
    from uvnb.runlab import run_lab

    return run_lab(args.notebook, args.jupyter_args)


def cmd_kernel(args: Namespace) -> int:
    from uvnb.kernelspec import cli_kernel

    return cli_kernel(args)


def cmd_export(args: Namespace) -> int:
    from uvnb.export import cli_export

    return cli_export(args)


def cmd_import(args: Namespace) -> int:
    from uvnb.export import cli_import

    return cli_import(args)
