"""A notebook's spec and lock as the files uv works on: a script and its ``.lock``.

uv only knows scripts. Each operation writes the spec cell (and the notebook's ``uv.lock``
text) into a fresh private folder *beside the notebook*, so that relative paths in the spec
mean what they mean for the notebook, lets uv work there, reads back what uv wrote, and
removes the folder whatever happened. Nothing here touches the notebook itself.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from uvnb.errors import SpecError
from uvnb.notebook import Notebook


class Script:
    """A spec materialised for uv: ``path`` is the script, ``lock_path`` its lockfile."""

    def __init__(self, path: str) -> None:
        self.path = path

    @property
    def lock_path(self) -> str:
        return f"{self.path}.lock"

    def read_spec(self) -> str:
        with open(self.path, encoding="utf-8") as handle:
            return handle.read().rstrip("\n")

    def read_lock(self) -> str | None:
        try:
            with open(self.lock_path, encoding="utf-8") as handle:
                return handle.read()
        except FileNotFoundError:
            return None


@contextmanager
def materialised(notebook: Notebook, source: str | None = None) -> Iterator[Script]:
    """The notebook's spec (or ``source``) and lock as files uv can work on."""
    text = source if source is not None else notebook.spec_source
    if text is None:
        raise SpecError(
            f"{notebook.path} has no environment spec yet.",
            f"run `uvnb init {notebook.path}` or `uvnb add {notebook.path} PACKAGE` first.",
        )
    folder = os.path.dirname(os.path.abspath(notebook.path))
    workdir = _private_folder(folder)
    try:
        script = Script(os.path.join(workdir, "notebook.py"))
        with open(script.path, "w", encoding="utf-8") as handle:
            handle.write(text.rstrip("\n") + "\n")
        if notebook.lock_text is not None:
            with open(script.lock_path, "w", encoding="utf-8") as handle:
                handle.write(notebook.lock_text)
        yield script
    finally:
        _remove_folder(workdir)


def _private_folder(near: str) -> str:
    """A fresh folder beside the notebook (else in /tmp); no tempfile/shutil imports."""
    name = f".uvnb-{os.getpid()}-{os.urandom(4).hex()}"
    for parent in (near, os.environ.get("TMPDIR") or "/tmp"):
        path = os.path.join(parent, name)
        try:
            os.mkdir(path, 0o700)
            return path
        except OSError:
            continue
    raise OSError(f"cannot create a working folder beside {near} or in /tmp")


def _remove_folder(path: str) -> None:
    try:
        entries = os.listdir(path)
    except OSError:
        return
    for entry in entries:
        full = os.path.join(path, entry)
        if os.path.isdir(full) and not os.path.islink(full):
            import shutil

            shutil.rmtree(full, ignore_errors=True)
        else:
            with suppress(OSError):
                os.unlink(full)
    with suppress(OSError):
        os.rmdir(path)
