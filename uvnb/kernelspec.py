"""The "Python (uvnb)" kernelspec: installing it, removing it, listing what is installed.

A kernelspec name ends up in every notebook's metadata, so it decides portability:

* ``uvnb`` (the default) is ours. A notebook saved with it opens on a machine without uvnb
  with "kernel not found" and the user picks another kernel.
* ``uvnb kernel install --name python3`` makes the *default* kernel env-aware instead:
  notebooks keep ``python3`` in their metadata and open anywhere; with uvnb present, they
  start in their locked env. This is the recommended setting for shared repositories.

The argv is the launcher (``python -m uvnb.kernel -f {connection_file}``) for frontends that
ignore provisioners; ``metadata.kernel_provisioner`` makes Jupyter servers use
:class:`uvnb.provisioner.UvnbProvisioner`. An installed spec names the absolute
``sys.executable`` that installed it; the copy shipped in the wheel's shared data
(``share/jupyter/kernels/uvnb``) says plain ``python``, which jupyter_client replaces by
``sys.executable`` of the server when the kernel is launched — correct whenever the server
runs from the env uvnb is installed in, which is where that copy lives.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from argparse import Namespace
from typing import Any

from uvnb.errors import UvnbError

NAME = "uvnb"
DISPLAY_NAME = "Python (uvnb)"
PROVISIONER = "uvnb-provisioner"


def kernel_json(python: str | None = None, display_name: str = DISPLAY_NAME,
                provisioner_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """The kernel.json content; ``python=None`` gives the portable ``"python"`` argv."""
    return {
        "argv": [python or "python", "-m", "uvnb.kernel", "-f", "{connection_file}"],
        "display_name": display_name,
        "language": "python",
        "interrupt_mode": "signal",
        "metadata": {
            "debugger": True,
            "kernel_provisioner": {"provisioner_name": PROVISIONER,
                                   "config": dict(provisioner_config or {})},
        },
    }


def write_spec(folder: str, python: str | None = None, display_name: str = DISPLAY_NAME) -> str:
    """Write a kernelspec folder (kernel.json only) and return it."""
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "kernel.json"), "w", encoding="utf-8") as handle:
        json.dump(kernel_json(python, display_name), handle, indent=1)
        handle.write("\n")
    return folder


def install(name: str = NAME, display_name: str | None = None, *, user: bool = False,
            prefix: str | None = None) -> str:
    """Install the spec through jupyter_client (so it lands where Jupyter looks)."""
    from jupyter_client.kernelspec import KernelSpecManager

    if not user and prefix is None:
        prefix = sys.prefix
    if display_name is None:
        display_name = {NAME: DISPLAY_NAME, "python3": "Python 3 (uvnb)"}.get(
            name, f"{DISPLAY_NAME} [{name}]")
    # sys.executable as is, not its realpath: a venv's python resolves to the base
    # interpreter, which does not have uvnb.
    with tempfile.TemporaryDirectory() as tmp:
        source = write_spec(os.path.join(tmp, name), os.path.abspath(sys.executable),
                            display_name)
        try:
            return KernelSpecManager().install_kernel_spec(
                source, kernel_name=name, user=user, prefix=prefix)
        except OSError as exc:
            raise UvnbError(f"cannot install the kernelspec {name!r}: {exc}.",
                            "use --user, or --sys-prefix inside a virtual environment.") \
                from None


def uninstall(name: str = NAME) -> str:
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        path = KernelSpecManager().get_kernel_spec(name).resource_dir
    except NoSuchKernel:
        raise UvnbError(f"no kernelspec named {name!r} is installed.",
                        "see `uvnb kernel list`.") from None
    shutil.rmtree(path)
    return path


def list_specs() -> list[tuple[str, str, bool]]:
    """``(name, folder, is_uvnb)`` for every kernelspec Jupyter can see (see :func:`spec_project`
    for a project kernel's project)."""
    from jupyter_client.kernelspec import KernelSpecManager

    rows = []
    for name, folder in sorted(KernelSpecManager().find_kernel_specs().items()):
        try:
            with open(os.path.join(folder, "kernel.json"), encoding="utf-8") as handle:
                meta = json.load(handle).get("metadata", {})
        except (OSError, ValueError):
            meta = {}
        ours = meta.get("kernel_provisioner", {}).get("provisioner_name") == PROVISIONER
        rows.append((name, folder, ours))
    return rows


def spec_project(folder: str) -> str | None:
    """The uv project a kernelspec folder is bound to (``metadata.uvnb.project``), if any."""
    try:
        with open(os.path.join(folder, "kernel.json"), encoding="utf-8") as handle:
            meta = json.load(handle).get("metadata", {})
    except (OSError, ValueError, AttributeError):
        return None
    project = (meta.get("uvnb") or {}).get("project") if isinstance(meta, dict) else None
    return project if isinstance(project, str) else None


def install_project_kernel(args: Namespace) -> int:
    """``uvnb kernel install --project DIR``: a kernel bound to a uv project."""
    from uvnb.project_kernel import install_project_kernelspec

    return int(install_project_kernelspec(args) or 0)


def cli_kernel(args: Namespace) -> int:
    """``uvnb kernel install|uninstall|list``."""
    quiet = getattr(args, "quiet", False)
    if args.action == "list":
        for name, folder, ours in list_specs():
            project = spec_project(folder) if ours else None
            bound = f"  (project {project})" if project else ""
            print(f"{'*' if ours else ' '} {name:<24} {folder}{bound}")
        return 0
    name = args.name or NAME
    if args.action == "uninstall":
        path = uninstall(name)
        if not quiet:
            print(f"Removed kernelspec {name!r} from {path}")
        return 0
    if getattr(args, "project", None):
        return install_project_kernel(args)
    path = install(name, args.display_name, user=args.user, prefix=args.prefix)
    if not quiet:
        print(f"Installed kernelspec {name!r} in {path}")
        if name == "python3":
            print("The default Python kernel now starts every notebook in its own env.")
    return 0


def shared_data_spec() -> dict[str, Any]:
    """What ``share/jupyter/kernels/uvnb/kernel.json`` in the wheel holds (pinned by a test)."""
    return kernel_json(None)
