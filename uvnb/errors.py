"""The one exception family users see.

Every failure a user can cause or fix (a bad notebook, an unknown package, a missing Python)
is raised as a :class:`UvnbError` carrying a one-paragraph ``message`` and a ``hint`` that says
what to do next. The CLI prints them as ``error: …`` / ``hint: …`` and exits 1; the kernel
magics print the same paragraph in the cell output; the fallback kernel answers every execution
with it. Anything else escaping is a bug in uvnb, and is allowed to show a traceback.

Hierarchy::

    UvnbError
    ├── NotebookError      the .ipynb file: missing, corrupt JSON, not nbformat 4, read-only
    ├── SpecError          the PEP 723 block or a requirement is malformed
    ├── PythonNotFound     no interpreter satisfies the pin
    ├── LockMismatch       the spec and the stored lock disagree (``lock --check``)
    └── UvError            uv refused: carries uv's own explanation
        ├── ResolutionError  unknown package or version conflict
        └── OfflineError     offline and uv's cache lacks something
"""

from __future__ import annotations


class UvnbError(Exception):
    """A failure the user can act on: ``message`` says what went wrong, ``hint`` what to do."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message

    def render(self) -> str:
        """The text the CLI and the magics show: the error, then the hint on its own line."""
        text = f"error: {self.message}"
        if self.hint:
            text += f"\nhint: {self.hint}"
        return text


class NotebookError(UvnbError):
    """The notebook file cannot be read or written as a notebook."""


class SpecError(UvnbError):
    """The notebook's PEP 723 block, or a requirement given to uvnb, does not parse."""


class PythonNotFound(UvnbError):
    """No interpreter on this machine satisfies the notebook's Python pin."""


class LockMismatch(UvnbError):
    """The notebook's stored lock no longer matches its spec."""


class UvError(UvnbError):
    """uv exited non-zero; ``stderr`` keeps its full output for ``-v``."""

    def __init__(self, message: str, hint: str | None = None, stderr: str = "") -> None:
        super().__init__(message, hint)
        self.stderr = stderr


class ResolutionError(UvError):
    """uv could not find a package, or found no versions that fit together."""


class OfflineError(UvError):
    """Offline (or the index unreachable) and uv's cache does not hold what is needed."""


__all__ = [
    "LockMismatch",
    "NotebookError",
    "OfflineError",
    "PythonNotFound",
    "ResolutionError",
    "SpecError",
    "UvError",
    "UvnbError",
]
