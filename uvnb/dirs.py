"""Where uvnb keeps its state, in one place so that every module agrees.

Envs live outside uv's cache on purpose: ``uv cache clean`` must not pull an env from under
a running kernel. ``UVNB_ENV_DIR`` moves the env store, ``UVNB_STATE_DIR`` the rest (pointers,
interpreter cache, trust list); tests point both at temporary folders.
"""

from __future__ import annotations

import os


def cache_root() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "uvnb")


def env_dir() -> str:
    """The env store: one folder per (lock, interpreter)."""
    return os.environ.get("UVNB_ENV_DIR") or os.path.join(cache_root(), "envs")


def state_dir() -> str:
    """Pointers from notebooks to envs, the interpreter cache, the kernel layers."""
    return os.environ.get("UVNB_STATE_DIR") or os.path.join(cache_root(), "state")


def ensure(path: str) -> str:
    os.makedirs(path, exist_ok=True)
    return path
