"""Shared fixtures: a hermetic package index, an isolated uv environment, real Pythons.

Why: every test that drives uv must be fast, offline and unable to touch the developer's
real state (``~/.cache/uv``, the uvnb env store, PyPI). The index is built once per
session from hand-written wheels (see ``tests/wheelhouse.py``); one uv cache is shared by
the whole session so repeated resolutions stay warm; everything a test may mutate
(env store, state dir, a publishable index) is per test.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
import uv
import wheelhouse
from nbformat import v4


@dataclass
class WheelIndex:
    """A local index on disk; uv finds it through ``config_file`` (see ``uv_env``)."""

    path: Path
    mutable: bool = False

    @property
    def url(self) -> str:
        """``file://…/simple``: the PEP 503 pages, which uv reads without a server.

        Passing it as ``--default-index`` also works, but ``uv add`` then writes it into the
        spec as ``[[tool.uv.index]]``; prefer the ambient ``UV_CONFIG_FILE`` of ``uv_env``.
        """
        return wheelhouse.simple_url(self.path)

    @property
    def config_file(self) -> Path:
        """``uv.toml`` declaring ``url`` the default index: the value of ``UV_CONFIG_FILE``."""
        return self.path / "uv.toml"

    @property
    def find_links(self) -> Path:
        """The flat wheel directory, for ``--no-index --find-links``."""
        return self.path / "files"

    def publish(
        self,
        name: str,
        version: str,
        requires: Sequence[str] = (),
        requires_python: str | None = None,
    ) -> Path:
        """Add a release; visible to the next uv call (no ``--refresh`` needed)."""
        if not self.mutable:
            raise RuntimeError(
                "the session wheel_index is shared by all tests; request `fresh_index` "
                "to publish into a per-test copy"
            )
        return wheelhouse.publish(self.path, name, version, requires, requires_python)


@dataclass
class UvEnv:
    """What ``uv_env`` set up; the settings themselves live in the patched ``os.environ``."""

    index: WheelIndex
    cache_dir: Path
    env_dir: Path
    state_dir: Path
    uv_bin: str

    def run(
        self,
        *args: str | os.PathLike[str],
        check: bool = True,
        cwd: Path | None = None,
        input_text: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``uv *args`` in the patched environ; ``check`` asserts success with stderr."""
        proc = subprocess.run(
            [self.uv_bin, *map(str, args)],
            cwd=cwd,
            input=input_text,
            capture_output=True,
            text=True,
            check=False,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"uv {' '.join(map(str, args))} failed:\n{proc.stderr}")
        return proc


class Pythons(dict[str, str]):
    """minor version -> real interpreter path; a missing version skips the test."""

    def __missing__(self, minor: str) -> str:
        pytest.skip(f"needs a real Python {minor} under ~/.pyenv/versions (have {sorted(self)})")


#: Variables that could point uv at another index, env or config; cleared for hermeticity.
_CLEARED = (
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "UV_INDEX",
    "UV_DEFAULT_INDEX",
    "UV_INDEX_URL",
    "UV_EXTRA_INDEX_URL",
    "UV_FIND_LINKS",
    "UV_NO_INDEX",
    "UV_OFFLINE",
    "UV_PYTHON",
    "UV_PROJECT_ENVIRONMENT",
    "UV_EXCLUDE_NEWER",
    "UV_NO_CONFIG",
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_FIND_LINKS",
)


@pytest.fixture(scope="session")
def wheel_index(tmp_path_factory: pytest.TempPathFactory) -> WheelIndex:
    """The package set of ``wheelhouse.DEFAULT_PACKAGES``, built once, read-only."""
    return WheelIndex(wheelhouse.build_index(tmp_path_factory.mktemp("wheel-index")))


