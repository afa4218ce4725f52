"""The ``uvnb`` command line.

Only argument parsing lives here; each command's work is in :mod:`uvnb.commands` and friends,
imported when the command runs, so that ``uvnb --help`` stays fast. A no-op ``uvnb sync NB``
takes a shortcut past argparse entirely: it is the call editors and kernels make most.
"""

from __future__ import annotations

import os
import sys

COMMANDS = (
    ("init", "give a notebook an environment spec (creating the notebook if needed)"),
    ("add", "add requirements to a notebook's environment and relock"),
    ("remove", "remove requirements from a notebook's environment and relock"),
    ("lock", "lock notebooks (or --check that their locks are current)"),
    ("sync", "build or update a notebook's environment exactly as locked"),
    ("tree", "show a notebook's locked dependency tree"),
    ("python", "re-pin a notebook's Python and relock"),
    ("stamp", "set exclude-newer so the notebook relocks the same way later"),
    ("exec", "execute a notebook headlessly in its own environment"),
    ("run", "open a notebook in JupyterLab with its own environment's kernel"),
    ("kernel", "install, uninstall or list uvnb kernelspecs"),
    ("export", "turn a notebook's environment into a uv project or a requirements file"),
    ("import", "give a notebook the dependencies and exact versions of a uv project"),
    ("envs", "list the environments in the env store"),
    ("gc", "remove environments that no existing notebook uses"),
)


class _Skipped:
    """Stands in for the parsers of commands not being run: building all 16 costs ~15 ms."""

    def add_argument(self, *args: object, **kwargs: object) -> None:
        pass

    def add_mutually_exclusive_group(self) -> _Skipped:
        return self


