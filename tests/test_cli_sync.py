"""``uvnb sync / envs / gc / tree``: the env store as a user sees it.

An env is built from the notebook's lock, exactly (nothing more, nothing less), on the
pinned interpreter; an unchanged notebook syncs without starting uv; identical locks share
one env; ``gc`` removes envs no existing notebook uses; a failed build leaves nothing behind.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from clitools import (
    ENV_LINE,
    Cli,
    assert_user_error,
    env_run,
    hand_edit_spec,
    installed,
    locked,
    spec_source,
    synced_env,
)

#: A uv that always fails: any uv call under it shows up as an error.
NO_UV = {"UVNB_UV": "/bin/false"}


@pytest.fixture
def cli(uv_env, tmp_path) -> Cli:
    return Cli(tmp_path)


def test_sync_builds_the_locked_env_in_the_store(cli, make_notebook, uv_env):
    nb = make_notebook(dependencies=("beta",))
    cli("lock", nb)
    res = cli("sync", nb)
    assert "built" in res.out
    assert "+ alpha==2.0.0" in res.out and "+ beta==2.0.0" in res.out
    env = synced_env(res)
    assert env.parent == uv_env.env_dir
    version = ENV_LINE.search(res.out)["version"]
    assert env_run(env, "import platform, alpha, beta; print(platform.python_version(), "
                        "alpha.__version__, beta.__version__)") == f"{version} 2.0.0 2.0.0"
    assert installed(env) == locked(nb)


def test_sync_on_the_pinned_python(cli, tmp_path, pythons):
    pythons["3.13"]
    nb = tmp_path / "p313.ipynb"
    cli("init", nb, "--python", "3.13")
    cli("add", nb, "alpha")
    res = cli("sync", nb)
    assert "(Python 3.13." in res.out
    assert env_run(synced_env(res), "import sys; print(sys.version_info[:2])") == "(3, 13)"


def test_second_sync_is_up_to_date_without_starting_uv(cli, make_notebook):
    nb = make_notebook()
    cli("lock", nb)
    env = synced_env(cli("sync", nb))
    before = nb.read_bytes()
    again = cli("sync", nb, env=NO_UV)
    assert "up to date" in again.out and synced_env(again) == env
    assert nb.read_bytes() == before
    # The probe works: a sync that does need uv fails under the fake one.
    hand_edit_spec(nb, spec_source(nb).replace('"alpha",', '"alpha", "delta",'))
    assert cli("sync", nb, env=NO_UV, expect=1).err.startswith("error:")


def test_sync_locks_a_spec_edited_by_hand(cli, make_notebook):
    nb = make_notebook()
    cli("lock", nb)
    cli("sync", nb)
    hand_edit_spec(nb, spec_source(nb).replace('"alpha",', '"alpha", "delta",'))
    res = cli("sync", nb)
    assert "Locked" in res.out and "built" in res.out
    assert locked(nb) == {"alpha": "2.0.0", "delta": "1.2.0"}
    assert installed(synced_env(res)) == locked(nb)
    cli("lock", "--check", nb)


def test_env_is_exactly_the_lock_after_a_remove(cli, make_notebook, uv_env):
    nb = make_notebook(dependencies=("alpha", "gamma"))
    cli("lock", nb)
    first = synced_env(cli("sync", nb))
    assert set(installed(first)) == {"alpha", "beta", "gamma", "delta"}
    cli("remove", nb, "gamma")
    second = synced_env(cli("sync", nb))
    assert installed(second) == {"alpha": "2.0.0"}
    env_run(second, "import importlib.util as u; assert u.find_spec('beta') is None")


def test_identical_locks_share_one_env(cli, make_notebook, uv_env):
    one = make_notebook("one.ipynb", dependencies=("beta",))
    two = make_notebook("two.ipynb", dependencies=("beta",))
    cli("lock", one, two)
    assert synced_env(cli("sync", one)) == synced_env(cli("sync", two))
    assert "up to date" in cli("sync", two).out
    lines = cli("envs").out.splitlines()
    rows = [ln for ln in lines if "notebook(s)" in ln]
    assert len(rows) == 1 and "2 notebook(s)" in rows[0]
    assert f"    {one}" in lines and f"    {two}" in lines
    assert len([p for p in os.listdir(uv_env.env_dir) if not p.startswith(".")]) == 1


def test_gc_removes_only_envs_no_notebook_uses(cli, make_notebook):
    kept = make_notebook("kept.ipynb", dependencies=("alpha",))
    gone = make_notebook("gone.ipynb", dependencies=("delta",))
    moved = make_notebook("moved.ipynb", dependencies=("epsilon",))
    cli("lock", kept, gone, moved)
    kept_env, gone_env = synced_env(cli("sync", kept)), synced_env(cli("sync", gone))
    old_env = synced_env(cli("sync", moved))
    cli("add", moved, "alpha")  # its new lock needs a new env; the old one is unused
    new_env = synced_env(cli("sync", moved))
    gone.unlink()
    dry = cli("gc", "--dry-run")
    assert "would remove 2 env(s)" in dry.out and gone_env.exists() and old_env.exists()
    res = cli("gc")
    assert f"removed env {gone_env.name}" in res.out
    assert f"removed env {old_env.name}" in res.out
    assert not gone_env.exists() and not old_env.exists()
    assert kept_env.exists() and new_env.exists()
    assert "up to date" in cli("sync", kept, env=NO_UV).out
    assert "removed 0 env(s)" in cli("gc").out


def test_gc_keeps_the_env_of_a_running_kernel(cli, make_notebook):
    nb = make_notebook("running.ipynb", dependencies=("alpha",))
    env = synced_env(cli("sync", nb))
    # A kernel runs as `<env>/bin/python …`; its notebook may be deleted while it runs.
    kernel = subprocess.Popen([str(env / "bin" / "python"), "-c", "import time; time.sleep(60)"])
    try:
        nb.unlink()
        assert "removed 0 env(s)" in cli("gc").out and env.exists()
    finally:
        kernel.kill()
        kernel.wait()
    assert f"removed env {env.name}" in cli("gc").out and not env.exists()


def test_failed_build_leaves_no_half_env(cli, make_notebook, fresh_index, uv_env):
    nb = make_notebook(dependencies=("alpha",))
    cli("lock", nb)
    good = synced_env(cli("sync", nb))
    wheel = fresh_index.publish("omega", "1.0.0")
    cli("add", nb, "omega")
    wheel.unlink()  # the lock now names a file the index lost
    before = nb.read_bytes()
    assert_user_error(cli("sync", nb, expect=1), "omega", "-v")
    envs = [p for p in os.listdir(uv_env.env_dir) if not p.startswith(".")]
    assert envs == [good.name]
    assert nb.read_bytes() == before
    assert env_run(good, "import alpha; print(alpha.__version__)") == "2.0.0"


def test_sync_of_a_notebook_without_spec_says_what_to_do(cli, make_notebook):
    nb = make_notebook(spec=False)
    assert_user_error(cli("sync", nb, expect=1), "no environment spec", "uvnb init")


def test_tree_shows_the_locked_tree(cli, make_notebook):
    nb = make_notebook(dependencies=("gamma",))
    cli("lock", nb)
    lines = cli("tree", nb).out.splitlines()
    assert lines[0] == "gamma v0.1.0"
    assert {"├── beta v2.0.0", "│   └── alpha v2.0.0", "└── delta v1.2.0"} <= set(lines)
    assert cli("tree", "--depth", "1", nb).out.splitlines() == [
        "gamma v0.1.0", "├── beta v2.0.0", "└── delta v1.2.0"]


def test_tree_shows_the_lock_not_the_newest_release(cli, make_notebook, fresh_index):
    nb = make_notebook(dependencies=("alpha",))
    cli("lock", nb)
    fresh_index.publish("alpha", "9.0.0")
    assert cli("tree", nb).out.splitlines() == ["alpha v2.0.0"]


def test_envs_on_an_empty_store(cli, uv_env):
    shutil.rmtree(uv_env.env_dir)
    assert "no envs in" in cli("envs").out
