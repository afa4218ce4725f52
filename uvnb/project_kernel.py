"""``uvnb kernel install --project DIR``: a kernelspec bound to one uv project.

It follows :mod:`uvnb.kernelspec` (same provisioner, same launcher module, installed through
jupyter_client) and adds the project in two places, because two kinds of frontends read it:

* ``argv`` gets ``--project DIR``: frontends without provisioners run the argv launcher
  (``python -m uvnb.kernel``), which must sync the project instead of finding a notebook;
* ``metadata.uvnb.project`` holds DIR: the provisioner reads it from its ``kernel_spec``
  (``provisioner config`` would have to be a declared trait, and a project is not a setting).
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from argparse import Namespace
from typing import Any

from uvnb import kernelspec
from uvnb.errors import UvnbError
from uvnb.project import Project, load


def spec_name(project: Project) -> str:
    """``uvnb-<project>``: kernelspec names allow only ``[a-z0-9._-]``."""
    return "uvnb-" + re.sub(r"[^a-z0-9]+", "-", project.name.lower()).strip("-")


def project_kernel_json(project: Project, python: str, display_name: str) -> dict[str, Any]:
    spec = kernelspec.kernel_json(python, display_name)
    argv = spec["argv"]
    argv[argv.index("-f"):argv.index("-f")] = ["--project", project.root]
    spec["metadata"]["uvnb"] = {"project": project.root}
    return spec


def install_project_kernelspec(args: Namespace) -> int:
    """Install the kernelspec "Python (<project name>)" for the project in ``args.project``."""
    import json

    from jupyter_client.kernelspec import KernelSpecManager

    project = load(args.project)
    name = args.name or spec_name(project)
    display = args.display_name or f"Python ({project.name})"
    prefix = args.prefix
    if not args.user and prefix is None:
        prefix = sys.prefix
    with tempfile.TemporaryDirectory() as tmp:
        folder = os.path.join(tmp, name)
        os.makedirs(folder)
        # sys.executable as is (not its realpath): a venv's python resolves to the base
        # interpreter, which does not have uvnb.
        content = project_kernel_json(project, os.path.abspath(sys.executable), display)
        with open(os.path.join(folder, "kernel.json"), "w", encoding="utf-8") as handle:
            json.dump(content, handle, indent=1)
            handle.write("\n")
        try:
            path = KernelSpecManager().install_kernel_spec(
                folder, kernel_name=name, user=args.user, prefix=prefix)
        except OSError as exc:
            raise UvnbError(f"cannot install the kernelspec {name!r}: {exc}.",
                            "use --user, or --sys-prefix inside a virtual environment.") \
                from None
    if not getattr(args, "quiet", False):
        print(f"Installed kernelspec {name!r} ({display}) for project {project.root} in {path}")
    return 0
