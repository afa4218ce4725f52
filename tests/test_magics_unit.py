"""The magics' pieces without a kernel: server-side ops, the comm format, the kernel-side helpers.

Why: the real-kernel tests (``test_magics.py``) prove the loop end to end; these pin the
contracts the loop is built from (the JSON the kernel reads, the message the JupyterLab
extension reads, "an error changes nothing") cheaply and with exact assertions.
"""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from uvnb import frontend, kernel_ops, notebook
from uvnb import lock as lock_mod
from uvnb.magics import KERNELSIDE_DIR, KERNELSIDE_MODULE, kernel_launch_extras

sys.path.insert(0, KERNELSIDE_DIR)
import uvnb_kernel_magics as kside


def ops(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str,
        state: dict[str, Any] | None = None) -> dict[str, Any]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(state or {})))
    assert kernel_ops.main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_launch_extras_name_an_importable_extension() -> None:
    argv, env, folders = kernel_launch_extras()
    assert argv == [f"--IPKernelApp.extra_extensions={KERNELSIDE_MODULE}"]
    assert env == {}
    assert os.path.exists(os.path.join(folders[0], f"{KERNELSIDE_MODULE}.py"))


def test_kernel_side_update_matches_the_documented_format() -> None:
    sent: list[dict[str, Any]] = []

    class FakeComm:
        def send(self, data: dict[str, Any]) -> None:
            sent.append(data)

    kside.STATE.comm, kside.STATE.notebook, kside.STATE.record = FakeComm(), "/x/nb.ipynb", None
    try:
        note = kside.record({"spec": "# /// script\n# ///", "lock": "version = 1\n",
                             "python": None})
    finally:
        kside.STATE.comm = None
    assert "sent to JupyterLab" in note
    update = frontend.check_update(sent[0])
    assert set(update) == set(frontend.update_message("/x", "s", None, None))
    assert update["notebook"] == "/x/nb.ipynb" and update["id"] in kside.STATE.pending
    kside._on_comm_msg({"content": {"data": frontend.ack_message(update["id"])}})
    assert not kside.STATE.pending
    assert frontend.TARGET == kside.TARGET


def test_check_update_rejects_malformed() -> None:
    with pytest.raises(ValueError, match="lacks"):
        frontend.check_update({"type": "update", "spec": "x"})
    with pytest.raises(ValueError, match="lock must be"):
        frontend.check_update({**frontend.update_message("n", "s", None, None), "lock": 3})


def test_switch_env_replaces_site_packages_in_place(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    old, new = tmp_path / "old" / "sp", tmp_path / "new" / "sp"
    new.mkdir(parents=True)
    (new / "extra.pth").write_text(str(tmp_path / "from-pth") + "\n")
    (tmp_path / "from-pth").mkdir()
    monkeypatch.setattr(sys, "path", ["/first", str(old), "/layer"])
    monkeypatch.setattr(kside.STATE, "site_packages", str(old))
    monkeypatch.setattr(kside.STATE, "env", str(tmp_path / "old"))
    monkeypatch.setenv("PATH", f"{tmp_path / 'old' / 'bin'}{os.pathsep}/usr/bin")
    kside.switch_env(str(tmp_path / "new"), str(new))
    assert sys.path == ["/first", str(new), str(tmp_path / "from-pth"), "/layer"]
    assert os.environ["PATH"].startswith(str(tmp_path / "new" / "bin"))
    assert kside.kenv.stale_packages({"json": ["json"]}, str(tmp_path / "new")) == ["json"]
    assert kside.kenv.stale_packages({"nothere": ["nothere_mod"]}, str(tmp_path / "new")) == []


def test_error_is_one_paragraph_and_changes_nothing(
        uv_env: Any, make_notebook: Any, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = make_notebook(dependencies=("alpha",))
    before = path.read_bytes()
    answer = ops(monkeypatch, capsys, "add", "no-such-package-xyz", "--notebook", str(path))
    assert answer["ok"] is False
    assert answer["error"].startswith("error: cannot add no-such-package-xyz")
    assert "Traceback" not in answer["error"]
    answer = ops(monkeypatch, capsys, "remove", "gamma", "--notebook", str(path))
    assert "gamma is not a dependency" in answer["error"]
    answer = ops(monkeypatch, capsys, "add", "epsilon", "--notebook", "")
    assert "does not know which notebook" in answer["error"]
    assert path.read_bytes() == before


def test_ops_start_from_the_kernels_state_not_the_file(
        uv_env: Any, make_notebook: Any, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = make_notebook(dependencies=("alpha",))
    before = path.read_bytes()
    first = ops(monkeypatch, capsys, "add", "delta", "--notebook", str(path))
    assert first["ok"] and first["diff"] == ["+ delta==1.2.0"]  # against alpha's implicit lock
    state = {k: first[k] for k in ("spec", "lock", "python")}
    second = ops(monkeypatch, capsys, "add", "epsilon", "--notebook", str(path), state=state)
    assert second["diff"] == ["+ epsilon==3.0.0"]
    assert '"delta' in second["spec"] and os.path.isdir(second["site_packages"])
    assert path.read_bytes() == before  # nothing but `write` touches the file

    state = {k: second[k] for k in ("spec", "lock", "python")}
    removed = ops(monkeypatch, capsys, "remove", "delta", "--notebook", str(path),
                  "--env", second["env"], state=state)
    assert removed["diff"] == ["- delta==1.2.0"]
    assert removed["changed"] == {"delta": ["delta"]}  # its import names, for "restart"

    deps = ops(monkeypatch, capsys, "deps", "--notebook", str(path), state=state)
    assert {r["name"]: (r["version"], r["direct"], r["source"]) for r in deps["rows"]} == {
        "alpha": ("2.0.0", True, "lock"), "delta": ("1.2.0", True, "lock"),
        "epsilon": ("3.0.0", True, "lock")}

    written = ops(monkeypatch, capsys, "write", "--notebook", str(path), state=state)
    assert written == {"ok": True, "written": True}
    nb = notebook.load(path)
    assert nb.spec_source == second["spec"] and nb.lock_text == second["lock"]
    assert [c.get("id") for c in nb.data["cells"]] == ["uvnb-spec", "md-1", "code-1"]
    assert nb.data["cells"][2]["outputs"] == json.loads(before)["cells"][2]["outputs"]
    lock_mod.check(nb)


def test_python_repin_and_lock_upgrade(
        uv_env: Any, make_notebook: Any, pythons: Any, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    pythons["3.13"]
    path = make_notebook(dependencies=("alpha<2",))
    answer = ops(monkeypatch, capsys, "python", "3.13", "--notebook", str(path))
    assert answer["ok"] and answer["python"] == "3.13" and answer["restart"] is True
    assert 'requires-python = ">=3.13"' in answer["spec"]
    answer = ops(monkeypatch, capsys, "python", "2.1", "--notebook", str(path))
    assert answer["ok"] is False and answer["error"].startswith("error:")
    answer = ops(monkeypatch, capsys, "lock", "--upgrade", "--notebook", str(path))
    assert answer["ok"] and answer["diff"] == ["+ alpha==1.1.0"]


def test_corrupt_notebook_write_fails_cleanly(
        make_notebook: Any, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = make_notebook()
    path.write_text('{"cells": [', encoding="utf-8")
    answer = ops(monkeypatch, capsys, "write", "--notebook", str(path),
                 state={"spec": "# /// script\n# ///", "lock": None, "python": None})
    assert answer["ok"] is False and "is not valid notebook JSON" in answer["error"]
    assert path.read_text(encoding="utf-8") == '{"cells": ['
