"""Kernel-per-project at kernel start: which project (if any) a kernel runs in, and its launch.

A notebook with no spec of its own inside a uv project runs in that project's env, synced by
``uv sync --locked`` from the project's ``uv.lock`` (workspaces, ``UV_PROJECT_ENVIRONMENT``
and default dependency groups honoured, because uv does it). ``--locked``: a kernel start
must never rewrite a committed lock; a stale lock is an error that the fallback kernel
explains, with the ``uv lock`` that fixes it. ipykernel comes from the shared kernel layer, so
a project need not depend on it.

The kernel gets ``UVNB_PROJECT=<root>``: its ``%add``/``%remove``/``%deps`` then work on the
project (``uv add``/``uv remove``), not on the notebook.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from uvnb.launch import Launch
    from uvnb.project import Project


def _has_own_spec(nb_path: str) -> bool:
    from uvnb import notebook

    return notebook.load(nb_path).spec_source is not None


def choose_project(nb_path: str | None, cwd: str | None, explicit: str | None,
                   server_root: str | None) -> Project | None:
    """The project a kernel runs in, or None for the notebook's own (or the default) env.

    1. ``explicit`` (a project kernelspec's ``metadata.uvnb.project`` / ``--project``) wins:
       the user picked that kernel.
    2. A notebook with its own PEP 723 spec keeps its own env, even inside a project.
    3. The nearest project above the notebook (or the kernel's cwd when no notebook is
       known), not looking above ``server_root``: a server must not pick up a project
       outside the folder it serves.
    """
    from uvnb import project

    if explicit:
        return project.load(os.path.expanduser(explicit))
    if nb_path and _has_own_spec(nb_path):
        return None
    start = nb_path or os.path.join(os.path.abspath(cwd or os.getcwd()), "_")
    return project.find_project(start, stop_at=server_root)


def _describe(proj: Project, env_path: str, layer_built: bool, layer_seconds: float,
              python_version: str) -> str:
    text = (f"uvnb: this kernel runs in the environment of project {proj.name} "
            f"({env_path}); %add and %remove change {proj.pyproject} and its uv.lock")
    if layer_built:
        text += (f"; installed ipykernel for Python {python_version} in {layer_seconds:.1f} s "
                 "(once per Python)")
    return text + "."


def prepare_project(proj: Project, nb_path: str | None, *,
                    environ: Mapping[str, str] | None = None,
                    on_line: Callable[[str], None] | None = None) -> Launch:
    """``uv sync --locked`` the project and say how to start ipykernel in its env.

    Raises :class:`~uvnb.errors.UvnbError` (stale lock, failed sync); the caller turns it
    into the fallback kernel. ``on_line`` streams the kernel layer's first install.
    """
    from uvnb import launch, project, uv

    env = project.sync_project(proj, offline=uv.offline_requested())
    result, layer_built, layer_seconds = launch.kernel_launch(
        env.path, env.python, env.site_packages, env.interpreter, nb_path, environ,
        {"UVNB_PROJECT": proj.root}, on_line=on_line)
    message = _describe(proj, env.path, layer_built, layer_seconds,
                        env.interpreter.version_text)
    result.env["UVNB_STARTUP_MESSAGE"] = result.message = message
    return result
