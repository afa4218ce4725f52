"""Every call to uv goes through here.

uv is the engine (resolution, locking, installs, its cache); uvnb only decides what to ask.
Keeping the calls in one place means one environment for uv (settings from ``UVNB_*``), one
way to turn uv's stderr into a :class:`~uvnb.errors.UvError` with uv's own words, and one
sync and one async runner that tests can monkeypatch.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence

from uvnb.errors import OfflineError, ResolutionError, UvError

_UV_BIN: str | None = None


def uv_bin() -> str:
    """The uv binary: ``UVNB_UV`` if set, else the one the ``uv`` package ships (cached)."""
    global _UV_BIN
    if _UV_BIN is None:
        override = os.environ.get("UVNB_UV")
        if override:
            _UV_BIN = override
        else:
            candidate = os.path.join(os.path.dirname(sys.executable), "uv")
            if os.path.exists(candidate):
                # Same file find_uv_bin() would return in a venv, without importing it.
                _UV_BIN = candidate
            else:
                from uv import find_uv_bin

                _UV_BIN = find_uv_bin()
    return _UV_BIN


def offline_requested() -> bool:
    return os.environ.get("UVNB_OFFLINE", "").lower() in {"1", "true", "yes"}


def uv_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment uv runs in.

    ``VIRTUAL_ENV`` is dropped because uvnb always names its target explicitly and uv warns
    when the two disagree; Python downloads are off unless asked for, because an implicit
    download attempt on a machine without network costs ~10 s before failing.
    """
    env = dict(os.environ)
    env.pop("VIRTUAL_ENV", None)
    env.pop("CONDA_PREFIX", None)
    env.setdefault("UV_PYTHON_DOWNLOADS", os.environ.get("UVNB_PYTHON_DOWNLOADS", "never"))
    env["UV_NO_PROGRESS"] = env.get("UV_NO_PROGRESS", "1")
    if os.environ.get("UVNB_CACHE_DIR"):
        env["UV_CACHE_DIR"] = os.environ["UVNB_CACHE_DIR"]
    if os.environ.get("UVNB_LINK_MODE"):
        env["UV_LINK_MODE"] = os.environ["UVNB_LINK_MODE"]
    if offline_requested():
        env["UV_OFFLINE"] = "1"
    if extra:
        env.update(extra)
    return env


class Completed:
    """What a finished uv call left: the same fields as ``subprocess.CompletedProcess``."""

    def __init__(self, args: list[str], returncode: int, stdout: str, stderr: str) -> None:
        self.args = args
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


