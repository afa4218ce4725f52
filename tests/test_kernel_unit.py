"""Fast checks of the kernel plumbing: notebook discovery, settings, kernelspecs, fallback.

No kernel starts here; the real kernels are in ``test_kernel_live.py``.
"""

from __future__ import annotations

import json
import sys
from argparse import Namespace
from pathlib import Path

import pytest

from uvnb import kernelspec, launch
from uvnb.config import UvnbConfig
from uvnb.errors import SpecError

ROOT = Path(__file__).resolve().parents[1]


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{}", encoding="utf-8")
    return path


def test_find_notebook_from_session_name(tmp_path: Path) -> None:
    nb = _touch(tmp_path / "sub" / "a.ipynb")
    _touch(tmp_path / "sub" / "b.ipynb")
    cwd = tmp_path / "sub"
    assert launch.find_notebook({"JPY_SESSION_NAME": str(nb)}, "/") == str(nb)
    assert launch.find_notebook({"JPY_SESSION_NAME": "sub/a.ipynb"}, tmp_path) == str(nb)
    # jupyter_server may pass the path relative to its root while cwd is the folder.
    assert launch.find_notebook({"JPY_SESSION_NAME": "x/y/a.ipynb"}, cwd) == str(nb)
    uuid_tail = f"{nb}-0b3f2a6c-1d2e-4f5a-9b8c-7d6e5f4a3b2c"
    assert launch.find_notebook({"JPY_SESSION_NAME": uuid_tail}, "/") == str(nb)


def test_find_notebook_from_cwd_only_when_unambiguous(tmp_path: Path) -> None:
    nb = _touch(tmp_path / "only.ipynb")
    assert launch.find_notebook({}, tmp_path) == str(nb)
    assert launch.find_notebook({"JPY_SESSION_NAME": "console-1"}, tmp_path) == str(nb)
    _touch(tmp_path / "other.ipynb")
    assert launch.find_notebook({}, tmp_path) is None
    assert launch.find_notebook({}, tmp_path / "missing") is None


def test_config_traits_default_to_env_and_export(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    monkeypatch.setenv("UVNB_OFFLINE", "1")
    monkeypatch.setenv("UVNB_DEFAULT_PYTHON", "3.12")
    monkeypatch.delenv("UVNB_ENV_DIR", raising=False)
    conf = UvnbConfig(env_dir=str(tmp_path))
    assert conf.offline is True
    assert conf.env_vars() == {"UVNB_ENV_DIR": str(tmp_path), "UVNB_DEFAULT_PYTHON": "3.12",
                               "UVNB_OFFLINE": "1"}
    for name in UvnbConfig.class_trait_names(config=True):
        assert UvnbConfig.class_traits()[name].help, name


def test_provisioner_takes_kernelspec_config(monkeypatch: pytest.MonkeyPatch) -> None:
    from jupyter_client.kernelspec import KernelSpec
    from jupyter_client.provisioning.factory import KernelProvisionerFactory

    monkeypatch.delenv("UVNB_OFFLINE", raising=False)
    spec = KernelSpec(**kernelspec.kernel_json(sys.executable))
    spec.metadata["kernel_provisioner"]["config"] = {"offline": True, "link_mode": "copy"}
    factory = KernelProvisionerFactory.instance()
    assert factory.is_provisioner_available(spec)
    prov = factory.create_provisioner_instance("k1", spec, None)
    assert type(prov).__name__ == "UvnbProvisioner"
    assert prov.env_vars() == {"UVNB_LINK_MODE": "copy", "UVNB_OFFLINE": "1"}


def test_shared_data_kernelspec_matches_code() -> None:
    shipped = json.loads((ROOT / "share/jupyter/kernels/uvnb/kernel.json").read_text())
    assert shipped == kernelspec.shared_data_spec()
    assert shipped["argv"][:3] == ["python", "-m", "uvnb.kernel"]
    assert shipped["metadata"]["kernel_provisioner"]["provisioner_name"] == "uvnb-provisioner"


def test_fallback_launch_carries_the_rendered_error() -> None:
    exc = SpecError("nb.ipynb: the PEP 723 block is not valid TOML.", "fix the spec cell.")
    plan = launch.fallback(exc, "/x/nb.ipynb", {})
    assert plan.argv[:4] == [sys.executable, "-m", "uvnb.kernel", "--fallback"]
    message = plan.env["UVNB_FALLBACK_MESSAGE"]
    assert "error: nb.ipynb: the PEP 723 block is not valid TOML." in message
    assert "hint: fix the spec cell." in message
    assert plan.command("/c.json")[-1] == "/c.json"


def test_cli_kernel_install_list_uninstall(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "share" / "jupyter"))
    args = Namespace(action="install", user=False, sys_prefix=False, prefix=str(tmp_path),
                     name="python3", display_name=None, project=None, quiet=False,
                     verbose=False)
    assert kernelspec.cli_kernel(args) == 0
    spec = json.loads((tmp_path / "share/jupyter/kernels/python3/kernel.json").read_text())
    assert spec["argv"][0] == sys.executable
    assert spec["display_name"] == "Python 3 (uvnb)"
    args.action = "list"
    kernelspec.cli_kernel(args)
    assert any(line.startswith("* python3") for line in capsys.readouterr().out.splitlines())
    args.action = "uninstall"
    assert kernelspec.cli_kernel(args) == 0
    assert not (tmp_path / "share/jupyter/kernels/python3").exists()
