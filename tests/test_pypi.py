""""did you mean" for unknown package names (``uvnb/pypi.py``).

The CLI cases run real uv against the hermetic ``file://`` index and hold the same contract
as every bad input (``refused``: exit 1, error + hint, no traceback, bytes unchanged). The
HTTP paths (small listing, probing, the time budget) use a local server; only the last test
asks the real PyPI, and skips itself when PyPI cannot be reached.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from clitools import Cli
from test_cli_errors import refused

from uvnb import pypi

NO_MATCH_HINT = "loosen or change the requirement"


@pytest.fixture
def cli(uv_env, tmp_path) -> Cli:
    return Cli(tmp_path)


@pytest.fixture
def nb(make_notebook) -> Path:
    return make_notebook(dependencies=("alpha",))


# -- through the CLI, against the local file:// index ---------------------------------------


def test_a_typo_suggests_the_listed_name(cli, nb):
    refused(cli, nb, "add", nb, "alpah", needles=("alpah", "hint: did you mean `alpha`?"))


def test_a_typo_offline_is_not_blamed_on_the_cache(cli, nb):
    refused(cli, nb, "add", "--offline", nb, "bta", needles=("did you mean `beta`?",))


@pytest.mark.parametrize("offline", [False, True], ids=["online", "offline"])
def test_an_import_name_suggests_its_distribution(cli, nb, offline):
    flags = ["--offline"] if offline else []
    refused(cli, nb, "add", *flags, nb, "sklearn",
            needles=("hint: did you mean `scikit-learn`? (`sklearn` is its import name)",))


def test_the_alias_map_needs_no_index(cli, make_notebook, tmp_path, monkeypatch):
    """Offline with an HTTP index nobody serves: only the map can answer, and it does."""
    nb = make_notebook(dependencies=())
    config = tmp_path / "dead-uv.toml"
    config.write_text('[[index]]\nurl = "http://127.0.0.1:9/simple"\ndefault = true\n')
    monkeypatch.setenv("UV_CONFIG_FILE", str(config))
    started = time.monotonic()
    refused(cli, nb, "add", "--offline", nb, "cv2", needles=("did you mean `opencv-python`?",))
    assert time.monotonic() - started < 10


def test_no_close_name_keeps_the_plain_hint(cli, nb):
    res = refused(cli, nb, "add", nb, "zqxwvk", needles=("zqxwvk", NO_MATCH_HINT))
    assert "did you mean" not in res.err


def test_a_cold_cache_keeps_the_cache_hint(cli, make_notebook, tmp_path, monkeypatch):
    """Offline against an HTTP index, a real name missing from the cache is not a typo."""
    config = tmp_path / "dead-uv.toml"
    config.write_text('[[index]]\nurl = "http://127.0.0.1:9/simple"\ndefault = true\n')
    monkeypatch.setenv("UV_CONFIG_FILE", str(config))
    nb = make_notebook(dependencies=())
    res = refused(cli, nb, "add", "--offline", nb, "delta", needles=("delta", "cache"))
    assert "did you mean" not in res.err


def test_a_successful_add_never_loads_the_index_client(uv_env, nb):
    """The error path only: a working ``uvnb add`` must not pay for httpx or this module."""
    code = ("import sys; from uvnb import cli; code = cli.main(['add', sys.argv[1], 'delta']); "
            "print(code, 'httpx' in sys.modules, 'uvnb.pypi' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(nb)], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert out.splitlines()[-1] == "0 False False"


# -- the pieces -----------------------------------------------------------------------------

UV_STDERR = (
    "error: Failed to add dependencies\n  cause: No solution found when resolving dependencies\n"
    "  cause: Because alpah was not found in the package registry and you require\n"
    "         alpah>=1, we can conclude that your requirements are unsatisfiable.\n"
)


def test_unknown_names_survive_wrapped_lines():
    assert pypi.unknown_names(UV_STDERR) == ["alpah"]
    wrapped = "Because Foo.Bar[x] was not found in\n  the cache and bta was not found in the cache"
    assert pypi.unknown_names(wrapped) == ["Foo.Bar", "bta"]
    assert pypi.unknown_names("Because only alpha<=2.0.0 is available") == []


@pytest.mark.parametrize("typed, meant", [
    ("reqests", "requests"),  # missing vowel
    ("reqeusts", "requests"),  # transposed
    ("request", "requests"),  # plural
    ("numpyy", "numpy"),  # doubled
    ("python-dateutil", "dateutil"),  # prefix
    ("dateutil", "python-dateutil"),
    ("Pandas_", "pandas"),  # normalized first
])
def test_candidates_hold_the_meant_name(typed, meant):
    found = pypi.candidates(typed)
    assert meant in found
    assert pypi.normalize(typed) not in found
    assert len(found) <= pypi.MAX_PROBES


def test_listing_parsing_html_and_json():
    html = '<html><body>\n<a href="alpha/">alpha</a><br/><A HREF="/simple/Foo-Bar/"> Foo-Bar </A>'
    assert pypi.parse_listing(html) == ["alpha", "Foo-Bar"]
    body = json.dumps({"meta": {"api-version": "1.1"}, "projects": [{"name": "alpha"}]})
    assert pypi.parse_listing(body, pypi.JSON_ACCEPT) == ["alpha"]
    assert pypi.parse_listing("not json", pypi.JSON_ACCEPT) == []


def test_index_url_follows_uv(tmp_path):
    config = tmp_path / "uv.toml"
    config.write_text('[[index]]\nurl = "https://a.example/simple"\n\n'
                      '[[index]]\nurl = "https://b.example/simple/"\ndefault = true\n')
    assert pypi.index_url({}) == pypi.PYPI
    assert pypi.index_url({"UV_CONFIG_FILE": str(config)}) == "https://b.example/simple"
    assert pypi.index_url({"UV_CONFIG_FILE": str(config),
                           "UV_INDEX_URL": "https://c.example/simple"}).startswith("https://c")
    assert pypi.index_url({"UV_INDEX_URL": "https://c.example/simple",
                           "UV_DEFAULT_INDEX": str(tmp_path)}) == tmp_path.as_uri()
    assert pypi.index_url({"UV_CONFIG_FILE": str(tmp_path / "missing.toml")}) == pypi.PYPI


def test_suggestions_from_a_file_index(wheel_index):
    assert pypi.suggest("alpah", index=wheel_index.url, offline=True) == ["alpha"]
    assert pypi.suggest("alpha", index=wheel_index.url) == []  # it exists: no advice
    assert pypi.suggest("conflictb", index=wheel_index.url)[0] == "conflict-b"
    assert pypi.suggest("sklearn", index=wheel_index.url, offline=True) == ["scikit-learn"]


# -- over HTTP ------------------------------------------------------------------------------


@pytest.fixture
def served(wheel_index) -> Iterator[tuple[str, list[float]]]:
    """The wheel index over HTTP; the returned list sets a per-request delay in seconds."""
    delay = [0.0]

    class Handler(SimpleHTTPRequestHandler):
        def do_GET(self) -> None:
            time.sleep(delay[0])
            super().do_GET()

        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Handler, directory=str(wheel_index.path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/simple", delay
    server.shutdown()
    server.server_close()


def test_a_small_remote_listing_is_ranked(served):
    url, _ = served
    assert pypi.suggest("epsilom", index=url) == ["epsilon"]


def test_a_large_remote_listing_falls_back_to_probing(served, monkeypatch):
    url, _ = served
    monkeypatch.setattr(pypi, "MAX_LISTING_BYTES", 10)
    assert pypi.suggest("gamam", index=url) == ["gamma"]
    assert pypi.suggest("gamam", index=url, offline=True) == []


def test_a_slow_index_gives_up_within_the_budget(served):
    url, delay = served
    delay[0] = 5.0
    started = time.monotonic()
    assert pypi.suggest("gamam", index=url, budget=0.5) == []
    assert time.monotonic() - started < 2


# -- the real PyPI --------------------------------------------------------------------------


@functools.cache
def _pypi_reachable() -> bool:
    import httpx

    try:
        return httpx.get(f"{pypi.PYPI}/pip/", timeout=3).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.network
def test_pypi_probing_finds_a_misspelled_project():
    if not _pypi_reachable():
        pytest.skip("PyPI is not reachable")
    started = time.monotonic()
    assert pypi.suggest("reqests", index=pypi.PYPI)[0] == "requests"
    assert time.monotonic() - started < pypi.BUDGET + 1
