"""What starting a uvnb kernel means, shared by the provisioner, the argv launcher and `exec`.

Given the kernel's environment and working folder, :func:`prepare` finds the notebook, syncs
its env from the lock, joins the kernel layer (ipykernel) to it, and returns the argv and the
variables that start ``<env>/bin/python -m ipykernel_launcher -f {connection_file}``. Any
failure becomes a :func:`fallback` launch instead: a small kernel in the server's own Python
that answers every execution with the error and its fix, so that a user never sees a silent
"kernel died".

Finding the notebook (first hit wins):

1. ``JPY_SESSION_NAME`` (jupyter_server sets it to the notebook's path; ``uvnb exec`` too):
   absolute, else relative to the kernel's cwd, else its file name in the cwd; a trailing
   ``-<uuid>`` (consoles, some frontends) is stripped before trying again.
2. The only ``.ipynb`` in the kernel's cwd (jupyter_server starts kernels in the notebook's
   folder), when there is exactly one; several make the guess unsafe, so none is taken.

Which env (:func:`uvnb.project_launch.choose_project`, first hit wins): a project kernel's
own project; a notebook's own spec; the nearest uv project above the notebook
(kernel-per-project); else the *default env*, an env with no packages on the default Python,
kept as a small notebook of uvnb's own in the state dir (so its lock survives and later
starts take the no-uv fast path). The user's notebook is never written by a kernel start.

``python -m uvnb.launch`` runs :func:`prepare` and prints the launch as JSON: the provisioner
runs it as an async subprocess so that the Jupyter server's event loop never blocks.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from uvnb.errors import UvnbError

if TYPE_CHECKING:  # pragma: no cover
    from uvnb.python import Interpreter

CONNECTION_FILE = "{connection_file}"
_UUID_TAIL = re.compile(r"[-_]?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$",
                        re.IGNORECASE)
UNEXPECTED_HINT = ("this is a bug in uvnb; please report it with the message above. Meanwhile "
                   "`uvnb sync NOTEBOOK` in a terminal shows the full details.")


@dataclass
class Launch:
    """How to start one kernel: ``argv`` still holds ``{connection_file}``."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    notebook: str | None = None
    message: str | None = None
    error: str | None = None

    def command(self, connection_file: str) -> list[str]:
        return [a.replace(CONNECTION_FILE, connection_file) for a in self.argv]


