"""Reading and writing ``.ipynb`` files without ever losing one.

The notebook is the single source of truth (spec cell + ``uv.lock`` metadata), so a write
must be all-or-nothing: temp file in the same folder, fsync, rename. Plain JSON is enough
(nbformat's validation would cost ~100 ms per call); what we change is the spec cell, the
lock text and our own metadata, and everything else goes back out exactly as it came in:
key order, indentation, outputs.
"""

from __future__ import annotations

import json
import os

from uvnb.errors import NotebookError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

LOCK_KEY = "uv.lock"
UVNB_KEY = "uvnb"
# PEP 723's reference regex, for full parsing (spec.py); compiled on first use.
SCRIPT_BLOCK_PATTERN = r"(?m)^# /// (?P<type>[a-zA-Z0-9-]+)$\s(?P<content>(^#(| .*)$\s)+)^# ///$"


def cell_text(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def has_script_block(text: str) -> bool:
    """PEP 723's rule without the regex module: this runs on every no-op sync.

    An opening ``# /// script`` line, then only comment lines, then a closing ``# ///``.
    """
    if "# /// script" not in text:
        return False
    lines = text.splitlines()
    for start, line in enumerate(lines):
        if line != "# /// script":
            continue
        for body_line in lines[start + 1:]:
            if body_line == "# ///":
                return True
            if not (body_line == "#" or body_line.startswith("# ")):
                break
    return False


def _split_lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


class Notebook:
    """A loaded notebook: its path, its JSON, and how to write it back the same way."""

    def __init__(self, path: str, data: dict[str, Any], raw: bytes = b"",
                 indent: int | None = 1, trailing_newline: bool = True) -> None:
        self.path = path
        self.data = data
        self.raw = raw
        self.indent = indent
        self.trailing_newline = trailing_newline
        self.changed = False

    # --- the spec cell -------------------------------------------------------------------
    def spec_cell_index(self) -> int | None:
        """Index of the first code cell holding a ``# /// script`` block (juv's rule)."""
        for index, cell in enumerate(self.data.get("cells", [])):
            if cell.get("cell_type") == "code" and has_script_block(cell_text(cell)):
                return index
        return None

    @property
    def spec_source(self) -> str | None:
        index = self.spec_cell_index()
        return None if index is None else cell_text(self.data["cells"][index])

    def set_spec_source(self, source: str) -> None:
        """Store ``source`` in the spec cell, creating a hidden first cell if there is none.

        juv keeps the source without a trailing newline; so do we, so that the two tools do
        not fight over a newline in diffs.
        """
        source = source.rstrip("\n")
        index = self.spec_cell_index()
        if index is None:
            import uuid

            cell = {
                "cell_type": "code",
                "execution_count": None,
                "id": uuid.uuid4().hex[:8],
                "metadata": {"jupyter": {"source_hidden": True}},
                "outputs": [],
                "source": _split_lines(source),
            }
            if self.data.get("nbformat_minor", 0) < 5:
                cell.pop("id")
            self.data.setdefault("cells", []).insert(0, cell)
        else:
            cell = self.data["cells"][index]
            if cell_text(cell) == source:
                return
            cell["source"] = _split_lines(source) if isinstance(cell.get("source"), list) \
                else source
        self.changed = True

    # --- metadata ------------------------------------------------------------------------
    @property
    def metadata(self) -> dict[str, Any]:
        return self.data.setdefault("metadata", {})

    @property
    def lock_text(self) -> str | None:
        value = self.data.get("metadata", {}).get(LOCK_KEY)
        return value if isinstance(value, str) and value.strip() else None

    def set_lock_text(self, text: str | None) -> None:
        if self.lock_text == text:
            return
        if text is None:
            self.metadata.pop(LOCK_KEY, None)
        else:
            self.metadata[LOCK_KEY] = text
        self.changed = True

    @property
    def python_request(self) -> str | None:
        """The Python version uvnb pinned (``uvnb init --python``), e.g. ``"3.12"``."""
        value = self.data.get("metadata", {}).get(UVNB_KEY, {})
        return value.get("python") if isinstance(value, dict) else None

    def set_python_request(self, request: str | None) -> None:
        if self.python_request == request:
            return
        meta = self.metadata.setdefault(UVNB_KEY, {})
        if request is None:
            meta.pop("python", None)
            if not meta:
                self.metadata.pop(UVNB_KEY, None)
        else:
            meta["python"] = request
        self.changed = True

    # --- serialisation -------------------------------------------------------------------
    def dumps(self) -> str:
        text = json.dumps(self.data, indent=self.indent, ensure_ascii=False)
        return text + "\n" if self.trailing_newline else text


def _detect_indent(raw: str) -> int | None:
    """The indent of the file's first key; None for single-line JSON."""
    if not raw.startswith("{\n"):
        return None
    second = raw[2: raw.find("\n", 2)]
    width = len(second) - len(second.lstrip(" "))
    return width or None


def loads(text: str, path: str = "<notebook>") -> Notebook:
    """Parse notebook JSON, raising :class:`NotebookError` for anything not nbformat 4."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookError(
            f"{path} is not valid notebook JSON (line {exc.lineno}, column {exc.colno}: "
            f"{exc.msg}).",
            "restore it from version control or a backup; uvnb did not change it.",
        ) from None
    # nbformat first: a version-3 notebook has worksheets, not cells, and deserves the
    # "convert it" advice rather than "not a notebook".
    if isinstance(data, dict) and "nbformat" in data and data["nbformat"] != 4:
        raise NotebookError(
            f"{path} is nbformat {data.get('nbformat')!r}; uvnb needs nbformat 4.",
            "convert it with `jupyter nbconvert --to notebook --nbformat 4`, then try again.",
        )
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise NotebookError(
            f"{path} is JSON but not a Jupyter notebook (no list of cells).",
            "pass an .ipynb file; uvnb did not change it.",
        )
    if data.get("nbformat") != 4:
        raise NotebookError(
            f"{path} is nbformat {data.get('nbformat')!r}; uvnb needs nbformat 4.",
            "convert it with `jupyter nbconvert --to notebook --nbformat 4`, then try again.",
        )
    return Notebook(
        path=path,
        data=data,
        raw=text.encode(),
        indent=_detect_indent(text),
        trailing_newline=text.endswith("\n"),
    )


def load(path: str | os.PathLike[str]) -> Notebook:
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise NotebookError(
            f"{path} does not exist.",
            f"create it with `uvnb init {path}`, or check the path.",
        ) from None
    except IsADirectoryError:
        raise NotebookError(f"{path} is a folder, not a notebook.", "pass an .ipynb file.") \
            from None
    except UnicodeDecodeError:
        raise NotebookError(
            f"{path} is not UTF-8 text, so it cannot be a notebook.",
            "restore it from version control or a backup; uvnb did not change it.",
        ) from None
    except PermissionError:
        raise NotebookError(f"{path} cannot be read (permission denied).",
                            "check the file's permissions.") from None
    return loads(text, path)


def ensure_writable(path: str) -> None:
    """Fail before any work if the notebook cannot be replaced, so nothing half-happens."""
    folder = os.path.dirname(os.path.abspath(path)) or "."
    # os.access says yes to root for any file, so also honour the mode bits: a notebook
    # someone made read-only (chmod a-w) stays unchanged for root too.
    if os.path.exists(path) and (not os.access(path, os.W_OK)
                                 or not os.stat(path).st_mode & 0o222):
        raise NotebookError(
            f"{path} is read-only, so uvnb cannot record the change.",
            f"make it writable (`chmod u+w {path}`) and run the command again.",
        )
    if not os.access(folder, os.W_OK):
        raise NotebookError(
            f"the folder {folder} is not writable, so {path} cannot be saved.",
            "make the folder writable, or work on a copy of the notebook elsewhere.",
        )


def open_for_write(path: str, *, create: bool = False) -> Notebook:
    """A notebook about to change, checked writable before any work is done.

    With ``create``, a missing file gives a new empty notebook (written only when saved).
    """
    if create and not path.endswith(".ipynb"):
        raise NotebookError(f"{path} does not end in .ipynb.", f"use {path}.ipynb.")
    if create and not os.path.exists(path):
        ensure_writable(path)
        return Notebook(path=path, data=new_notebook_data(), raw=b"")
    nb = load(path)
    ensure_writable(nb.path)
    return nb


def atomic_write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` via temp file + fsync + rename in the same folder."""
    ensure_writable(path)
    folder = os.path.dirname(os.path.abspath(path))
    mode = None
    if os.path.exists(path):
        mode = os.stat(path).st_mode & 0o7777
    # O_EXCL on a random name is what tempfile.mkstemp does, without its ~5 ms import.
    tmp = os.path.join(folder, f".uvnb-{os.urandom(6).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode if mode is not None else 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def save(notebook: Notebook) -> bool:
    """Write the notebook back if its text changed; return whether it was written."""
    text = notebook.dumps()
    if text.encode() == notebook.raw:
        return False
    atomic_write_text(notebook.path, text)
    notebook.raw = text.encode()
    notebook.changed = False
    return True


def new_notebook_data(kernel_name: str = "python3", display_name: str = "Python 3") -> dict:
    """An empty nbformat 4.5 notebook with one empty code cell after the spec."""
    import uuid

    return {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": uuid.uuid4().hex[:8],
                "metadata": {},
                "outputs": [],
                "source": [],
            }
        ],
        "metadata": {
            "kernelspec": {"display_name": display_name, "language": "python",
                           "name": kernel_name},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