@pytest.fixture
def fresh_index(
    wheel_index: WheelIndex, uv_env: UvEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> WheelIndex:
    """A per-test copy of the index that accepts ``publish``; ``uv_env`` is re-pointed to it."""
    index = WheelIndex(Path(shutil.copytree(wheel_index.path, tmp_path / "index")), mutable=True)
    wheelhouse.write_uv_config(index.path)  # the copy must name its own URL
    monkeypatch.setenv("UV_CONFIG_FILE", str(index.config_file))
    uv_env.index = index
    return index


@pytest.fixture(scope="session")
def uv_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One uv cache for the session: warm across tests, never ``~/.cache/uv``."""
    return tmp_path_factory.mktemp("uv-cache")


@pytest.fixture
def uv_env(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
    wheel_index: WheelIndex,
    uv_cache_dir: Path,
) -> UvEnv:
    """Make every uv call in this test (and uvnb's) use only the local index.

    Sets ``UV_CONFIG_FILE`` to the index's ``uv.toml`` (the local index replaces PyPI, and
    unlike ``UV_DEFAULT_INDEX`` it is never persisted into specs by ``uv add``; it also
    hides any user-level uv.toml), ``UV_CACHE_DIR``, per-test ``UVNB_ENV_DIR`` /
    ``UVNB_STATE_DIR``, ``UV_PYTHON_DOWNLOADS=never``; unsets ``VIRTUAL_ENV`` and other
    index/env selectors so the outer dev venv cannot leak in.
    """
    for name in _CLEARED:
        monkeypatch.delenv(name, raising=False)
    env_dir = tmp_path_factory.mktemp("uvnb-envs")
    state_dir = tmp_path_factory.mktemp("uvnb-state")
    monkeypatch.setenv("UV_CONFIG_FILE", str(wheel_index.config_file))
    monkeypatch.setenv("UV_CACHE_DIR", str(uv_cache_dir))
    monkeypatch.setenv("UV_PYTHON_DOWNLOADS", "never")
    monkeypatch.setenv("UV_NO_PROGRESS", "1")
    monkeypatch.setenv("UVNB_ENV_DIR", str(env_dir))
    monkeypatch.setenv("UVNB_STATE_DIR", str(state_dir))
    return UvEnv(
        index=wheel_index,
        cache_dir=uv_cache_dir,
        env_dir=env_dir,
        state_dir=state_dir,
        uv_bin=uv.find_uv_bin(),  # the PyPI `uv` package: the binary uvnb itself runs
    )


@pytest.fixture(scope="session")
def pythons() -> Pythons:
    """Real pyenv interpreters by minor version (newest patch wins), e.g. ``{"3.12": …}``.

    Real paths, not shims: the pyenv shims exit 127 here, so ``uv python find 3.12``
    fails; always hand uv one of these paths via ``--python``.
    """
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found: dict[str, tuple[tuple[int, ...], str]] = {}
    for exe in root.glob("*/bin/python3.*"):
        m = re.fullmatch(r"python(3\.\d+)", exe.name)
        patch = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", exe.parent.parent.name)
        if not (m and patch and os.access(exe, os.X_OK)):
            continue
        key = tuple(int(p) for p in patch.groups())
        if m[1] not in found or key > found[m[1]][0]:
            found[m[1]] = (key, str(exe.resolve()))
    return Pythons(
        {minor: path for minor, (_, path) in sorted(found.items(), key=lambda kv: kv[1][0])}
    )


@pytest.fixture(scope="session")
def default_python(pythons: Pythons) -> str:
    """The interpreter for tests that only need "a modern Python": 3.12, else 3.11."""
    return pythons.get("3.12") or pythons["3.11"]


MakeNotebook = Callable[..., Path]


@pytest.fixture
def make_notebook(tmp_path: Path) -> MakeNotebook:
    """Factory writing a juv-compatible notebook into ``tmp_path``; returns its path.

    ``make_notebook(name="nb.ipynb", dependencies=("alpha",), requires_python=">=3.11",
    spec=True, lock=None, cells=None)``: ``spec=False`` omits the PEP 723 cell, ``lock``
    becomes ``metadata["uv.lock"]``, ``cells`` replaces the default markdown + code cells.
    """

    def make(
        name: str = "nb.ipynb",
        *,
        dependencies: Sequence[str] = ("alpha",),
        requires_python: str = ">=3.11",
        spec: bool = True,
        lock: str | None = None,
        cells: Sequence[dict] | None = None,
    ) -> Path:
        body = (
            list(cells)
            if cells is not None
            else [
                v4.new_markdown_cell("# A test notebook\n\nProse that must survive.", id="md-1"),
                v4.new_code_cell(
                    "import alpha\nprint(alpha.VALUE)",
                    id="code-1",
                    execution_count=1,
                    outputs=[v4.new_output("stream", name="stdout", text="alpha 2.0.0\n")],
                ),
            ]
        )
        if spec:
            hidden = {"jupyter": {"source_hidden": True}}
            spec_cell = v4.new_code_cell(
                wheelhouse.pep723_block(dependencies, requires_python),
                id="uvnb-spec",
                metadata=hidden,
            )
            body.insert(0, spec_cell)
        nb = v4.new_notebook(cells=body)
        nb.metadata["kernelspec"] = {
            "display_name": "Python 3",
            "language": "python",
            "name": "python3",
        }
        if lock is not None:
            nb.metadata["uv.lock"] = lock
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
        return path

    return make


@pytest.fixture(scope="session")
def layer_dir(tmp_path_factory: pytest.TempPathFactory, pythons: Pythons) -> Path:
    """The kernel layer (ipykernel from PyPI) for Python 3.12, built ONCE per session.

    Every test that starts a real kernel shares it (``UVNB_LAYER_DIR``); after this fixture
    no kernel start needs PyPI. It is built with a uv cache of its own, so PyPI's index pages
    never reach the session cache, which ``test_wheelhouse`` expects to hold only the local
    index. ``UVNB_TEST_LAYER_DIR`` keeps the layer across sessions.
    """
    from uvnb import kernel_layer, python

    pythons["3.12"]  # skips kernel tests without a real Python 3.12
    keep = os.environ.get("UVNB_TEST_LAYER_DIR")
    folder = Path(keep) if keep else tmp_path_factory.mktemp("kernel-layers")
    work = tmp_path_factory.mktemp("layer-build")
    with pytest.MonkeyPatch.context() as mp:
        for name in (*_CLEARED, "UV_CONFIG_FILE"):
            mp.delenv(name, raising=False)
        mp.setenv("UV_CACHE_DIR", str(work / "uv-cache"))
        mp.setenv("UV_PYTHON_DOWNLOADS", "never")
        mp.setenv("UVNB_STATE_DIR", str(work / "state"))
        mp.setenv("UVNB_LAYER_DIR", str(folder))
        mp.setenv("UVNB_LAYER_INDEX", "https://pypi.org/simple")
        kernel_layer.ensure_layer(python.find("3.12"))
    return folder


def use_kernel_settings(mp: pytest.MonkeyPatch, root: Path, index: WheelIndex,
                        layer: Path) -> None:
    """What every real-kernel test module sets: ``uv_env``'s isolation plus the shared layer.

    A uv cache of its own under ``root``: these modules outlive a single test, and the
    session cache must keep holding only the local index.
    """
    for name in (*_CLEARED, "UV_PROJECT_ENVIRONMENT", "UVNB_OFFLINE"):
        mp.delenv(name, raising=False)
    mp.setenv("UV_CONFIG_FILE", str(index.config_file))
    mp.setenv("UV_CACHE_DIR", str(root / "uv-cache"))
    mp.setenv("UV_PYTHON_DOWNLOADS", "never")
    mp.setenv("UV_NO_PROGRESS", "1")
    mp.setenv("UVNB_ENV_DIR", str(root / "envs"))
    mp.setenv("UVNB_STATE_DIR", str(root / "state"))
    mp.setenv("UVNB_LAYER_DIR", str(layer))
    mp.setenv("UVNB_LAYER_INDEX", "https://pypi.org/simple")
    mp.setenv("UVNB_DEFAULT_PYTHON", "3.12")  # shares the 3.12 layer
