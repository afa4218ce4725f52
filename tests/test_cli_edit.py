"""``uvnb init / add / remove / lock / python / stamp``: what they write into the notebook.

The notebook must come out in juv's format (hidden first code cell with the PEP 723 block,
no trailing newline; uv's lockfile text under metadata ``"uv.lock"``), with every other cell,
output and metadata key exactly as before.
"""

from __future__ import annotations

import json

import pytest
from clitools import (
    Cli,
    env_run,
    hand_edit_spec,
    load,
    lock_of,
    locked,
    other_cells,
    spec_cell,
    spec_source,
    synced_env,
)


@pytest.fixture
def cli(uv_env, tmp_path) -> Cli:
    return Cli(tmp_path)


def test_init_creates_a_notebook_with_an_empty_locked_spec(cli, tmp_path):
    nb = tmp_path / "new.ipynb"
    res = cli("init", nb)
    assert "Initialized" in res.out
    data = load(nb)
    assert data["nbformat"] == 4
    first = data["cells"][0]
    assert first["cell_type"] == "code"
    assert first["metadata"]["jupyter"]["source_hidden"] is True
    source = "".join(first["source"])
    assert source.startswith("# /// script\n") and source.endswith("# ///")
    assert "dependencies = []" in source
    assert lock_of(nb)["requires-python"].startswith(">=3.")
    assert locked(nb) == {}


def test_init_existing_notebook_keeps_every_cell_and_output(cli, make_notebook):
    nb = make_notebook(spec=False)
    before = load(nb)
    cli("init", nb)
    after = load(nb)
    assert json.dumps(after["cells"][1:], sort_keys=True) == \
        json.dumps(before["cells"], sort_keys=True)
    assert "".join(after["cells"][2]["outputs"][0]["text"]) == "alpha 2.0.0\n"
    assert after["metadata"]["kernelspec"] == before["metadata"]["kernelspec"]
    assert "# /// script" in "".join(after["cells"][0]["source"])


def test_init_python_312_pins_and_later_steps_use_it(cli, tmp_path, pythons):
    pythons["3.12"]  # skips without a 3.12 on this machine
    nb = tmp_path / "pinned.ipynb"
    assert "Python 3.12." in cli("init", nb, "--python", "3.12").out
    assert load(nb)["metadata"]["uvnb"]["python"] == "3.12"
    assert 'requires-python = ">=3.12"' in spec_source(nb)
    assert lock_of(nb)["requires-python"] == ">=3.12"
    cli("add", nb, "zeta")  # zeta needs Python >= 3.12
    env = synced_env(cli("sync", nb))
    assert env_run(env, "import sys, zeta; print(sys.version_info[:2], zeta.__version__)") \
        == "(3, 12) 1.0.0"


def test_add_writes_juv_format_and_leaves_the_rest_alone(cli, make_notebook):
    nb = make_notebook(dependencies=())
    cli("lock", nb)
    before_cells, before_meta = other_cells(nb), load(nb)["metadata"]
    res = cli("add", nb, "alpha", "beta")
    assert "  + alpha==2.0.0" in res.out.splitlines()
    assert "  + beta==2.0.0" in res.out.splitlines()
    data = load(nb)
    cell = spec_cell(data)
    assert data["cells"][0] is cell and cell["metadata"]["jupyter"]["source_hidden"]
    assert spec_source(nb) == (
        '# /// script\n# requires-python = ">=3.11"\n# dependencies = [\n'
        '#     "alpha>=2.0.0",\n#     "beta>=2.0.0",\n# ]\n# ///')
    assert locked(nb) == {"alpha": "2.0.0", "beta": "2.0.0"}
    assert other_cells(nb) == before_cells
    meta = data["metadata"]
    assert {k: v for k, v in meta.items() if k != "uv.lock"} == \
        {k: v for k, v in before_meta.items() if k != "uv.lock"}


def test_add_to_a_notebook_without_a_lock_locks_it(cli, make_notebook):
    nb = make_notebook(dependencies=("alpha",))
    res = cli("add", nb, "delta")
    assert "  + delta==1.2.0" in res.out.splitlines()
    assert locked(nb) == {"alpha": "2.0.0", "delta": "1.2.0"}
    cli("lock", "--check", nb)


def test_add_keeps_comments_in_the_spec_block(cli, make_notebook):
    nb = make_notebook()
    hand_edit_spec(nb, '# /// script\n# requires-python = ">=3.11"\n# # course data stack\n'
                       '# dependencies = [\n#     "alpha",  # the core\n# ]\n# ///')
    cli("add", nb, "delta")
    source = spec_source(nb)
    assert "# # course data stack\n" in source
    assert '#     "alpha",  # the core\n' in source
    assert '"delta>=1.2.0"' in source


def test_add_upgrade_takes_a_newly_published_release(cli, make_notebook, fresh_index):
    nb = make_notebook(dependencies=("alpha",))
    cli("lock", nb)
    fresh_index.publish("alpha", "2.1.0")
    cli("add", nb, "delta")
    assert locked(nb)["alpha"] == "2.0.0"  # no upgrade unless asked
    res = cli("add", "--upgrade", nb, "alpha")
    assert "  ~ alpha 2.0.0 → 2.1.0" in res.out.splitlines()
    assert locked(nb)["alpha"] == "2.1.0"


