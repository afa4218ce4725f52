"""How a change made inside a kernel reaches its notebook: a comm, else an atomic write.

Why a comm first: a kernel that rewrites its own ``.ipynb`` while JupyterLab has it open
causes a "file changed" dialog, and the browser's next save overwrites the change. So the
kernel sends the new spec and lock to the JupyterLab extension, which applies them to the
open notebook model (it becomes dirty and saves normally). Only when no frontend is there
does the kernel ask the server side to write the file (:func:`write_change`).

Why a ``hello`` instead of waiting for a reply: ipykernel handles comm messages on the shell
channel, one message at a time, so a reply cannot be received while the cell that runs
``%add`` is still executing. The frontend therefore announces itself when the kernel starts
(it opens the comm with a ``hello``); the kernel knows a frontend is present *before* any
``%add`` and sends ``update`` without waiting. The ``ack`` arrives after the cell; an update
that was never acknowledged is written to disk at the next uvnb magic.

Messages (comm target ``uvnb``; ``data`` of ``comm_open`` / ``comm_msg``)::

    frontend → kernel  comm_open  {"type": "hello", "notebook": "<path as the frontend knows it>",
                                   "version": 1}
    kernel → frontend  comm_msg   {"type": "welcome", "notebook": "<absolute path or null>",
                                   "version": 1}
    kernel → frontend  comm_msg   {"type": "update", "notebook": "<absolute path>",
                                   "spec": "<PEP 723 cell source>", "lock": "<uv.lock text>"|null,
                                   "python": "3.12"|null, "id": "<hex>"}
    frontend → kernel  comm_msg   {"type": "ack", "id": "<hex>"}
                                  {"type": "nack", "id": "<hex>", "reason": "…"}

The kernel side (``uvnb/_kernelside/uvnb_kernel_magics.py``) builds these with the stdlib only,
because uvnb is not installed in a notebook's env; ``tests/test_magics_unit.py`` checks that it
and this module agree.
"""

from __future__ import annotations

import uuid
from typing import Any

TARGET = "uvnb"
PROTOCOL_VERSION = 1
MESSAGE_TYPES = ("hello", "welcome", "update", "ack", "nack")
_UPDATE_KEYS = ("type", "notebook", "spec", "lock", "python", "id")


def update_message(notebook: str, spec: str, lock: str | None, python: str | None,
                   message_id: str | None = None) -> dict[str, Any]:
    """The ``update`` a kernel sends after ``%add`` & co.: everything the model needs."""
    return {"type": "update", "notebook": notebook, "spec": spec, "lock": lock,
            "python": python, "id": message_id or uuid.uuid4().hex}


def ack_message(message_id: str) -> dict[str, Any]:
    return {"type": "ack", "id": message_id}


def hello_message(notebook: str | None) -> dict[str, Any]:
    return {"type": "hello", "notebook": notebook, "version": PROTOCOL_VERSION}


def check_update(data: Any) -> dict[str, Any]:
    """Validate an ``update`` (what the extension does before touching the model)."""
    if not isinstance(data, dict) or data.get("type") != "update":
        raise ValueError(f"not an update message: {data!r}")
    missing = [key for key in _UPDATE_KEYS if key not in data]
    if missing:
        raise ValueError(f"update message lacks {', '.join(missing)}")
    if not isinstance(data["spec"], str) or not isinstance(data["id"], str):
        raise ValueError("update message: spec and id must be strings")
    for key in ("lock", "python"):
        if data[key] is not None and not isinstance(data[key], str):
            raise ValueError(f"update message: {key} must be a string or null")
    return data


def write_change(path: str, spec: str, lock: str | None, python: str | None) -> bool:
    """The fallback: put spec, lock and Python pin into the file on disk, atomically.

    Loads the file as it is now, so every cell, output and metadata key the kernel never
    saw survives; returns whether the file changed. Raises :class:`~uvnb.errors.UvnbError`
    (nothing written) for a read-only or corrupt notebook.
    """
    from uvnb import notebook

    nb = notebook.load(path)
    notebook.ensure_writable(nb.path)
    nb.set_spec_source(spec)
    nb.set_lock_text(lock)
    nb.set_python_request(python)
    return notebook.save(nb)


__all__ = ["MESSAGE_TYPES", "PROTOCOL_VERSION", "TARGET", "ack_message", "check_update",
           "hello_message", "update_message", "write_change"]