def run(
    args: Sequence[str],
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    what: str = "uv",
    stream_stderr: bool = False,
    on_line: Callable[[str], None] | None = None,
) -> Completed:
    """Run ``uv ARGS``; raise :class:`UvError` (or a subclass) if it fails.

    ``what`` names the user's action for the error message ("lock analysis.ipynb").
    ``stream_stderr`` lets uv's own progress reach the terminal for long work;
    ``on_line`` receives each stderr line as uv prints it (a kernel build's progress in the
    server log), and the whole text is still returned.
    """
    argv = [uv_bin(), *args]
    if on_line is not None:
        return _run_streaming(argv, cwd, env, what, on_line)
    from uvnb import spawn

    if cwd is None and not stream_stderr and spawn.available():
        code, out, err = spawn.run(argv, uv_env(env))
        if code != 0:
            raise error_from_stderr(err, what)
        return Completed(argv, code, out, err)
    import subprocess

    proc = subprocess.run(
        argv,
        cwd=cwd,
        env=uv_env(env),
        stdout=subprocess.PIPE,
        stderr=None if stream_stderr else subprocess.PIPE,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise error_from_stderr(proc.stderr or "", what)
    return Completed(argv, proc.returncode, proc.stdout or "", proc.stderr or "")


def _run_streaming(argv: list[str], cwd: str | os.PathLike[str] | None,
                   env: Mapping[str, str] | None, what: str,
                   on_line: Callable[[str], None]) -> Completed:
    import subprocess

    proc = subprocess.Popen(argv, cwd=cwd, env=uv_env(env), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    assert proc.stderr is not None and proc.stdout is not None
    for line in proc.stderr:
        lines.append(line)
        if line.strip():
            on_line(line.rstrip("\n"))
    stdout = proc.stdout.read()
    code = proc.wait()
    stderr = "".join(lines)
    if code != 0:
        raise error_from_stderr(stderr, what)
    return Completed(argv, code, stdout, stderr)


async def run_async(
    args: Sequence[str],
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    what: str = "uv",
    on_line=None,
) -> tuple[str, str]:
    """Async twin of :func:`run` for the kernel provisioner, where blocking freezes the server.

    ``on_line`` receives each stderr line as uv prints it (build progress for the log).
    Returns ``(stdout, stderr)``.
    """
    import asyncio

    proc = await asyncio.create_subprocess_exec(
        uv_bin(),
        *args,
        cwd=cwd,
        env=uv_env(env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    err_lines: list[str] = []

    async def pump_stderr() -> None:
        assert proc.stderr is not None
        async for raw in proc.stderr:
            line = raw.decode(errors="replace")
            err_lines.append(line)
            if on_line is not None:
                on_line(line.rstrip("\n"))

    assert proc.stdout is not None
    stdout_task = asyncio.ensure_future(proc.stdout.read())
    await pump_stderr()
    out = (await stdout_task).decode(errors="replace")
    code = await proc.wait()
    stderr = "".join(err_lines)
    if code != 0:
        raise error_from_stderr(stderr, what)
    return out, stderr


_LABELS = ("error:", "cause:", "hint:", "warning:", "help:", "×", "╰─▶")


def _essential_lines(stderr: str) -> list[str]:
    """uv's explanation without warnings, the ``--frozen`` advice, or blank lines.

    uv wraps long messages to the terminal width (``COLUMNS``), indenting the continuation:
    those pieces are joined back onto their line so no message is cut mid-sentence.
    """
    keep: list[str] = []
    skipping = False
    for line in stderr.splitlines():
        text = line.strip()
        if text and line[:1].isspace() and not text.startswith(_LABELS) and keep:
            if not skipping:
                keep[-1] += " " + text
            continue
        skipping = False
        if not text:
            continue
        if text.startswith("warning:"):
            skipping = True
            continue
        if "--frozen" in text or text.startswith("Resolved ") or text.startswith("Using "):
            skipping = True
            continue
        keep.append(text)
    return keep


def error_from_stderr(stderr: str, what: str) -> UvError:
    """Turn uv's stderr into the right :class:`UvError`, keeping uv's own reasoning."""
    lines = _essential_lines(stderr)
    causes = [ln.removeprefix("cause:").strip() for ln in lines if ln.startswith("cause:")]
    headline = next((ln.removeprefix("error:").strip() for ln in lines
                     if ln.startswith("error:")), "")
    detail = causes[-1] if causes else headline or (lines[-1] if lines else "uv failed")
    uv_hints = [ln.removeprefix("hint:").strip() for ln in lines if ln.startswith("hint:")]
    text = stderr.lower()
    if "network was disabled" in text or "not found in the cache" in text:
        return OfflineError(
            f"cannot {what}: {detail}",
            "uv's cache does not hold this package yet; run once with network access "
            "(without --offline) to fill the cache.",
            stderr,
        )
    if "failed to fetch" in text or "dns error" in text or "connect error" in text:
        return OfflineError(
            f"cannot {what}: the package index could not be reached ({detail})",
            "check the network or the index URL, or use --offline if uv's cache already "
            "holds every package.",
            stderr,
        )
    if "no solution found" in text or "unsatisfiable" in text:
        return ResolutionError(
            f"cannot {what}: {detail}",
            uv_hints[0] if uv_hints else
            "loosen or change the requirement; `uvnb tree` shows what is locked now.",
            stderr,
        )
    message = f"cannot {what}: {detail}"
    if headline and headline not in detail:
        message = f"cannot {what}: {headline}: {detail}"
    return UvError(message, uv_hints[0] if uv_hints else
                   "run the command again with -v to see uv's full output.", stderr)
