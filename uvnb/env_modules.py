"""Which import names an installed package provides, to say which imports need a restart.

After ``%add`` or ``%remove`` the kernel switches to a new env, but modules it already
imported keep their old code. Comparing the old and new locks finds the packages whose
version changed or that left; their ``RECORD`` in the *old* env says which top-level modules
they installed, so the kernel can name exactly the imports that are now stale.
"""

from __future__ import annotations

import os


def top_level_modules(site_packages: str, name: str, version: str) -> list[str]:
    """Import names a distribution installed in an env, read from its ``RECORD``."""
    wanted = f"{name.replace('-', '_').lower()}-{version}.dist-info"
    try:
        entries = os.listdir(site_packages)
    except OSError:
        return []
    info = next((e for e in entries if e.lower() == wanted), None)
    if info is None:
        return []
    modules: set[str] = set()
    try:
        with open(os.path.join(site_packages, info, "RECORD"), encoding="utf-8") as handle:
            for line in handle:
                first = line.split(",", 1)[0].split("/", 1)[0]
                if first.endswith((".dist-info", ".data", ".pth")) or first.startswith(".."):
                    continue
                if first and first != "__pycache__":
                    modules.add(first[:-3] if first.endswith(".py") else first)
    except OSError:
        return []
    return sorted(modules)


def changed_modules(old_env: str | None, old_lock: str | None,
                     new_lock: str | None) -> dict[str, list[str]]:
    """For packages whose version changed or that left: which modules they provided."""
    from uvnb.lock import locked_versions

    if not old_env:
        return {}
    before, after = locked_versions(old_lock), locked_versions(new_lock)
    site = site_packages_of(old_env)
    changed = {}
    for name, version in before.items():
        if after.get(name) != version:
            modules = top_level_modules(site, name, version) if site else []
            if modules:
                changed[name] = modules
    return changed


def site_packages_of(env: str) -> str | None:
    lib = os.path.join(env, "lib")
    try:
        versions = [d for d in os.listdir(lib) if d.startswith("python")]
    except OSError:
        return None
    return os.path.join(lib, versions[0], "site-packages") if versions else None