def passthrough_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The ``UVNB_*``/``UV_*`` settings a kernel inherits, so ``%add`` uses the same uv."""
    return {k: v for k, v in environ.items() if k.startswith(("UVNB_", "UV_"))}


def find_notebook(environ: Mapping[str, str], cwd: str | None = None) -> str | None:
    """The notebook a kernel belongs to, or None (see the module docstring for the order)."""
    cwd = os.path.abspath(cwd or os.getcwd())
    session = (environ.get("JPY_SESSION_NAME") or "").strip()
    tries: list[str] = []
    for name in (session, _UUID_TAIL.sub("", session)):
        if name:
            name = os.path.expanduser(name)
            tries += [os.path.join(cwd, name), os.path.join(cwd, os.path.basename(name))]
    for candidate in tries:
        if candidate.endswith(".ipynb") and os.path.isfile(candidate):
            return os.path.abspath(candidate)
    try:
        found = [e for e in os.listdir(cwd) if e.endswith(".ipynb") and not e.startswith(".")
                 and os.path.isfile(os.path.join(cwd, e))]
    except OSError:
        found = []
    return os.path.join(cwd, found[0]) if len(found) == 1 else None


def default_notebook(python_request: str | None = None):
    """uvnb's own spec-only notebook for the no-spec env on ``python_request``'s Python."""
    from uvnb import dirs, notebook, python, spec

    request = python_request or os.environ.get("UVNB_DEFAULT_PYTHON") or None
    interp = python.find(request)
    path = os.path.join(dirs.ensure(os.path.join(dirs.state_dir(), "default")),
                        f"python{interp.minor}.ipynb")
    try:
        nb = notebook.load(path)
    except UvnbError:
        nb = notebook.loads(json.dumps(notebook.new_notebook_data()), path)
        nb.raw = b""
    if nb.spec_source is None:
        nb.set_spec_source(spec.new_source(f">={interp.minor}"))
    nb.set_python_request(interp.minor)
    return nb


def _describe(result, layer_built: bool, layer_seconds: float, nb_path: str | None) -> str | None:
    if not (result.built or result.locked or layer_built):
        return None
    where = os.path.basename(nb_path) if nb_path else "notebooks without a spec"
    parts = []
    if result.built:
        pkgs = ", ".join(line.lstrip("+ ") for line in result.installed) or "no packages"
        parts.append(f"built the env for {where} in {result.seconds:.1f} s "
                     f"(Python {result.env.python_version}): {pkgs}")
    elif result.locked:
        parts.append(f"locked {where} in {result.seconds:.1f} s; the notebook file still "
                     "has no lock: run `%lock` or `uvnb lock` to store it")
    if layer_built:
        parts.append(f"installed ipykernel for Python {result.env.python_version} in "
                     f"{layer_seconds:.1f} s (once per Python)")
    return "uvnb: " + "; ".join(parts) + "."


def _magics_extras() -> tuple[list[str], dict[str, str], list[str]]:
    """What the kernel-side magics need (argv, env, sys.path folders); nothing if absent."""
    try:
        from uvnb.magics import kernel_launch_extras
    except ImportError:
        return [], {}, []
    argv, env, paths = kernel_launch_extras()
    return list(argv), dict(env), list(paths)


def prepare(nb_path: str | None, *, environ: Mapping[str, str] | None = None,
            on_line: Callable[[str], None] | None = None) -> Launch:
    """Sync the notebook's env (or the default env) and say how to start its kernel.

    Raises :class:`UvnbError` when the env cannot be made; callers turn that into
    :func:`fallback`.
    """
    from uvnb import notebook, sync, uv
    from uvnb.python import Interpreter

    nb = notebook.load(nb_path) if nb_path else None
    target = nb if nb is not None and nb.spec_source is not None else default_notebook()
    result = sync.sync(target, offline=uv.offline_requested(), on_line=on_line)
    if nb is not target:
        notebook.save(target)  # our own default-env notebook: keep its lock for next time
    env = result.env
    interp = Interpreter(env.interpreter, tuple(int(p) for p in env.python_version.split(".")))
    launch, layer_built, layer_seconds = kernel_launch(
        env.path, env.python, env.site_packages, interp, nb_path, environ, on_line=on_line)
    message = _describe(result, layer_built, layer_seconds, nb_path)
    if message:
        launch.env["UVNB_STARTUP_MESSAGE"] = launch.message = message
    return launch


def kernel_launch(env_path: str, env_python: str, site_packages: str, interp: Interpreter,
                  nb_path: str | None, environ: Mapping[str, str] | None = None,
                  extra: Mapping[str, str] | None = None,
                  on_line: Callable[[str], None] | None = None) -> tuple[Launch, bool, float]:
    """Join the kernel layer (and the magics) to a ready env and build its ipykernel launch.

    Shared by notebook envs and project envs (:mod:`uvnb.project_launch`), so both kinds of
    kernel get the same variables and magics. Returns the launch, whether the layer had to
    be built, and how long that took (for the start-up message).
    """
    from uvnb import kernel_layer, uv

    environ = os.environ if environ is None else environ
    started = time.monotonic()
    layer_built = kernel_layer.layer_ready(interp) is None
    layer = kernel_layer.ensure_layer(interp, offline=uv.offline_requested(), on_line=on_line)
    layer_seconds = time.monotonic() - started
    extra_argv, extra_env, extra_paths = _magics_extras()
    kernel_layer.attach(site_packages, layer, extra_paths)
    kernel_env = {
        **passthrough_env(environ),
        "UVNB_NOTEBOOK": os.path.abspath(nb_path) if nb_path else "",
        "UVNB_SERVER_PYTHON": sys.executable,
        "UVNB_ENV": env_path,
        "UVNB_PROJECT": "",
        "UVNB_KERNEL": "1",
        "VIRTUAL_ENV": env_path,
        "PATH": os.path.join(env_path, "bin") + os.pathsep + environ.get("PATH", os.defpath),
        **extra_env,
        **(extra or {}),
    }
    kernel_env.pop("UVNB_STARTUP_MESSAGE", None)
    kernel_env.pop("UVNB_FALLBACK_MESSAGE", None)
    argv = [env_python, "-m", "ipykernel_launcher", "-f", CONNECTION_FILE, *extra_argv]
    return Launch(argv, kernel_env, nb_path), layer_built, layer_seconds


def fallback(exc: BaseException, nb_path: str | None,
             environ: Mapping[str, str] | None = None) -> Launch:
    """The launch of the explaining kernel: the server's Python, ``uvnb.kernel --fallback``."""
    if isinstance(exc, UvnbError):
        text = exc.render()
    else:
        text = f"error: uvnb could not prepare the kernel: {type(exc).__name__}: {exc}\n" \
               f"hint: {UNEXPECTED_HINT}"
    where = f"for {nb_path}" if nb_path else "(no notebook found)"
    text = f"This uvnb kernel {where} could not start in its own environment.\n{text}"
    env = {**passthrough_env(os.environ if environ is None else environ),
           "UVNB_NOTEBOOK": nb_path or "", "UVNB_SERVER_PYTHON": sys.executable,
           "UVNB_KERNEL": "1", "UVNB_FALLBACK_MESSAGE": text}
    env.pop("UVNB_STARTUP_MESSAGE", None)
    argv = [sys.executable, "-m", "uvnb.kernel", "--fallback", "-f", CONNECTION_FILE]
    return Launch(argv, env, nb_path, error=text)


