"""Run a short command and collect its output, without importing ``subprocess``.

``subprocess`` pulls in ``locale``, ``signal``, ``threading`` and ``selectors``: ~8 ms on
these machines, which is a sixth of everything ``uvnb add`` may add on top of ``uv add``
(issue #3 allows 1.3×). ``os.posix_spawn`` plus two pipes read with ``select`` does the
same job for the plain case (no cwd change, no input); :mod:`uvnb.uv` falls back to
``subprocess`` for everything else and on platforms without ``posix_spawn``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence


def available() -> bool:
    return hasattr(os, "posix_spawn") and hasattr(os, "waitstatus_to_exitcode")


def run(argv: Sequence[str], env: Mapping[str, str]) -> tuple[int, str, str]:
    """``(exit code, stdout, stderr)`` of ``argv``; stdin is /dev/null."""
    import select

    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    null = os.open(os.devnull, os.O_RDONLY)
    actions = [
        (os.POSIX_SPAWN_DUP2, null, 0),
        (os.POSIX_SPAWN_DUP2, out_w, 1),
        (os.POSIX_SPAWN_DUP2, err_w, 2),
        (os.POSIX_SPAWN_CLOSE, out_r),
        (os.POSIX_SPAWN_CLOSE, err_r),
    ]
    try:
        pid = os.posix_spawn(argv[0], list(argv), dict(env), file_actions=actions)
    finally:
        for fd in (out_w, err_w, null):
            os.close(fd)
    chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}
    open_fds = [out_r, err_r]
    try:
        while open_fds:
            ready, _, _ = select.select(open_fds, [], [])
            for fd in ready:
                data = os.read(fd, 65536)
                if data:
                    chunks[fd].append(data)
                else:
                    open_fds.remove(fd)
    finally:
        os.close(out_r)
        os.close(err_r)
    _, status = os.waitpid(pid, 0)
    decode = lambda parts: b"".join(parts).decode(errors="replace")  # noqa: E731
    return os.waitstatus_to_exitcode(status), decode(chunks[out_r]), decode(chunks[err_r])
