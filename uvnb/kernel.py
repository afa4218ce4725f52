"""``python -m uvnb.kernel [--project DIR] -f CONNECTION_FILE``: the argv launcher, the fallback.

Frontends that ignore kernel provisioners (VS Code, nbclient without jupyter_client's
provisioner machinery, some hosted services) run the kernelspec's argv directly. This module
then does what the provisioner does — find the notebook, sync its env (with ``--project``,
that uv project's), join the kernel layer — and replaces itself (``os.execve``) with the env's
own interpreter running ipykernel, so the frontend talks to a kernel in the notebook's env
without knowing about uvnb.

With ``--fallback`` (or when preparing the env fails) it runs the *fallback kernel* instead:
ipykernel from uvnb's own environment whose every execution answers with the one-paragraph
error and its fix (``UVNB_FALLBACK_MESSAGE``). A broken spec, a missing Python or an unknown
package thus shows up where the user is looking, not as "kernel died".
"""

from __future__ import annotations

import os
import sys
from typing import Any

FALLBACK_VAR = "UVNB_FALLBACK_MESSAGE"
FALLBACK_ENAME = "UvnbEnvironmentError"


def _connection_file(argv: list[str]) -> str | None:
    for i, arg in enumerate(argv):
        if arg in {"-f", "--f"} and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(("-f=", "--f=")):
            return arg.split("=", 1)[1]
    return None


def _fallback_kernel_class() -> type:
    """An IPythonKernel whose executions all fail with the stored uvnb error.

    Built lazily: importing ipykernel costs ~0.3 s, which the normal launch path skips.
    """
    from ipykernel.ipkernel import IPythonKernel

    class FallbackKernel(IPythonKernel):
        """Answers every ``execute_request`` with the error that kept the real kernel away."""

        implementation = "uvnb-fallback"

        @property
        def banner(self) -> str:  # shown by consoles; keeps the message visible there too
            return os.environ.get(FALLBACK_VAR, "uvnb fallback kernel")

        async def do_execute(self, code: str, silent: bool, *args: Any,
                             **kwargs: Any) -> dict[str, Any]:
            message = os.environ.get(FALLBACK_VAR, "uvnb could not start this kernel.")
            content = {"ename": FALLBACK_ENAME, "evalue": message.splitlines()[0],
                       "traceback": [message]}
            if not silent:
                self.send_response(self.iopub_socket, "error", content)
            return {"status": "error", "execution_count": self.execution_count, **content}

    return FallbackKernel


def run_fallback(argv: list[str], message: str | None = None) -> int:
    """Start the fallback kernel in this process (blocks until the kernel shuts down)."""
    if message:
        os.environ[FALLBACK_VAR] = message
    from ipykernel.kernelapp import IPKernelApp

    connection = _connection_file(argv)
    app_args = ["-f", connection] if connection else []
    IPKernelApp.launch_instance(argv=app_args, kernel_class=_fallback_kernel_class())
    return 0


def _unshadow() -> None:
    """Drop the notebook folder that ``python -m`` put first on ``sys.path``.

    Jupyter starts this launcher in the notebook's folder; a user's ``json.py`` or ``uv.py``
    there must not replace the modules uvnb imports next (unless the folder is uvnb's own
    checkout, from which uvnb itself was imported).
    """
    if sys.path and os.path.abspath(sys.path[0] or ".") == os.getcwd() and \
            not os.path.exists(os.path.join(os.getcwd(), "uvnb", "__init__.py")):
        del sys.path[0]


def main(argv: list[str] | None = None) -> int:
    """Prepare the notebook's env and exec its kernel; on failure, serve the fallback."""
    argv = list(sys.argv[1:] if argv is None else argv)
    _unshadow()
    if "--fallback" in argv:
        argv.remove("--fallback")
        return run_fallback(argv)
    project = None
    if "--project" in argv[:-1]:  # a project kernelspec (`uvnb kernel install --project`)
        index = argv.index("--project")
        project = argv[index + 1]
        del argv[index:index + 2]
    connection = _connection_file(argv)
    if connection is None:
        print("usage: python -m uvnb.kernel [--project DIR] -f CONNECTION_FILE",
              file=sys.stderr)
        return 2
    from uvnb import launch

    plan = launch.resolve(os.environ, os.getcwd(), on_line=launch.progress_to_stderr,
                          project=project,
                          server_root=os.environ.get("UVNB_SERVER_ROOT") or None)
    if plan.error is not None:
        print(plan.error, file=sys.stderr, flush=True)
        return run_fallback(argv, plan.error)
    env = {**os.environ, **plan.env}
    command = plan.command(connection)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(command[0], command, env)
    return 0  # pragma: no cover - execve does not return


if __name__ == "__main__":
    sys.exit(main())