def _parser(only: str | None = None):
    import argparse

    parser = argparse.ArgumentParser(
        prog="uvnb",
        description="Every notebook gets its own locked environment on a pinned Python, "
        "built by uv.",
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    helps = dict(COMMANDS)

    def command(name: str):
        if only is not None and name != only:
            return _Skipped()
        cmd = sub.add_parser(name, help=helps[name], description=helps[name])
        cmd.add_argument("-q", "--quiet", action="store_true", help="print only errors")
        cmd.add_argument("-v", "--verbose", action="store_true",
                         help="show uv's full output when something fails")
        return cmd

    def offline(cmd):
        cmd.add_argument("--offline", action="store_true",
                         help="use only uv's cache; never touch the network")

    cmd = command("init")
    cmd.add_argument("notebook")
    cmd.add_argument("--python", help="pin this Python version, e.g. 3.12")
    offline(cmd)

    cmd = command("add")
    cmd.add_argument("notebook")
    cmd.add_argument("requirements", nargs="*", metavar="REQ")
    cmd.add_argument("-r", "--requirements", dest="requirements_file", metavar="FILE",
                     help="add every requirement from a requirements.txt")
    cmd.add_argument("--upgrade", action="store_true", help="allow upgrades of locked packages")
    cmd.add_argument("--index", metavar="URL", help="an extra package index for these")
    cmd.add_argument("--pin", action="store_true", help="record ==version, not >=version")
    cmd.add_argument("--from", dest="from_project", metavar="DIR",
                     help="take the dependencies and exact versions of this uv project")
    offline(cmd)

    cmd = command("remove")
    cmd.add_argument("notebook")
    cmd.add_argument("names", nargs="+", metavar="NAME")
    offline(cmd)

    cmd = command("lock")
    cmd.add_argument("notebooks", nargs="+", metavar="notebook")
    cmd.add_argument("--upgrade", action="store_true", help="upgrade every package")
    cmd.add_argument("--upgrade-package", "-P", action="append", default=[], metavar="NAME",
                     help="upgrade this package only (repeatable)")
    cmd.add_argument("--check", action="store_true",
                     help="change nothing; exit 1 if any lock is out of date")
    offline(cmd)

    cmd = command("sync")
    cmd.add_argument("notebook")
    offline(cmd)

    cmd = command("tree")
    cmd.add_argument("notebook")
    cmd.add_argument("--depth", type=int, help="limit the tree's depth")
    offline(cmd)

    cmd = command("python")
    cmd.add_argument("notebook")
    cmd.add_argument("version", help="e.g. 3.13")
    offline(cmd)

    cmd = command("stamp")
    cmd.add_argument("notebook")
    cmd.add_argument("date", nargs="?",
                     help="YYYY-MM-DD (that whole day counts) or an RFC 3339 time; default: now")
    cmd.add_argument("--clear", action="store_true", help="remove exclude-newer")
    offline(cmd)

    cmd = command("exec")
    cmd.add_argument("notebook")
    where = cmd.add_mutually_exclusive_group()
    where.add_argument("--inplace", action="store_true", help="write outputs into the notebook")
    where.add_argument("--output", "-o", metavar="OUT", help="write the executed copy here")
    cmd.add_argument("--timeout", type=float, default=600.0,
                     help="seconds one cell may run (default 600)")
    offline(cmd)

    cmd = command("run")
    cmd.add_argument("notebook")
    cmd.add_argument("jupyter_args", nargs="*", metavar="ARG",
                     help="passed to `jupyter lab` (put them after --)")

    cmd = command("kernel")
    cmd.add_argument("action", choices=["install", "uninstall", "list"])
    scope = cmd.add_mutually_exclusive_group()
    scope.add_argument("--user", action="store_true", help="for this user only")
    scope.add_argument("--sys-prefix", action="store_true",
                       help="into the current Python environment (default)")
    scope.add_argument("--prefix", metavar="P", help="under this prefix")
    cmd.add_argument("--name", help="kernelspec name (default: uvnb; python3 makes the "
                     "default kernel env-aware)")
    cmd.add_argument("--display-name", help="name shown in the kernel picker")
    cmd.add_argument("--project", metavar="DIR", help="a kernel bound to this uv project")

    cmd = command("export")
    cmd.add_argument("notebook")
    cmd.add_argument("--to", metavar="DIR", help="write DIR/pyproject.toml and DIR/uv.lock")
    cmd.add_argument("--format", choices=["project", "requirements-txt", "pylock"],
                     default=None, help="what to write (default: project with --to, "
                     "else requirements-txt)")
    cmd.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    cmd.add_argument("--force", action="store_true", help="overwrite an existing project")
    cmd.add_argument("--merge", action="store_true",
                     help="merge into an existing project's dependencies")
    offline(cmd)

    cmd = command("import")
    cmd.add_argument("project", metavar="DIR")
    cmd.add_argument("notebook")
    offline(cmd)

    command("envs")
    cmd = command("gc")
    cmd.add_argument("--dry-run", action="store_true", help="only list what would go")
    return parser


def _version() -> str:
    from uvnb import __version__

    return f"uvnb {__version__}"


def _fast_sync(argv: list[str]) -> int | None:
    """``uvnb sync NB`` when nothing changed: answer without argparse or uv."""
    if len(argv) != 2 or argv[0] != "sync" or argv[1].startswith("-"):
        return None
    from uvnb import sync

    env = sync.quick_check(argv[1])
    if env is None:
        return None
    sys.stdout.write(f"{argv[1]}: up to date, env {env.path} (Python {env.python_version})\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    quick = _fast_sync(argv)
    if quick is not None:
        return quick
    from uvnb import fastargs

    args = fastargs.parse(argv)
    if args is None:
        known = {name for name, _ in COMMANDS}
        only = argv[0] if argv and argv[0] in known else None
        args = _parser(only).parse_args(argv)
    if args.command is None:
        _parser().print_help()
        return 0
    if getattr(args, "offline", False):
        os.environ["UVNB_OFFLINE"] = "1"
    if getattr(args, "quiet", False):
        os.environ["UVNB_QUIET"] = "1"
    from uvnb.errors import UvError, UvnbError

    try:
        from uvnb import commands

        return int(getattr(commands, f"cmd_{args.command}")(args) or 0)
    except UvnbError as exc:
        print(exc.render(), file=sys.stderr)
        if getattr(args, "verbose", False) and isinstance(exc, UvError) and exc.stderr:
            print("\nuv said:\n" + exc.stderr.rstrip(), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted; nothing was written.", file=sys.stderr)
        return 130
