"""The kernel provisioner: a Jupyter server starts a uvnb kernel in the notebook's own env.

jupyter_client calls :meth:`UvnbProvisioner.pre_launch` before every start *and restart*, so
the launch is rebuilt each time: a lock changed by ``%add`` in another kernel, a notebook
edited on disk or renamed is picked up by a restart. The work (find the notebook, lock, build
the env, install ipykernel into the shared layer) runs in ``python -m uvnb.launch`` as an
async subprocess: nothing blocks the server's event loop, the kernelspec's settings reach it
as ``UVNB_*`` variables without touching the server's own ``os.environ``, and uv's progress
lines stream into the server log as they come.

Settings: the traits of :class:`uvnb.config.UvnbConfig` (this class inherits them), from
``c.UvnbConfig.*``/``c.UvnbProvisioner.*`` in Jupyter config files or from the kernelspec's
``metadata.kernel_provisioner.config``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any

from jupyter_client.provisioning import LocalProvisioner

from uvnb.config import UvnbConfig
from uvnb.launch import Launch, fallback, quick_launch

#: ``python -m uvnb.launch`` with this module's Python; tests may monkeypatch it.
LAUNCH_COMMAND = [sys.executable, "-m", "uvnb.launch"]
#: Where that process runs: ``-m`` puts its cwd first on ``sys.path``, so running it in the
#: notebook's folder would let a user's ``json.py`` or ``uv.py`` shadow modules. The folder
#: holding the uvnb package is on ``sys.path`` anyway; the kernel's cwd goes in ``--cwd``.
_NEUTRAL_CWD = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def server_root(configurable: Any) -> str | None:
    """The Jupyter server's ``root_dir``, found up the traitlets ``parent`` chain.

    In jupyter_server the chain is provisioner → KernelManager → MappingKernelManager (which
    has ``root_dir``) → ServerApp; a bare ``KernelManager`` (nbclient, tests) has none, and
    the search for a project above the notebook then goes up to the file-system root.
    """
    seen = 0
    current = getattr(configurable, "parent", None)
    while current is not None and seen < 10:
        root = getattr(current, "root_dir", None)
        if isinstance(root, str) and root:
            return os.path.abspath(os.path.expanduser(root))
        current, seen = getattr(current, "parent", None), seen + 1
    return None


class UvnbProvisioner(LocalProvisioner, UvnbConfig):  # type: ignore[misc]
    """A :class:`LocalProvisioner` whose kernel command is the notebook env's ipykernel."""

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        """Resolve the launch, then let :class:`LocalProvisioner` write the connection file.

        Runs on every start and restart. ``super()`` is called first for the connection file
        and the env substitutions; its ``cmd`` (the kernelspec argv, i.e. the argv launcher)
        is then replaced by the env's interpreter, so no second process sits in between.
        """
        environ = dict(kwargs.get("env") or os.environ)
        cwd = kwargs.get("cwd") or os.getcwd()
        launch = await self._resolve(environ, cwd)
        kwargs = await super().pre_launch(**kwargs)
        connection_file = self.parent.connection_file if self.parent else ""
        kwargs["cmd"] = launch.command(connection_file)
        kwargs["env"].update(launch.env)
        return kwargs

    async def _resolve(self, environ: dict[str, str], cwd: str) -> Launch:
        """Run ``python -m uvnb.launch`` asynchronously; a crash of it becomes the fallback."""
        started = time.monotonic()
        session = environ.get("JPY_SESSION_NAME") or "(no JPY_SESSION_NAME)"
        self.log.info("uvnb: preparing the kernel environment for %s", session)
        env = {**environ, **self.env_vars()}
        quick = self._quick(environ, env, cwd)
        if quick is not None:
            self.log.info("uvnb: kernel for %s ready in %.3f s (nothing changed): %s",
                          quick.notebook, time.monotonic() - started, quick.argv[0])
            return quick
        try:
            proc = await asyncio.create_subprocess_exec(
                *LAUNCH_COMMAND, "--cwd", cwd, *self._launch_options(), cwd=_NEUTRAL_CWD,
                env=env,
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE)
            out, _ = await asyncio.gather(proc.stdout.read(), self._log_lines(proc.stderr))
            await proc.wait()
            launch = Launch(**json.loads(out.decode()))
        except Exception as exc:  # the user must see why, in the notebook
            self.log.exception("uvnb: preparing the kernel failed")
            return fallback(exc, None, env)
        seconds = time.monotonic() - started
        if launch.error:
            self.log.warning("uvnb: starting the fallback kernel for %s:\n%s",
                             launch.notebook or session, launch.error)
        else:
            self.log.info("uvnb: kernel for %s ready in %.2f s: %s",
                          launch.notebook or "the default env", seconds, launch.argv[0])
            if launch.message:
                self.log.info("%s", launch.message)
        return launch

    def _quick(self, environ: dict[str, str], env: dict[str, str], cwd: str) -> Launch | None:
        """:func:`uvnb.launch.quick_launch` in this process, when that is safe.

        Not for project kernelspecs, and only when every uvnb/uv setting the launch step would
        see equals this server process's own (uvnb reads its settings from ``os.environ``).
        """
        if self._launch_options()[:1] == ["--project"]:
            return None
        keys = {k for k in (*env, *os.environ) if k.startswith(("UVNB_", "UV_"))}
        if any(env.get(k) != os.environ.get(k) for k in keys):
            return None
        try:
            return quick_launch(environ, cwd)
        except Exception:  # the subprocess path explains any real problem
            self.log.debug("uvnb: quick launch check failed", exc_info=True)
            return None

    def _launch_options(self) -> list[str]:
        """``--project`` of a project kernelspec, ``--root`` of the server (if known)."""
        options: list[str] = []
        metadata = getattr(self.kernel_spec, "metadata", None) or {}
        project = (metadata.get("uvnb") or {}).get("project")
        if project:
            options += ["--project", str(project)]
        root = server_root(self)
        if root:
            options += ["--root", root]
        return options

    async def _log_lines(self, stream: asyncio.StreamReader | None) -> None:
        """Copy uv's progress lines into the server log while the env builds."""
        if stream is None:
            return
        async for raw in stream:
            line = raw.decode(errors="replace").rstrip()
            if line:
                self.log.info("uvnb: %s", line.removeprefix("uvnb: "))
