"""Bad input: every user mistake ends in ``error:`` + ``hint:``, exit 1, and no change.

"No change" is checked on the bytes of the notebook (and that no temp file is left next to
it); "no traceback" on stderr. Each case is what a user could really type.
"""

from __future__ import annotations

import functools
import json
import os
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from clitools import Cli, assert_user_error, hand_edit_spec, spec_source

EDITS = [
    ("add", "{nb}", "delta"),
    ("remove", "{nb}", "alpha"),
    ("lock", "{nb}"),
    ("python", "{nb}", "3.12"),
    ("stamp", "{nb}", "2024-01-31"),
]
READS = [("sync", "{nb}"), ("tree", "{nb}")]


@pytest.fixture
def cli(uv_env, tmp_path) -> Cli:
    return Cli(tmp_path)


def refused(cli: Cli, nb: Path, *args: str, needles: tuple[str, ...] = (), fast: bool = False):
    """Run a command that must fail; check the error contract and that nothing changed.

    ``fast`` runs it in-process (for failures that come before any uv call).
    """
    before = nb.read_bytes() if nb.exists() else None
    argv = [a.format(nb=nb) for a in map(str, args)]
    res = cli.inproc(*argv, expect=1) if fast else cli(*argv, expect=1)
    assert_user_error(res, *needles)
    assert (nb.read_bytes() if nb.exists() else None) == before
    assert not [p for p in os.listdir(nb.parent) if p.startswith(".uvnb-")]
    return res


@pytest.fixture
def nb(make_notebook) -> Path:
    """A notebook with a spec and no lock: enough where uvnb must fail before uv runs."""
    return make_notebook(dependencies=("alpha",))


@pytest.fixture
def locked_nb(cli, make_notebook) -> Path:
    nb = make_notebook(dependencies=("alpha",))
    cli("lock", nb)
    return nb


def test_unknown_package(cli, locked_nb):
    refused(cli, locked_nb, "add", locked_nb, "nosuchpkg", needles=("nosuchpkg",))


def test_version_conflict(cli, make_notebook):
    nb = make_notebook(dependencies=())
    cli("lock", nb)
    refused(cli, nb, "add", nb, "conflict-a", "conflict-b", needles=("conflict-",))


@pytest.mark.parametrize("requirement", ["alpha>=", "alpha[", "!!bad", "alpha==1.0 beta"])
def test_malformed_requirement(cli, locked_nb, requirement):
    refused(cli, locked_nb, "add", locked_nb, requirement,
            needles=(requirement, "not a valid requirement"), fast=True)


def test_missing_python_on_repin(cli, locked_nb):
    res = refused(cli, locked_nb, "python", locked_nb, "3.99", needles=("3.99",))
    assert "uvnb python NOTEBOOK 3." in res.err  # the hint names a Python this machine has


def test_missing_python_on_init(cli, tmp_path, make_notebook):
    refused(cli, tmp_path / "new.ipynb", "init", "{nb}", "--python", "3.99", needles=("3.99",))
    plain = make_notebook(spec=False)
    refused(cli, plain, "init", plain, "--python", "3.99", needles=("3.99",))


@pytest.fixture
def http_index(uv_env, tmp_path, monkeypatch):
    """The wheel index over HTTP (``file://`` works offline), with an empty uv cache."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(uv_env.index.path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    config = tmp_path / "http-uv.toml"
    config.write_text(f'[[index]]\nurl = "http://127.0.0.1:{server.server_port}/simple"\n'
                      "default = true\n")
    monkeypatch.setenv("UV_CONFIG_FILE", str(config))
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "cold-cache"))
    yield
    server.shutdown()
    server.server_close()


def test_offline_with_a_cold_cache(cli, make_notebook, http_index):
    nb = make_notebook(dependencies=())
    refused(cli, nb, "add", "--offline", nb, "delta", needles=("delta", "cache"))
    assert "+ delta==1.2.0" in cli("add", nb, "delta").out  # online, the same add works


def _corrupt(nb: Path) -> None:
    nb.write_text('{"cells": [\n  {"cell_type": "code",\n', encoding="utf-8")


def _bad_toml(nb: Path) -> None:
    hand_edit_spec(nb, '# /// script\n# dependencies = ["alpha"\n# requires-python =\n# ///')


def _nbformat3(nb: Path) -> None:
    nb.write_text(json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {},
                              "worksheets": [{"cells": []}]}), encoding="utf-8")


@pytest.mark.parametrize("args", [*EDITS, *READS, ("init", "{nb}")], ids=lambda a: a[0])
@pytest.mark.parametrize("spoil, needle", [
    (_corrupt, "not valid notebook JSON"),
    (_bad_toml, "not valid TOML"),
    (_nbformat3, "nbformat 3"),
], ids=["corrupt-json", "bad-pep723", "nbformat3"])
def test_unusable_notebook(cli, nb, spoil, needle, args):
    if args[0] == "init" and spoil is _bad_toml:
        needle = "already has an environment spec"
    spoil(nb)
    refused(cli, nb, *args, needles=(needle,), fast=True)


@pytest.mark.parametrize("args", EDITS, ids=lambda a: a[0])
def test_read_only_notebook(cli, nb, args):
    nb.chmod(0o444)
    refused(cli, nb, *args, needles=("read-only", "chmod u+w"), fast=True)


def test_read_only_notebook_still_syncs(cli, locked_nb):
    locked_nb.chmod(0o444)
    assert "built" in cli("sync", locked_nb).out


def test_read_only_notebook_whose_spec_needs_a_new_lock(cli, locked_nb):
    hand_edit_spec(locked_nb, spec_source(locked_nb).replace('"alpha",', '"alpha", "delta",'))
    locked_nb.chmod(0o444)
    envs_before = sorted(p.name for p in Path(os.environ["UVNB_ENV_DIR"]).glob("[!.]*"))
    refused(cli, locked_nb, "sync", locked_nb, needles=("read-only",))
    # Nothing was built for a lock that could not be recorded.
    assert sorted(p.name for p in Path(os.environ["UVNB_ENV_DIR"]).glob("[!.]*")) == envs_before


@pytest.mark.parametrize("args", [*EDITS, *READS], ids=lambda a: a[0])
def test_missing_notebook(cli, tmp_path, args):
    refused(cli, tmp_path / "nope.ipynb", *args, needles=("does not exist", "uvnb init"),
            fast=True)


def test_remove_a_name_that_is_not_a_dependency(cli, locked_nb):
    refused(cli, locked_nb, "remove", locked_nb, "beta",
            needles=("beta is not a dependency", "alpha"))


def test_init_refuses_a_notebook_that_has_a_spec(cli, locked_nb):
    refused(cli, locked_nb, "init", locked_nb, needles=("already has an environment spec",))


def test_add_without_packages(cli, locked_nb):
    refused(cli, locked_nb, "add", locked_nb, needles=("nothing to add",))


def test_stamp_with_a_bad_date(cli, locked_nb):
    refused(cli, locked_nb, "stamp", locked_nb, "last tuesday", needles=("last tuesday",))


def test_lock_check_reports_an_unreadable_notebook(cli, locked_nb, tmp_path):
    other = tmp_path / "broken.ipynb"
    _corrupt(other)
    res = cli("lock", "--check", locked_nb, other, expect=1)
    [line] = res.out.splitlines()
    assert line.startswith(f"{other} is not valid notebook JSON")
    assert line.count("broken.ipynb") == 1
    assert "Traceback" not in res.err
