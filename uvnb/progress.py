"""A quiet progress line for work that may take more than a second.

Short operations print nothing; after a second a line appears on stderr (a spinner when it
is a terminal), so a user never stares at a silent command. ``UVNB_QUIET`` silences it.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def progress(message: str, *, delay: float = 1.0) -> Iterator[None]:
    if os.environ.get("UVNB_QUIET"):
        yield
        return
    done = threading.Event()
    tty = sys.stderr.isatty()
    started = time.monotonic()

    def show() -> None:
        if done.wait(delay):
            return
        if not tty:
            print(f"uvnb: {message}…", file=sys.stderr, flush=True)
            return
        frames = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
        index = 0
        while not done.wait(0.1):
            elapsed = time.monotonic() - started
            sys.stderr.write(f"\r{frames[index % len(frames)]} {message}… {elapsed:.0f}s")
            sys.stderr.flush()
            index += 1
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()

    thread = threading.Thread(target=show, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(timeout=1)