def quick_launch(environ: Mapping[str, str], cwd: str) -> Launch | None:
    """The launch without a subprocess, when nothing at all needs doing; else None.

    True only for a notebook whose *file* is byte-identical to its last verified sync (so it
    has its own spec, which wins over any project) and whose env and kernel layer are
    complete: a few file reads and one hash, cheap enough for the server's event loop, and
    it saves the ~60 ms of starting ``python -m uvnb.launch``. Settings must be those of
    this process: the caller checks that.
    """
    from uvnb import kernel_layer, sync
    from uvnb.python import Interpreter

    nb_path = find_notebook(environ, cwd)
    if nb_path is None:
        return None
    env = sync.quick_check(nb_path)
    if env is None:
        return None
    try:
        version = tuple(int(p) for p in env.python_version.split("."))
    except ValueError:
        return None
    interp = Interpreter(env.interpreter, version)
    if kernel_layer.layer_ready(interp) is None:
        return None
    launch, _, _ = kernel_launch(env.path, env.python, env.site_packages, interp, nb_path,
                                 environ)
    return launch


def resolve(environ: Mapping[str, str], cwd: str | None = None,
            on_line: Callable[[str], None] | None = None, *, project: str | None = None,
            server_root: str | None = None) -> Launch:
    """Find the notebook, pick its env (see :func:`uvnb.project_launch.choose_project`) and
    prepare it; any failure gives the fallback launch."""
    nb_path = None
    try:
        from uvnb.project_launch import choose_project, prepare_project

        nb_path = find_notebook(environ, cwd)
        chosen = choose_project(nb_path, cwd, project, server_root)
        if chosen is not None:
            return prepare_project(chosen, nb_path, environ=environ, on_line=on_line)
        return prepare(nb_path, environ=environ, on_line=on_line)
    except Exception as exc:
        return fallback(exc, nb_path, environ)


def progress_to_stderr(line: str) -> None:
    """Where a launch step's progress goes: the provisioner copies stderr into the server
    log; under a frontend without a provisioner it is the kernel's own stderr."""
    if line.strip():
        print(line, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """``python -m uvnb.launch [--cwd DIR] [--project DIR] [--root DIR]``: the launch, as JSON.

    ``--project`` is a project kernel's own project; ``--root`` the server's root folder,
    where the search for a project above the notebook stops.

    uv's progress lines go to stderr (the provisioner copies them into the server log);
    stdout carries exactly one JSON object.
    """
    args = list(sys.argv[1:] if argv is None else argv)

    def option(name: str) -> str | None:
        return args[args.index(name) + 1] if name in args[:-1] else None

    cwd = option("--cwd") or os.getcwd()
    with contextlib.suppress(OSError):
        os.chdir(cwd)  # uv sees the same folder as the kernel will (sys.path[0] stays put)
    launch = resolve(os.environ, cwd, on_line=progress_to_stderr, project=option("--project"),
                     server_root=option("--root"))
    sys.stdout.write(json.dumps(asdict(launch)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
