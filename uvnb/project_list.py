"""Finding the uv projects under a Jupyter server root, fast enough for every kernel-list call.

The kernel picker shows one kernel per project, and JupyterLab asks for the kernel list
often, so the walk is bounded (``max_depth``), never enters folders that cannot hold a
project a user would pick (VCS data, envs, caches, hidden folders), reads only directory
entries (``os.scandir``: no stat per file), and parses only the pyproject.toml files found.
The result is cached per (root, depth) and re-validated by the mtimes of the folders walked
and of the pyproject files read: one ``stat`` each, far cheaper than listing them again.
"""

from __future__ import annotations

import os
import threading

from uvnb.errors import UvnbError
from uvnb.project import PYPROJECT, Project, load

#: Folder names never entered (besides every hidden one, which covers .git, .venv, .tox…).
SKIP = frozenset({"node_modules", "__pycache__", "site-packages", "venv"})

_cache: dict[tuple[str, int], tuple[dict[str, float], list[Project]]] = {}
_cache_lock = threading.Lock()


def _mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return -1.0


def _walk(root: str, max_depth: int) -> tuple[dict[str, float], list[str]]:
    """Folders visited (with their mtimes) and the pyproject files found, breadth-first."""
    stamps: dict[str, float] = {}
    found: list[str] = []
    level = [root]
    for depth in range(max_depth + 1):
        following: list[str] = []
        for folder in level:
            stamps[folder] = _mtime(folder)
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                name = entry.name
                if name == PYPROJECT:
                    found.append(entry.path)
                elif depth < max_depth and name[0] != "." and name not in SKIP:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            following.append(entry.path)
                    except OSError:
                        continue
        level = following
    return stamps, found


def _fresh(stamps: dict[str, float]) -> bool:
    return all(_mtime(path) == seen for path, seen in stamps.items())


def list_projects(root: str, max_depth: int = 4) -> list[Project]:
    """Every project (pyproject.toml with ``[project]``) under ``root``, sorted by path.

    A pyproject that fails to parse is skipped here (listing must not break the kernel
    picker); opening a notebook inside it reports the error.
    """
    key = (os.path.abspath(root), max_depth)
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None and _fresh(hit[0]):
        return list(hit[1])
    stamps, files = _walk(key[0], max_depth)
    projects: list[Project] = []
    for path in sorted(files):
        stamps[path] = _mtime(path)
        try:
            projects.append(load(os.path.dirname(path)))
        except UvnbError:  # broken TOML, no [project]: not a project to offer
            continue
    with _cache_lock:
        _cache[key] = (stamps, projects)
    return list(projects)


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()