def test_add_from_requirements_file(cli, make_notebook, tmp_path):
    nb = make_notebook(dependencies=())
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("# the old stack\nbeta<2\ndelta\n")
    cli("add", nb, "-r", reqs)
    source = spec_source(nb)
    assert '"beta<2"' in source and '"delta' in source
    assert locked(nb) == {"alpha": "2.0.0", "beta": "1.0.0", "delta": "1.2.0"}


def test_add_pin_records_the_exact_version(cli, make_notebook):
    nb = make_notebook(dependencies=())
    cli("add", "--pin", nb, "delta")
    assert '"delta==1.2.0"' in spec_source(nb)
    assert locked(nb) == {"delta": "1.2.0"}


def test_remove_prints_what_left_the_lock(cli, make_notebook):
    nb = make_notebook(dependencies=("alpha", "gamma"))
    cli("lock", nb)
    res = cli("remove", nb, "gamma")
    lines = res.out.splitlines()
    assert {"  - gamma==0.1.0", "  - beta==2.0.0", "  - delta==1.2.0"} <= set(lines)
    assert not any(line.startswith("  + ") for line in lines)
    assert "gamma" not in spec_source(nb)
    assert locked(nb) == {"alpha": "2.0.0"}


def test_lock_upgrade_package_moves_only_that_package(cli, make_notebook, fresh_index):
    nb = make_notebook(dependencies=("alpha", "delta"))
    cli("lock", nb)
    fresh_index.publish("alpha", "2.1.0")
    fresh_index.publish("delta", "1.3.0")
    assert "no change" in cli("lock", nb).out
    res = cli("lock", "--upgrade-package", "alpha", nb)
    assert res.out.splitlines()[1:] == ["  ~ alpha 2.0.0 → 2.1.0"]
    assert locked(nb) == {"alpha": "2.1.0", "delta": "1.2.0"}
    cli("lock", "--upgrade", nb)
    assert locked(nb)["delta"] == "1.3.0"


def test_lock_check_over_a_folder(cli, make_notebook, tmp_path):
    current = make_notebook("nbs/current.ipynb", dependencies=("alpha",))
    stale = make_notebook("nbs/stale.ipynb", dependencies=("alpha",))
    make_notebook("nbs/unlocked.ipynb", dependencies=("beta",))
    make_notebook("nbs/plain.ipynb", spec=False)
    cli("lock", current, stale)
    ok = cli("lock", "--check", current, tmp_path / "nbs/plain.ipynb")
    assert "every lock is current" in ok.out
    edited = spec_source(stale).replace('"alpha",', '"alpha", "delta",')
    assert edited != spec_source(stale)
    hand_edit_spec(stale, edited)
    files = sorted((tmp_path / "nbs").glob("*.ipynb"))
    before = {p: p.read_bytes() for p in files}
    res = cli("lock", "--check", *files, expect=1)
    lines = res.out.splitlines()
    assert len(lines) == 2, res.out
    assert any("stale.ipynb" in ln for ln in lines)
    assert any("unlocked.ipynb" in ln for ln in lines)
    assert "hint:" in res.err
    assert {p: p.read_bytes() for p in files} == before


def test_python_repin_relocks_for_the_new_python(cli, tmp_path, pythons):
    pythons["3.11"], pythons["3.12"]
    nb = tmp_path / "repin.ipynb"
    cli("init", nb, "--python", "3.11")
    cli("add", nb, "alpha")
    assert lock_of(nb)["requires-python"] == ">=3.11"
    cli("add", nb, "zeta", expect=1)  # zeta needs 3.12
    res = cli("python", nb, "3.12")
    assert "Pinned Python 3.12" in res.out
    assert load(nb)["metadata"]["uvnb"]["python"] == "3.12"
    assert 'requires-python = ">=3.12"' in spec_source(nb)
    assert lock_of(nb)["requires-python"] == ">=3.12"
    cli("add", nb, "zeta")
    env = synced_env(cli("sync", nb))
    assert env_run(env, "import sys; print(sys.version_info[:2])") == "(3, 12)"


def test_stamp_sets_exclude_newer_and_relocks_older(cli, make_notebook):
    nb = make_notebook(dependencies=("beta",))
    cli("lock", nb)
    assert locked(nb) == {"alpha": "2.0.0", "beta": "2.0.0"}
    res = cli("stamp", nb, "2024-01-31")
    assert {"  ~ alpha 2.0.0 → 1.1.0", "  ~ beta 2.0.0 → 1.0.0"} <= set(res.out.splitlines())
    assert spec_source(nb).endswith(
        '#\n# [tool.uv]\n# exclude-newer = "2024-02-01T00:00:00Z"\n# ///')
    assert locked(nb) == {"alpha": "1.1.0", "beta": "1.0.0"}
    cli("lock", "--check", nb)
    cli("stamp", "--clear", nb)
    assert "exclude-newer" not in spec_source(nb)
