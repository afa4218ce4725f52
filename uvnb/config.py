"""uvnb's settings as traitlets, so that Jupyter config files and kernelspecs can set them.

The core modules read their settings from ``UVNB_*`` environment variables (they also run in
plain CLI processes and in kernels, where no traitlets config exists). This class is the
Jupyter-side face of the same settings: each trait defaults to its environment variable, can
be set in ``jupyter_server_config.py`` (``c.UvnbConfig.offline = True``) or in a kernelspec's
``metadata.kernel_provisioner.config`` (the provisioner inherits these traits), and
:meth:`UvnbConfig.env_vars` turns the result back into the variables that uv/uvnb calls read.
"""

from __future__ import annotations

import os

from traitlets import Bool, Unicode, default
from traitlets.config import Configurable

_TRUE = {"1", "true", "yes", "on"}


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE


class UvnbConfig(Configurable):
    """Where envs live, how uv links files, whether to touch the network, the default Python."""

    env_dir = Unicode(
        "",
        help="Folder of the env store (one env per lock + interpreter). Empty: the "
        "UVNB_ENV_DIR environment variable, else ~/.cache/uvnb/envs.",
    ).tag(config=True)

    cache_dir = Unicode(
        "",
        help="uv's cache folder for uvnb's uv calls. Empty: UVNB_CACHE_DIR, else uv's own "
        "default (UV_CACHE_DIR or ~/.cache/uv).",
    ).tag(config=True)

    link_mode = Unicode(
        "",
        help="How uv puts files from its cache into envs: clone, hardlink, copy or symlink. "
        "Empty: UVNB_LINK_MODE, else uv's default (clone/hardlink, cheapest on disk).",
    ).tag(config=True)

    offline = Bool(
        False,
        help="Never touch the network: use only uv's cache (UVNB_OFFLINE=1). A kernel whose "
        "env needs a download then starts the fallback kernel that explains why.",
    ).tag(config=True)

    default_python = Unicode(
        "",
        help="Python version (e.g. '3.12') for notebooks without an environment spec of "
        "their own. Empty: UVNB_DEFAULT_PYTHON, else the Python running uvnb.",
    ).tag(config=True)

    @default("env_dir")
    def _default_env_dir(self) -> str:
        return os.environ.get("UVNB_ENV_DIR", "")

    @default("cache_dir")
    def _default_cache_dir(self) -> str:
        return os.environ.get("UVNB_CACHE_DIR", "")

    @default("link_mode")
    def _default_link_mode(self) -> str:
        return os.environ.get("UVNB_LINK_MODE", "")

    @default("offline")
    def _default_offline(self) -> bool:
        return _env_flag("UVNB_OFFLINE")

    @default("default_python")
    def _default_default_python(self) -> str:
        return os.environ.get("UVNB_DEFAULT_PYTHON", "")

    def env_vars(self) -> dict[str, str]:
        """The ``UVNB_*`` variables that make uv/uvnb subprocesses follow these settings.

        Only set values appear, so an unset trait never overrides what the environment of
        the process already says.
        """
        out: dict[str, str] = {}
        for trait, name in (("env_dir", "UVNB_ENV_DIR"), ("cache_dir", "UVNB_CACHE_DIR"),
                            ("link_mode", "UVNB_LINK_MODE"),
                            ("default_python", "UVNB_DEFAULT_PYTHON")):
            value = getattr(self, trait)
            if value:
                out[name] = os.path.expanduser(value) if trait.endswith("_dir") else value
        if self.offline:
            out["UVNB_OFFLINE"] = "1"
        return out

