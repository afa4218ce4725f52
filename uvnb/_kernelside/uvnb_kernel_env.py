"""Moving a running kernel from one env to another, for the uvnb kernel magics.

Envs are content-addressed and shared between notebooks, so ``%add`` never installs into
the env a kernel runs in; it builds the env of the new lock and the kernel swaps
site-packages on ``sys.path``. Stdlib only, Python 3.8+: this runs in the notebook's env.
"""

from __future__ import annotations

import importlib
import os
import site
import sys


def site_packages_of(env: str) -> str:
    if not env:
        return ""
    minor = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    return os.path.join(env, "lib", minor, "site-packages")


def layer_folder(site_packages: str) -> str:
    """The kernel layer the env is joined to: the first line of its ``.pth`` (``%deps``)."""
    try:
        with open(os.path.join(site_packages, "zz_uvnb_kernel_layer.pth")) as handle:
            return handle.readline().strip()
    except OSError:
        return ""


def replace_site_packages(old: str, new: str) -> None:
    """Put ``new`` where ``old`` was on ``sys.path``, with what its ``.pth`` files add.

    Keeping the position keeps the env ahead of the kernel layer, as at start-up.
    """
    index = sys.path.index(old) if old in sys.path else 0
    rest = [p for p in sys.path if p != old]
    sys.path[:] = rest
    site.addsitedir(new)  # appends it and what its .pth files name
    added = [p for p in sys.path[len(rest):] if p not in rest]
    sys.path[:] = rest[:index] + added + rest[index:]
    importlib.invalidate_caches()


def swap_path_var(old_env: str, env: str) -> None:
    """Shell commands (``!cmd``) should find the new env's scripts, not the old one's."""
    if not old_env:
        return
    old_bin, new_bin = os.path.join(old_env, "bin"), os.path.join(env, "bin")
    parts = os.environ.get("PATH", "").split(os.pathsep)
    os.environ["PATH"] = os.pathsep.join(new_bin if p == old_bin else p for p in parts)
    if os.environ.get("VIRTUAL_ENV") == old_env:
        os.environ["VIRTUAL_ENV"] = env


def stale_packages(changed: dict, env: str) -> list:
    """Packages that changed or left while one of their modules is loaded from outside ``env``
    (from the env before this change, or one before it): these need a restart."""
    stale = []
    for name, modules in sorted(changed.items()):
        for module_name in modules:
            module = sys.modules.get(module_name)
            where = getattr(module, "__file__", None) or ""
            if module is not None and not where.startswith(env + os.sep):
                stale.append(name)
                break
    return stale
