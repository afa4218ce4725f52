"""uvnb: every Jupyter notebook gets its own locked environment on a pinned Python, built by uv.

The package import stays light (the CLI and the kernel launcher start often); the public API
is loaded on first use.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"

__all__ = [
    "LockMismatch",
    "NotebookError",
    "OfflineError",
    "PythonNotFound",
    "ResolutionError",
    "SpecError",
    "UvError",
    "UvnbError",
    "__version__",
    "load_ipython_extension",
]

if TYPE_CHECKING:  # pragma: no cover
    from uvnb.errors import (
        LockMismatch,
        NotebookError,
        OfflineError,
        PythonNotFound,
        ResolutionError,
        SpecError,
        UvError,
        UvnbError,
    )


def __getattr__(name: str) -> Any:
    if name in __all__ and name not in {"__version__", "load_ipython_extension"}:
        from uvnb import errors

        return getattr(errors, name)
    raise AttributeError(name)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext uvnb``: register the uvnb magics in any IPython kernel."""
    from uvnb.magics import register

    register(ipython)
