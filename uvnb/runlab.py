"""``uvnb run NOTEBOOK``: JupyterLab on a notebook, with the uvnb kernel.

JupyterLab comes from the *current* environment (the one uvnb is installed in): its server
must be able to load our provisioner, which a JupyterLab elsewhere cannot. The kernelspec is
made visible to that server through ``JUPYTER_PATH`` (our private kernelspec folder, see
:func:`uvnb.execute.private_kernelspec_dir`), so nothing has to be installed first.

The notebook's ``metadata.kernelspec`` is set to ``uvnb`` only when it has none: a notebook
that names a kernel (``python3`` for portability, a project kernel) keeps it, because that
name travels with the file to other machines. Lab then opens it with that kernel; use
``uvnb kernel install --name python3`` to make the default kernel env-aware too.
"""

from __future__ import annotations

import os
import sys

from uvnb import notebook as nb_io
from uvnb.errors import UvnbError


def _jupyter_lab() -> list[str]:
    """``python -m jupyterlab`` of this environment, or a clear error naming the fix."""
    import importlib.util

    if importlib.util.find_spec("jupyterlab") is None:
        raise UvnbError(
            f"JupyterLab is not installed in uvnb's environment ({sys.prefix}).",
            f"install it next to uvnb: `{sys.executable} -m pip install jupyterlab` "
            "(or `uv tool install uvnb --with jupyterlab`).",
        )
    return [sys.executable, "-m", "jupyterlab"]


def ensure_kernelspec(nb: nb_io.Notebook) -> bool:
    """Give a notebook with no kernelspec ours; return whether the notebook changed."""
    from uvnb.kernelspec import DISPLAY_NAME, NAME

    if nb.metadata.get("kernelspec"):
        return False
    nb.metadata["kernelspec"] = {"name": NAME, "display_name": DISPLAY_NAME,
                                 "language": "python"}
    nb.changed = True
    return True


def run_lab(path: str, jupyter_args: list[str] | None = None) -> int:
    """Exec ``jupyter lab PATH`` (does not return on success)."""
    from uvnb.execute import private_kernelspec_dir

    command = _jupyter_lab()
    path = os.path.abspath(path)
    nb = nb_io.load(path)
    if ensure_kernelspec(nb):
        nb_io.ensure_writable(path)
        nb_io.save(nb)
    spec_root = os.path.dirname(private_kernelspec_dir())  # JUPYTER_PATH entries hold kernels/
    env = dict(os.environ)
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (spec_root, env.get("JUPYTER_PATH")) if p)
    argv = [*command, path, *(jupyter_args or [])]
    sys.stdout.flush()
    os.execve(argv[0], argv, env)
    return 0  # pragma: no cover
