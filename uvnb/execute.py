"""``uvnb exec NOTEBOOK``: run every cell headlessly, in the notebook's own locked env.

The kernel is started through the very same path as in JupyterLab (the ``uvnb`` kernelspec
and :class:`uvnb.provisioner.UvnbProvisioner`), with ``JPY_SESSION_NAME`` set to the notebook
the way jupyter_server sets it (nbclient and papermill do not), and with the notebook's folder
as the working directory. What differs from Lab is only who talks to the kernel: nbclient.

Decisions:

* The kernelspec is ours, always: a private kernelspec folder (in the state dir) naming this
  uvnb's interpreter comes first in the search path, so ``uvnb exec`` works in a fresh venv
  whether or not any kernelspec was installed, and never picks up another uvnb.
* The env is synced in this process first, so build progress reaches the terminal and a
  broken spec fails as a normal CLI error (``error:`` / ``hint:``, exit 1) before any kernel
  starts.
* ``--inplace``/``--output`` write outputs even when a cell fails (like papermill): the error
  output is what one wants to look at. Only outputs, execution counts and
  ``metadata.language_info`` change; the write is atomic.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from uvnb import notebook as nb_io
from uvnb.errors import NotebookError


def private_kernelspec_dir() -> str:
    """A kernelspec folder holding ``uvnb`` for *this* interpreter; rewritten when stale."""
    from uvnb import dirs
    from uvnb.kernelspec import NAME, kernel_json

    root = os.path.join(dirs.state_dir(), "jupyter", "kernels")
    folder = os.path.join(root, NAME)
    wanted = json.dumps(kernel_json(os.path.abspath(sys.executable)), indent=1) + "\n"
    path = os.path.join(folder, "kernel.json")
    try:
        with open(path, encoding="utf-8") as handle:
            current = handle.read()
    except OSError:
        current = None
    if current != wanted:
        os.makedirs(folder, exist_ok=True)
        nb_io.atomic_write_text(path, wanted)
    return root


def kernel_manager(**kwargs: Any):
    """A KernelManager for the ``uvnb`` kernelspec, found even when none is installed."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    ksm = KernelSpecManager()
    ksm.kernel_dirs = [private_kernelspec_dir(), *ksm.kernel_dirs]
    return KernelManager(kernel_name="uvnb", kernel_spec_manager=ksm, **kwargs)


def _presync(nb: nb_io.Notebook, quiet: bool) -> None:
    if nb.spec_source is None:
        return
    from uvnb import sync
    from uvnb.progress import progress

    with progress(f"syncing the env of {os.path.basename(nb.path)}"):
        result = sync.sync(nb)
    if result.built and not quiet:
        print(f"Built the env for {nb.path} in {result.seconds:.1f} s", file=sys.stderr)


def _first_line(cell: dict[str, Any]) -> str:
    text = nb_io.cell_text(cell).strip()
    return text.splitlines()[0][:80] if text else "(empty)"


def _merge_outputs(target: dict[str, Any], executed: dict[str, Any]) -> None:
    """Copy what execution produced into the original JSON, leaving the rest untouched."""
    for mine, ran in zip(target.get("cells", []), executed.get("cells", []), strict=False):
        if mine.get("cell_type") == "code":
            mine["outputs"] = ran.get("outputs", [])
            mine["execution_count"] = ran.get("execution_count")
    info = executed.get("metadata", {}).get("language_info")
    if info:
        target.setdefault("metadata", {})["language_info"] = info


def execute(path: str, inplace: bool = False, output: str | None = None,
            timeout: float = 600.0, quiet: bool = False) -> int:
    """Execute all cells; 0 when every cell ran, 1 (with the failing cell named) otherwise."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    path = os.path.abspath(path)
    nb = nb_io.load(path)
    if inplace:
        nb_io.ensure_writable(path)
    _presync(nb, quiet)
    node = nbformat.reads(json.dumps(nb.data), as_version=4)
    failed: dict[str, Any] = {}

    def on_error(cell: Any, cell_index: int, execute_reply: Any) -> None:
        failed.update(index=cell_index, cell=cell, reply=execute_reply.get("content", {}))

    client = NotebookClient(node, timeout=timeout, km=kernel_manager(),
                            resources={"metadata": {"path": os.path.dirname(path)}},
                            record_timing=False, on_cell_error=on_error)
    env = {**os.environ, "JPY_SESSION_NAME": path}
    started = time.monotonic()
    error: str | None = None
    try:
        client.execute(env=env, cwd=os.path.dirname(path))
    except CellExecutionError as exc:
        reply = failed.get("reply", {})
        ename, evalue = reply.get("ename", exc.ename), reply.get("evalue", exc.evalue)
        where = (f"cell {failed['index']} ({_first_line(failed['cell'])!r})" if failed
                 else "a cell")
        error = f"error: {path}: {where} failed: {ename}: {evalue}"
        from uvnb.kernel import FALLBACK_ENAME

        if ename == FALLBACK_ENAME:
            error = "\n".join(reply.get("traceback", [])) or error
    except (CellTimeoutError, DeadKernelError, TimeoutError, RuntimeError) as exc:
        error = f"error: {path}: execution stopped: {type(exc).__name__}: {exc}"
    seconds = time.monotonic() - started
    cells = sum(1 for c in node.cells if c.cell_type == "code")
    if inplace or output:
        _merge_outputs(nb.data, json.loads(nbformat.writes(node)))  # on-disk line lists
        if output:
            nb.path, nb.raw = os.path.abspath(output), b""
        try:
            nb_io.save(nb)
        except OSError as exc:
            raise NotebookError(f"cannot write {nb.path}: {exc}.", "check the folder.") \
                from None
    if error is not None:
        print(error, file=sys.stderr)
        return 1
    if not quiet:
        print(f"executed {cells} cells of {os.path.basename(path)} in {seconds:.1f} s"
              + (f"; wrote {nb.path}" if inplace or output else ""))
    return 0


__all__ = ["execute", "kernel_manager", "private_kernelspec_dir"]
