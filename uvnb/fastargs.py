"""A tiny parser for the everyday commands, so they start without argparse.

``argparse`` (with ``gettext``, ``locale`` and ``shutil`` behind it) costs ~10 ms per start,
a fifth of everything uvnb adds on top of uv for ``uvnb add``. The commands people and
editors run all day have simple shapes, so they are parsed here; anything unusual (help,
an unknown or misspelt flag, ``--opt=value``) returns None and argparse takes over with its
full messages. The two must agree: ``tests/test_cli_fastargs.py`` checks they do.
"""

from __future__ import annotations

from types import SimpleNamespace

COMMON_FLAGS = {"-q": "quiet", "--quiet": "quiet", "-v": "verbose", "--verbose": "verbose",
                "--offline": "offline"}

# command: (positional names; the last one with "*" or "+" takes the rest,
#           flags -> dest, options with a value -> (dest, repeatable), defaults)
SHAPES: dict[str, tuple[list[str], dict[str, str], dict[str, tuple[str, bool]], dict]] = {
    "add": (["notebook", "requirements*"],
            {"--upgrade": "upgrade", "--pin": "pin"},
            {"-r": ("requirements_file", False), "--requirements": ("requirements_file", False),
             "--index": ("index", False), "--from": ("from_project", False)},
            {"requirements_file": None, "index": None, "from_project": None}),
    "remove": (["notebook", "names+"], {}, {}, {}),
    "lock": (["notebooks+"], {"--upgrade": "upgrade", "--check": "check"},
             {"-P": ("upgrade_package", True), "--upgrade-package": ("upgrade_package", True)},
             {"upgrade_package": []}),
    "sync": (["notebook"], {}, {}, {}),
    "tree": (["notebook"], {}, {"--depth": ("depth", False)}, {"depth": None}),
}


def parse(argv: list[str]) -> SimpleNamespace | None:
    """The parsed arguments of an everyday command, or None to let argparse decide."""
    if not argv or argv[0] not in SHAPES:
        return None
    command, rest = argv[0], argv[1:]
    positionals, flags, options, defaults = SHAPES[command]
    values: dict = {"command": command, **{d: False for d in COMMON_FLAGS.values()},
                    **{d: False for d in flags.values()}}
    for dest, default in defaults.items():
        values[dest] = list(default) if isinstance(default, list) else default
    loose: list[str] = []
    index = 0
    while index < len(rest):
        arg = rest[index]
        if arg in COMMON_FLAGS:
            values[COMMON_FLAGS[arg]] = True
        elif arg in flags:
            values[flags[arg]] = True
        elif arg in options and index + 1 < len(rest) and not rest[index + 1].startswith("-"):
            dest, repeat = options[arg]
            value = rest[index + 1]
            if dest == "depth":
                if not value.isdigit():
                    return None
                value = int(value)
            if repeat:
                values[dest].append(value)
            else:
                values[dest] = value
            index += 1
        elif arg.startswith("-"):
            return None
        else:
            loose.append(arg)
        index += 1
    for name in positionals:
        if name.endswith(("*", "+")):
            if name.endswith("+") and not loose:
                return None
            values[name[:-1]] = loose
            loose = []
        elif loose:
            values[name] = loose.pop(0)
        else:
            return None
    if loose:
        return None
    return SimpleNamespace(**values)
