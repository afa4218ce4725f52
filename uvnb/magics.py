"""The uvnb magics: how they get into a kernel, and what they do in a kernel uvnb did not start.

Two cases, one set of names (``%add %remove %lock %sync %deps %python %export %uvnb``):

- **A uvnb kernel** (``UVNB_KERNEL=1``): the launcher starts ipykernel with
  :func:`kernel_launch_extras`, which auto-loads the stdlib-only module
  ``uvnb/_kernelside/uvnb_kernel_magics.py`` as an IPython extension. uvnb is not installed in
  the notebook's env, so that module calls back into the server's uvnb
  (:mod:`uvnb.kernel_ops`) and records changes in the notebook (:mod:`uvnb.frontend`).
- **A plain kernel** (any Python with uvnb installed): ``%load_ext uvnb`` registers
  :func:`register`'s magics, which install into the running interpreter with
  ``uv pip install --python sys.executable``. Nothing is locked or recorded there, and the
  output says how to make the notebook reproducible.
"""

from __future__ import annotations

import os
import shlex
import sys
from typing import Any

KERNELSIDE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_kernelside")
KERNELSIDE_MODULE = "uvnb_kernel_magics"

REPRODUCIBLE_HINT = (
    "hint: this kernel is not a uvnb kernel, so the package went into {python} and the "
    "notebook does not record it. To make the notebook reproducible, run "
    "`uvnb add NOTEBOOK.ipynb {reqs}` (or `uvnb init NOTEBOOK.ipynb` first) and pick the "
    "\"Python (uvnb)\" kernel."
)


def kernel_launch_extras() -> tuple[list[str], dict[str, str], list[str]]:
    """What the launcher adds so that every uvnb kernel has the magics.

    Returns ``(argv, env, path_folders)``: extra arguments for ``python -m
    ipykernel_launcher`` (``--IPKernelApp.extra_extensions`` = IPython's ``--ext``, which,
    unlike ``extensions``, leaves a user's own configured extensions alone), extra
    environment variables (none), and folders the launcher joins to the kernel's
    ``sys.path`` through the layer ``.pth`` so the extension module is importable.
    """
    return ([f"--IPKernelApp.extra_extensions={KERNELSIDE_MODULE}"], {}, [KERNELSIDE_DIR])


def register(ipython: Any) -> None:
    """``%load_ext uvnb``: the full magics in a uvnb kernel, the plain ones elsewhere."""
    if os.environ.get("UVNB_KERNEL") == "1":
        if KERNELSIDE_DIR not in sys.path:
            sys.path.append(KERNELSIDE_DIR)
        import importlib

        module = importlib.import_module(KERNELSIDE_MODULE)
        if not ipython.find_line_magic("add"):
            module.load_ipython_extension(ipython)
        return
    for name, func in PLAIN_MAGICS.items():
        ipython.register_magic_function(_guarded(func), "line", name)


def _guarded(func: Any) -> Any:
    """A user mistake shows its one paragraph in the cell, never a traceback."""

    def magic(line: str = "") -> None:
        from uvnb.errors import UvnbError

        try:
            func(line)
        except UvnbError as exc:
            print(exc.render(), file=sys.stderr)
        except ValueError as exc:  # shlex: unbalanced quotes
            print(f"error: cannot read the arguments: {exc}.", file=sys.stderr)

    magic.__doc__ = func.__doc__
    return magic


def _pip(action: str, line: str) -> None:
    import importlib

    from uvnb import uv
    from uvnb.errors import UvnbError

    words = shlex.split(line)
    names = [w for w in words if not w.startswith("-")]
    if not names:
        raise UvnbError(f"%{action} needs at least one package, e.g. `%{action} attrs`.",
                        "`%uvnb help` shows every magic.")
    # ipykernel forces colours (FORCE_COLOR), which would put escapes into uv's output.
    verb = "install" if action == "add" else "uninstall"
    args = ["pip", verb, "--color", "never", "--python", sys.executable, *words]
    proc = uv.run(args, what=f"{action} {' '.join(names)} in {sys.executable}")
    importlib.invalidate_caches()
    lines = [ln.strip() for ln in (proc.stderr or "").splitlines()
             if ln.strip()[:2] in {"+ ", "- ", "~ "}]
    print("\n".join(lines) or "No change: already satisfied.")
    print(REPRODUCIBLE_HINT.format(python=sys.executable, reqs=" ".join(map(shlex.quote,
                                                                           names))))


def _needs_uvnb_kernel(name: str) -> Any:
    def magic(line: str) -> None:
        from uvnb.errors import UvnbError

        raise UvnbError(f"%{name} works on a notebook's locked environment, and this kernel "
                        "has none (it is not a uvnb kernel).",
                        "pick the \"Python (uvnb)\" kernel; `uvnb init NOTEBOOK.ipynb` gives "
                        "a notebook its own environment.")

    return magic


def _plain_help(line: str) -> None:
    print("uvnb magics in a plain kernel: %add REQ... and %remove NAME... install into / "
          f"uninstall from {sys.executable} with uv. %lock, %sync, %deps and %python need "
          "the \"Python (uvnb)\" kernel, where changes are locked and recorded in the notebook.")


PLAIN_MAGICS = {
    "add": lambda line: _pip("add", line),
    "remove": lambda line: _pip("remove", line),
    "lock": _needs_uvnb_kernel("lock"),
    "sync": _needs_uvnb_kernel("sync"),
    "deps": _needs_uvnb_kernel("deps"),
    "python": _needs_uvnb_kernel("python"),
    "export": _needs_uvnb_kernel("export"),
    "uvnb": _plain_help,
}
