"""The magics' output for project kernels, ``%deps``' table and ``%export``, kernel side.

A project kernel (``UVNB_PROJECT`` set) runs in a uv project's own env, which ``uv add``
changes in place: there is no env to switch to and nothing to record in the notebook, only
an import cache to refresh and the project files to name. Stdlib only, Python 3.8+, like
``uvnb_kernel_magics`` (which passes its ``run_op`` in, to keep the import one-way).
"""

from __future__ import annotations

import importlib
import os
import shlex
import sys
import time

#: Options each magic accepts in a project kernel; ``--group`` takes a value.
PROJECT_FLAGS = {"add": {"--upgrade", "--dev", "--group"}, "remove": {"--dev", "--group"},
                 "lock": {"--upgrade"}, "sync": set()}


class UsageError(Exception):
    """A mistake in a magic's arguments; ``str()`` is the paragraph to show."""


def parse(magic: str, line: str, allowed: set) -> tuple:
    """``(items, options)`` where options keeps ``--group NAME`` as a pair of words."""
    items, options = [], []
    words = shlex.split(line)
    while words:
        word = words.pop(0)
        if not word.startswith("--"):
            items.append(word)
            continue
        name, _, value = word.partition("=")
        if name not in allowed:
            raise UsageError(f"error: %{magic} does not know {name}.\n"
                             "hint: `%uvnb help` lists the options.")
        if name == "--group":
            if not value and not words:
                raise UsageError(f"error: %{magic} --group needs a group name.\n"
                                 f"hint: e.g. `%{magic} --group test pytest`.")
            options += [name, value or words.pop(0)]
        else:
            options.append(name)
    return items, options


def project_change(run_op, op: str, line: str) -> None:
    """``%add``/``%remove``/``%lock``/``%sync`` on the project the kernel runs in."""
    items, options = parse(op, line, PROJECT_FLAGS[op])
    if op in ("add", "remove") and not items:
        raise UsageError(f"error: %{op} needs at least one package, e.g. `%{op} attrs`.\n"
                         "hint: `%uvnb help` shows every magic.")
    started = time.monotonic()
    answer = run_op(op, [*items, *options])
    importlib.invalidate_caches()  # the env changed in place: new folders on sys.path
    lines = list(answer.get("diff") or []) or ["No change to the locked packages."]
    lines.append(f"Env ready in {time.monotonic() - started:.2f} s"
                 f"{'; importable now' if op != 'sync' else ''}.")
    if op != "sync" and answer.get("diff"):
        files = " and ".join(answer.get("files") or [])
        lines.append(f"Changed project {answer.get('project_name')}: {files} (the notebook "
                     "itself is unchanged).")
    stale = [name for name, modules in sorted((answer.get("changed") or {}).items())
             if any(m in sys.modules for m in modules)]
    if stale:
        lines.append(f"Restart the kernel to use the new versions of {', '.join(stale)} "
                     "(already imported).")
    print("\n".join(lines))


def magic_export(run_op, line: str) -> None:
    """``%export DIR [--merge|--force]``: the notebook's env as a uv project in DIR."""
    items, options = parse("export", line, {"--merge", "--force"})
    if len(items) != 1:
        raise UsageError("error: %export takes one folder, e.g. `%export ../project`.\n"
                         "hint: --merge adds to an existing project, --force replaces it.")
    answer = run_op("export", [os.path.abspath(items[0]), *options])
    print(answer.get("message") or "Exported.")


def magic_deps(run_op, line: str) -> None:
    """``%deps``: the locked packages (the notebook's or the project's) and the layer."""
    answer = run_op("deps", [])
    rows = answer.get("rows") or []
    if not rows:
        print("No packages locked yet; `%add PACKAGE` adds one.")
        return
    sources = {"lock": "lock", "lock+layer": "lock (also in kernel layer)",
               "layer": "kernel layer"}
    table = [("package", "version", "kind", "from")]
    for row in rows:
        table.append((row["name"], row["version"], "direct" if row["direct"] else "indirect",
                      sources.get(row["source"], row["source"])))
    widths = [max(len(r[i]) for r in table) for i in range(4)]
    for cells in table:
        padded = (c.ljust(w) for c, w in zip(cells, widths))  # noqa: B905 (3.8 has no strict)
        print("  ".join(padded).rstrip())
    if answer.get("note"):
        print(answer["note"])
