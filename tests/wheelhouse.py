"""A hermetic package index for the test suite, built from hand-written wheels.

Why: tests must resolve, lock and install real packages with real uv, but must never
reach PyPI (slow, flaky, moving). So we write tiny pure-Python wheels ourselves (a wheel
is just a zip with a ``.dist-info``), which takes milliseconds instead of a setuptools
subprocess per wheel, and lay them out two ways under one root::

    <root>/files/alpha-1.0.0-py3-none-any.whl ...   flat "find-links" directory
    <root>/simple/index.html                        PEP 503 root page
    <root>/simple/alpha/index.html                  <a href="../../files/...#sha256=...">

How uv consumes it: ``<root>/uv.toml`` holds ``[[index]] url = "file://<root>/simple"``,
``default = true`` and the tests point ``UV_CONFIG_FILE`` at it. uv reads ``file://``
simple indexes directly (``uv pip``, ``uv lock --script``, ``uv add --script``, ``uv add``,
``uv run`` alike), so no HTTP server is needed. Being the default index, it replaces PyPI:
PyPI is never consulted and the short names below cannot be shadowed by real projects.

Why a config file and not ``UV_DEFAULT_INDEX``: uv treats that variable like the
``--default-index`` flag, and ``uv add`` / ``uv add --script`` *persist* it into the
pyproject / PEP 723 block as ``[[tool.uv.index]] url = "/tmp/..." default = true``, which
would pollute every spec a test writes. ``UV_INDEX_URL`` is not persisted but makes every
``uv add`` warn on stderr. An index from a config file is neither persisted nor warned
about, and a project's or script's own ``[tool.uv]`` settings still apply on top of it.

Cache behaviour (checked against uv 0.13.9, pinned by ``tests/test_wheelhouse.py``):
uv does not cache ``file://`` simple pages at all (no ``simple-v*`` bucket appears in
``UV_CACHE_DIR``), and wheels from a local path are cached keyed on the file itself, so
after :func:`publish` the very next uv call sees the new release without ``--refresh``;
even re-publishing an existing version with other requirements is picked up. What does
*not* pick it up is a plain ``uv lock --script`` over an existing lock: uv keeps locked
versions until asked with ``--upgrade`` / ``--upgrade-package`` (lock semantics, not cache).
Locks record the index by absolute path (``source = { registry = "/tmp/.../simple" }``),
so never ship a lock made here as a fixture file: make it at test time.

Everything here is a pure function of its arguments (apart from writing files).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

#: A fixed zip timestamp so that rebuilding a wheel gives byte-identical output
#: (same sha256), which keeps locks made from the index reproducible.
_ZIP_DATE = (2020, 2, 2, 0, 0, 0)


@dataclass(frozen=True)
class Dist:
    """One wheel to build: a project name, its version and its requirements.

    ``uploaded`` (ISO 8601, UTC) becomes the PEP 700 ``data-upload-time`` of its link,
    which uv honours, so ``exclude-newer`` can be tested; ``None`` means "now".
    """

    name: str
    version: str
    requires: tuple[str, ...] = ()
    requires_python: str | None = None
    uploaded: str | None = None


@dataclass(frozen=True)
class PackageSet:
    """The distributions the suite relies on; tests assert on these exact versions."""

    dists: tuple[Dist, ...] = field(
        default_factory=lambda: (
            # Upload dates: everything "old" is out by 2024-02-01, the newest
            # releases (alpha 2, beta 2, delta 1.2, gamma) come later; see Dist.uploaded.
            Dist("alpha", "1.0.0", uploaded="2024-01-01T00:00:00Z"),
            Dist("alpha", "1.1.0", uploaded="2024-01-15T00:00:00Z"),
            Dist("alpha", "2.0.0", uploaded="2024-03-01T00:00:00Z"),
            Dist("beta", "1.0.0", ("alpha>=1.0",), uploaded="2024-01-10T00:00:00Z"),
            Dist("beta", "2.0.0", ("alpha>=2.0",), uploaded="2024-03-10T00:00:00Z"),
            Dist("gamma", "0.1.0", ("beta", "delta"), uploaded="2024-04-01T00:00:00Z"),
            Dist("delta", "1.0.0", uploaded="2024-01-05T00:00:00Z"),
            Dist("delta", "1.2.0", uploaded="2024-03-05T00:00:00Z"),
            Dist("epsilon", "3.0.0", uploaded="2024-01-20T00:00:00Z"),
            Dist("zeta", "1.0.0", requires_python=">=3.12", uploaded="2024-01-25T00:00:00Z"),
            Dist("conflict-a", "1.0.0", ("alpha<2",), uploaded="2024-01-30T00:00:00Z"),
            Dist("conflict-b", "1.0.0", ("alpha>=2",), uploaded="2024-01-30T00:00:00Z"),
        )
    )


DEFAULT_PACKAGES = PackageSet()


def normalize(name: str) -> str:
    """PEP 503 normalized project name (``Foo_Bar.baz`` -> ``foo-bar-baz``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def wheel_name(name: str) -> str:
    """The name as it appears in wheel filenames and import paths (``foo_bar``)."""
    return normalize(name).replace("-", "_")


def wheel_filename(name: str, version: str) -> str:
    """``{name}-{version}-py3-none-any.whl`` with the name escaped per the wheel spec."""
    return f"{wheel_name(name)}-{version}-py3-none-any.whl"


def _record_hash(data: bytes) -> str:
    """RECORD-style hash: ``sha256=`` + urlsafe base64 without ``=`` padding."""
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def wheel_files(dist: Dist) -> dict[str, bytes]:
    """All archive members of the wheel for ``dist``, RECORD included, in write order."""
    pkg = wheel_name(dist.name)
    info = f"{pkg}-{dist.version}.dist-info"
    init = f'__version__ = "{dist.version}"\nVALUE = "{pkg} {dist.version}"\n'
    meta = ["Metadata-Version: 2.1", f"Name: {dist.name}", f"Version: {dist.version}"]
    if dist.requires_python:
        meta.append(f"Requires-Python: {dist.requires_python}")
    meta += [f"Requires-Dist: {req}" for req in dist.requires]
    wheel = [
        "Wheel-Version: 1.0",
        "Generator: uvnb-tests-wheelhouse",
        "Root-Is-Purelib: true",
        "Tag: py3-none-any",
    ]
    files = {
        f"{pkg}/__init__.py": init.encode(),
        f"{info}/METADATA": ("\n".join(meta) + "\n").encode(),
        f"{info}/WHEEL": ("\n".join(wheel) + "\n").encode(),
    }
    record = [f"{path},{_record_hash(data)},{len(data)}" for path, data in files.items()]
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    return files


def build_wheel(dist: Dist, dest_dir: Path) -> Path:
    """Write the wheel for ``dist`` into ``dest_dir`` deterministically; return its path."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    path = dest_dir / wheel_filename(dist.name, dist.version)
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in wheel_files(dist).items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    os.replace(tmp, path)
    return path


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _project_of(filename: str) -> str:
    """Normalized project name from a wheel filename (the part before the version)."""
    return normalize(filename.split("-", 1)[0])


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _requires_python(whl: Path) -> str | None:
    """``Requires-Python`` read back from the wheel itself (no side channel needed)."""
    with zipfile.ZipFile(whl) as zf:
        meta = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        for line in zf.read(meta).decode().splitlines():
            if line.startswith("Requires-Python: "):
                return line.split(": ", 1)[1]
    return None


def _upload_times_path(root: Path) -> Path:
    return root / "upload-times.json"


def add_release(root: Path, dist: Dist) -> Path:
    """Build ``dist`` into ``root/files`` and record its upload time; pages not regenerated."""
    path = build_wheel(dist, root / "files")
    times_file = _upload_times_path(root)
    times = json.loads(times_file.read_text()) if times_file.exists() else {}
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    times[path.name] = dist.uploaded or now
    times_file.write_text(json.dumps(times, indent=1, sort_keys=True) + "\n")
    return path


def _link(whl: Path, upload_time: str | None) -> str:
    """A PEP 503 anchor with data-requires-python and PEP 700 upload time (uv reads both)."""
    attrs = f' data-upload-time="{upload_time}"' if upload_time else ""
    requires_python = _requires_python(whl)
    if requires_python:
        attrs += f' data-requires-python="{html.escape(requires_python)}"'
    href = f"../../files/{html.escape(whl.name)}#sha256={_sha256(whl)}"
    return f'<a href="{href}"{attrs}>{html.escape(whl.name)}</a><br/>'


def write_simple_index(root: Path) -> None:
    """(Re)generate ``root/simple`` PEP 503 pages from the wheels in ``root/files``."""
    files = sorted((root / "files").glob("*.whl"))
    times_file = _upload_times_path(root)
    times = json.loads(times_file.read_text()) if times_file.exists() else {}
    projects: dict[str, list[Path]] = {}
    for whl in files:
        projects.setdefault(_project_of(whl.name), []).append(whl)
    simple = root / "simple"
    head = '<!DOCTYPE html>\n<html><head><meta name="pypi:repository-version" content="1.0">'
    links = "\n".join(
        f'<a href="{html.escape(p)}/">{html.escape(p)}</a><br/>' for p in sorted(projects)
    )
    _write(
        simple / "index.html",
        f"{head}<title>Simple index</title></head><body>\n{links}\n</body></html>\n",
    )
    for project, wheels in projects.items():
        links = "\n".join(_link(w, times.get(w.name)) for w in wheels)
        _write(
            simple / project / "index.html",
            f"{head}<title>Links for {project}</title></head><body>\n"
            f"<h1>Links for {project}</h1>\n{links}\n</body></html>\n",
        )


def write_uv_config(root: Path) -> Path:
    """Write ``root/uv.toml`` making ``root/simple`` uv's only index; for ``UV_CONFIG_FILE``."""
    path = root / "uv.toml"
    path.write_text(f'[[index]]\nurl = "{simple_url(root)}"\ndefault = true\n')
    return path


def build_index(root: Path, dists: Iterable[Dist] = DEFAULT_PACKAGES.dists) -> Path:
    """Build wheels for ``dists``, the simple pages and ``uv.toml`` under ``root``."""
    for dist in dists:
        add_release(root, dist)
    write_simple_index(root)
    write_uv_config(root)
    return root


def publish(
    index_dir: Path,
    name: str,
    version: str,
    requires: Sequence[str] = (),
    requires_python: str | None = None,
    uploaded: str | None = None,
) -> Path:
    """Add one more release to an existing index (upgrade tests); return the wheel path.

    Its upload time defaults to now, i.e. newer than every release of the default set.
    """
    dist = Dist(name, version, tuple(requires), requires_python, uploaded)
    path = add_release(index_dir, dist)
    write_simple_index(index_dir)
    return path


def simple_url(root: Path) -> str:
    """The ``file://`` URL of the PEP 503 index, as passed to ``--default-index``."""
    return (root / "simple").resolve().as_uri()


def pep723_block(dependencies: Sequence[str] = ("alpha",), requires_python: str = ">=3.11") -> str:
    """A PEP 723 ``script`` block as uv/juv format it, with no trailing newline (juv's form)."""
    lines = ["# /// script", f'# requires-python = "{requires_python}"']
    if dependencies:
        lines += ["# dependencies = [", *(f'#     "{d}",' for d in dependencies), "# ]"]
    else:
        lines.append("# dependencies = []")
    lines.append("# ///")
    return "\n".join(lines)
