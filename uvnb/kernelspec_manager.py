"""A kernelspec manager that offers one kernel per uv project under the Jupyter server's root.

Why: with it, JupyterLab's kernel picker lists "Python (<project>)" for every uv project the
server can see, without a ``uvnb kernel install --project`` per project. The wheel ships
``etc/jupyter/jupyter_server_config.d/uvnb.json``, which sets
``ServerApp.kernel_spec_manager_class`` to :class:`UvnbKernelSpecManager`.

The specs are those of :mod:`uvnb.project_kernel` (same provisioner, ``--project DIR`` in the
argv, ``metadata.uvnb.project``), made in memory. The root is the server's ``root_dir``:
jupyter_server creates its kernelspec manager with ``parent=serverapp``. JupyterLab asks for
the kernelspecs often, so the project listing is reused for ``scan_interval`` seconds, and
:func:`uvnb.project_list.list_projects` keeps its own mtime-validated cache below that.
Installed kernelspecs win over a generated one of the same name.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import time
from typing import Any

from jupyter_client.kernelspec import KernelSpec, KernelSpecManager, NoSuchKernel
from traitlets import Bool, Float, Int

from uvnb.project import Project


class UvnbKernelSpecManager(KernelSpecManager):
    """The installed kernelspecs plus one generated spec per uv project under the root."""

    project_kernels = Bool(True, config=True,
                           help="Offer one kernel per uv project found under the server root.")
    scan_depth = Int(4, config=True,
                     help="How many folder levels below the server root to look for projects.")
    scan_interval = Float(10.0, config=True,
                          help="Seconds a project listing is reused before the tree is "
                               "checked again (the check itself is cached by mtimes).")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._lock = threading.Lock()
        self._listed_at = -1e9
        self._specs: dict[str, tuple[Project, dict[str, Any]]] = {}
        self._pinned: dict[str, tuple[Project, dict[str, Any]]] | None = None

    # --- what the projects are --------------------------------------------------------
    def root(self) -> str:
        """The server's ``root_dir`` when a server is our parent, else the current folder."""
        root = getattr(self.parent, "root_dir", None)
        return os.path.abspath(os.path.expanduser(root if isinstance(root, str) and root
                                                  else os.getcwd()))

    def project_specs(self) -> dict[str, tuple[Project, dict[str, Any]]]:
        """``{kernel name: (project, kernel.json content)}``, rescanned at most every
        ``scan_interval`` seconds."""
        if not self.project_kernels:
            return {}
        if self._pinned is not None:
            return self._pinned
        with self._lock:
            if time.monotonic() - self._listed_at < self.scan_interval:
                return self._specs
            from uvnb.project_list import list_projects

            try:
                projects = list_projects(self.root(), self.scan_depth)
            except OSError as exc:  # an unreadable root: keep the picker working
                self.log.warning("uvnb: cannot list projects under %s: %s", self.root(), exc)
                projects = []
            self._specs = _specs_for(projects, self.root())
            self._listed_at = time.monotonic()
            return self._specs

    # --- the KernelSpecManager API ------------------------------------------------------
    def find_kernel_specs(self) -> dict[str, str]:
        """Installed specs, then a resource folder for each project spec not shadowed."""
        found = super().find_kernel_specs()
        projects = self.project_specs()
        if projects:
            folder = _resource_dir()
            for name in projects:
                found.setdefault(name, folder)
        return found

    def get_all_specs(self) -> dict[str, Any]:
        """All specs, from one project listing (the base class asks spec by spec)."""
        self._pinned = self.project_specs()
        try:
            return super().get_all_specs()
        finally:
            self._pinned = None

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        """An installed spec by that name, else the generated spec of a project."""
        try:
            return super().get_kernel_spec(kernel_name)
        except NoSuchKernel:
            entry = self.project_specs().get(kernel_name.lower())
            if entry is None:
                raise
        return self.kernel_spec_class(resource_dir=_resource_dir(), **entry[1])


def _specs_for(projects: list[Project], root: str) -> dict[str, tuple[Project, dict[str, Any]]]:
    """Names and kernel.json contents; two projects with one name get distinct ones."""
    from uvnb.project_kernel import project_kernel_json, spec_name

    counts: dict[str, int] = {}
    for project in projects:
        counts[spec_name(project)] = counts.get(spec_name(project), 0) + 1
    specs = {}
    for project in projects:
        name, display = spec_name(project), f"Python ({project.name})"
        if counts[name] > 1:
            rel = os.path.relpath(project.root, root)
            name += "-" + hashlib.sha256(project.root.encode()).hexdigest()[:6]
            display = f"Python ({project.name}: {rel})"
        specs[name] = (project, project_kernel_json(project, os.path.abspath(sys.executable),
                                                    display))
    return specs


def _resource_dir() -> str:
    """An empty folder standing in for a spec folder (jupyter_server looks for logos there)."""
    from uvnb import dirs

    return dirs.ensure(os.path.join(dirs.state_dir(), "project-kernelspec"))
