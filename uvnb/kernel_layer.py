"""The shared per-Python kernel layer: ipykernel and its needs, outside every notebook's lock.

A notebook's lock says what *its code* needs; the kernel machinery is ours. So ipykernel is
installed once per interpreter into ``<layers>/<python>-<hash>/`` (``uv pip install --target``
with ``--compile-bytecode``: uv does not compile by default and ``PYTHONDONTWRITEBYTECODE``
is common, which would make every kernel start re-compile ipykernel, ~1 s) and joined to an
env by a ``.pth`` file. A ``.pth`` line is appended to ``sys.path`` after the env's own
site-packages, so the notebook's own packages win any overlap. New envs therefore cost no
ipykernel install at all.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Sequence

from uvnb import dirs, uv
from uvnb.python import Interpreter

LAYER_REQUIREMENTS = ("ipykernel>=6.29",)
PTH_NAME = "zz_uvnb_kernel_layer.pth"
_MARKER = ".uvnb-layer.json"


def layers_root() -> str:
    return os.environ.get("UVNB_LAYER_DIR") or os.path.join(dirs.env_dir(), ".layers")


def layer_path(interp: Interpreter) -> str:
    tag = hashlib.sha256(f"{interp.path}\0{LAYER_REQUIREMENTS}".encode()).hexdigest()[:12]
    return os.path.join(layers_root(), f"python{interp.version_text}-{tag}")


def layer_ready(interp: Interpreter) -> str | None:
    path = layer_path(interp)
    return path if os.path.exists(os.path.join(path, _MARKER)) else None


def install_command(interp: Interpreter, target: str, offline: bool,
                    quiet: bool = True) -> list[str]:
    args = ["pip", "install", "--target", target, "--python", interp.path,
            "--compile-bytecode", "--no-progress", *LAYER_REQUIREMENTS]
    if quiet:
        args.append("--quiet")
    index = os.environ.get("UVNB_LAYER_INDEX")
    if index:
        args += ["--default-index", index]
    if offline:
        args.append("--offline")
    return args


def ensure_layer(interp: Interpreter, *, offline: bool = False,
                 on_line: Callable[[str], None] | None = None) -> str:
    """The layer folder for ``interp``, built on first use (serialised by a file lock).

    ``on_line`` receives uv's lines as it installs (a kernel start's server log); without
    it, a terminal gets a progress line after a second.
    """
    ready = layer_ready(interp)
    if ready:
        return ready
    import fcntl

    final = layer_path(interp)
    dirs.ensure(layers_root())
    with open(f"{final}.lock", "w") as lock_handle:
        fcntl.flock(lock_handle, fcntl.LOCK_EX)
        if layer_ready(interp):
            return final
        staging = f"{final}.building-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            from uvnb.progress import progress

            what = f"install ipykernel for Python {interp.version_text}"
            if on_line is not None:
                on_line(f"installing ipykernel for Python {interp.version_text} "
                        "(once per Python)…")
                uv.run(install_command(interp, staging, offline, quiet=False),
                       what=what, on_line=on_line)
            else:
                with progress(f"installing ipykernel for Python {interp.version_text} "
                              "(once per Python)"):
                    uv.run(install_command(interp, staging, offline), what=what)
            with open(os.path.join(staging, _MARKER), "w", encoding="utf-8") as handle:
                json.dump({"python": interp.path, "version": interp.version_text,
                           "requirements": list(LAYER_REQUIREMENTS),
                           "created": time.time()}, handle)
            shutil.rmtree(final, ignore_errors=True)
            os.replace(staging, final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return final


def attach(site_packages: str, layer: str, extra: Sequence[str] = ()) -> None:
    """Join ``layer`` (and ``extra`` folders, e.g. the magics') to an env via one ``.pth``.

    Rewritten only when the content differs, so a warm kernel start writes nothing.
    """
    pth = os.path.join(site_packages, PTH_NAME)
    text = "".join(f"{line}\n" for line in (layer, *extra))
    try:
        with open(pth, encoding="utf-8") as handle:
            if handle.read() == text:
                return
    except OSError:
        pass
    tmp = f"{pth}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, pth)


def layer_packages(layer: str) -> dict[str, str]:
    """``{name: version}`` of what the layer holds, for ``%deps``."""
    found = {}
    for entry in os.listdir(layer) if os.path.isdir(layer) else []:
        if entry.endswith(".dist-info"):
            name, _, version = entry[: -len(".dist-info")].partition("-")
            found[name.lower().replace("_", "-")] = version
    return found
