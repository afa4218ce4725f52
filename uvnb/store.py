"""Looking after the env store as a whole: listing envs and collecting unused ones.

Envs are shared between notebooks whose locks are identical, so an env may be removed only
when no *existing* notebook points to it. A pointer whose notebook was deleted or moved no
longer counts, and is dropped by ``gc`` along with the envs it kept alive.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil

from uvnb import dirs, envs


def _size(path: str) -> int:
    """Bytes on disk, counting each hard-linked file once (uv links from its cache)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for root, _folders, files in os.walk(path):
        for name in files:
            try:
                info = os.lstat(os.path.join(root, name))
            except OSError:
                continue
            ident = (info.st_dev, info.st_ino)
            if ident in seen:
                continue
            seen.add(ident)
            total += info.st_blocks * 512
    return total


def all_envs() -> list[dict]:
    """Every complete env in the store with its marker data."""
    store = dirs.env_dir()
    found = []
    for key in sorted(os.listdir(store)) if os.path.isdir(store) else []:
        if key.startswith("."):
            continue
        try:
            with open(os.path.join(store, key, envs.MARKER), encoding="utf-8") as handle:
                info = json.load(handle)
        except (OSError, ValueError):
            info = {"python_version": "?", "incomplete": True}
        info["key"], info["path"] = key, os.path.join(store, key)
        found.append(info)
    return found


def users() -> dict[str, list[str]]:
    """``{env key: [notebooks]}`` for notebooks that still exist."""
    result: dict[str, list[str]] = {}
    for entry in envs.pointers():
        notebook = entry.get("notebook", "")
        if os.path.exists(notebook) and entry.get("env"):
            result.setdefault(entry["env"], []).append(notebook)
    return result


def describe() -> list[str]:
    used = users()
    rows = all_envs()
    if not rows:
        return [f"no envs in {dirs.env_dir()}"]
    lines = [f"env store: {dirs.env_dir()}"]
    for info in rows:
        notebooks = used.get(info["key"], [])
        state = " (incomplete)" if info.get("incomplete") else ""
        lines.append(f"{info['key']}  Python {info.get('python_version', '?')}  "
                     f"{_size(info['path']) / 1e6:.1f} MB  "
                     f"{len(notebooks)} notebook(s){state}")
        lines += [f"    {nb}" for nb in sorted(notebooks)]
    return lines


def envs_in_running_processes() -> set[str]:
    """Keys of envs some live process was started from (a kernel runs ``<env>/bin/python``).

    Read from ``/proc/*/cmdline`` (Linux); elsewhere nothing is known and only pointers
    protect an env. A kernel whose notebook was deleted keeps its env until it exits.
    """
    store = os.path.join(dirs.env_dir(), "")
    found: set[str] = set()
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return found
    for pid in pids:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                args = handle.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        for arg in args:
            if arg.startswith(store):
                found.add(arg[len(store):].split(os.sep, 1)[0])
    return found


def collect(*, dry_run: bool = False) -> tuple[list[str], int]:
    """Remove envs no existing notebook or running kernel uses, and stale pointers.

    Returns the removed keys and the bytes freed.
    """
    used = dict(users())
    for key in envs_in_running_processes():
        used.setdefault(key, [])
    removed, freed = [], 0
    for info in all_envs():
        if info["key"] in used:
            continue
        freed += _size(info["path"])
        removed.append(info["key"])
        if not dry_run:
            shutil.rmtree(info["path"], ignore_errors=True)
    if not dry_run:
        for entry in envs.pointers():
            if not os.path.exists(entry.get("notebook", "")):
                for suffix in (envs.POINTER_SUFFIX, envs.VERIFIED_SUFFIX):
                    with contextlib.suppress(OSError):
                        os.unlink(entry["file"].removesuffix(envs.POINTER_SUFFIX) + suffix)
    return removed, freed
