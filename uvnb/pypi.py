"""The package index, asked through httpx: "did you mean" for names uv could not find.

Only the error path uses this module (``lock._run`` after ``uv add --script`` failed), so a
successful command never imports httpx or touches the network. Asking is best effort: the
whole search has a hard budget of :data:`BUDGET` seconds, and any failure (no network, a
slow or odd index) means "no suggestion", never a new error.

Which index: the one uv would use by default, read from ``UV_DEFAULT_INDEX``, else
``UV_INDEX_URL``, else the ``[[index]]`` marked ``default = true`` (or ``index-url``) in the
file named by ``UV_CONFIG_FILE``, else PyPI. Per-notebook and user-level uv settings are
deliberately not read: one cheap rule is enough for a hint.

How names are found, cheapest first:

1. :data:`ALIASES`, import names that differ from their distribution (``sklearn``), which
   needs nothing and so also works offline;
2. the index's root listing (PEP 503 HTML or PEP 691 JSON), ranked with :mod:`difflib`, when
   it is a local ``file://`` index or a small remote one (at most :data:`MAX_LISTING_BYTES`);
3. otherwise (PyPI's listing is ~25 MB) a few likely misspellings, :func:`candidates`, each
   checked with one concurrent ``HEAD {index}/{name}/`` (200 means it exists).
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping

from uvnb.errors import OfflineError, ResolutionError, UvError

PYPI = "https://pypi.org/simple"
BUDGET = 3.0  #: seconds for the whole search, network included
MAX_PROBES = 40  #: candidate names checked against an index without a usable listing
MAX_LISTING_BYTES = 2_000_000  #: a bigger root listing is not worth downloading for a hint
MAX_SUGGESTIONS = 3
CUTOFF = 0.75  #: difflib similarity below which a listed name is not a suggestion
JSON_ACCEPT = "application/vnd.pypi.simple.v1+json"

#: Import name (PEP 503 normalized) → the distribution that provides it, for the classic
#: cases where ``pip install <import name>`` is the natural first guess and does not work.
ALIASES: dict[str, str] = {
    "sklearn": "scikit-learn", "skimage": "scikit-image", "cv2": "opencv-python",
    "pil": "pillow", "yaml": "pyyaml", "bs4": "beautifulsoup4", "dateutil": "python-dateutil",
    "attr": "attrs", "crypto": "pycryptodome", "dotenv": "python-dotenv", "jwt": "pyjwt",
    "magic": "python-magic", "serial": "pyserial", "openssl": "pyopenssl",
    "google-protobuf": "protobuf", "docx": "python-docx", "pptx": "python-pptx",
    "usb": "pyusb", "win32api": "pywin32", "fitz": "pymupdf", "mpl-toolkits": "matplotlib",
    "git": "gitpython", "zmq": "pyzmq", "jose": "python-jose", "slugify": "python-slugify",
    "multipart": "python-multipart", "telegram": "python-telegram-bot", "ldap": "python-ldap",
    "levenshtein": "python-levenshtein",
}

_NOT_FOUND = re.compile(r"([A-Za-z0-9][A-Za-z0-9._\-]*)(?:\[[^\]]*\])? was not found in the "
                        r"(?:package registry|cache)")
_ANCHOR = re.compile(r"<a\b[^>]*>\s*([^<]+?)\s*</a>", re.IGNORECASE)


def normalize(name: str) -> str:
    """PEP 503: indexes compare names this way, so every comparison here does too."""
    return re.sub(r"[-_.]+", "-", name).lower()


def unknown_names(stderr: str) -> list[str]:
    """The names uv says do not exist, in order; uv may wrap its lines, so unwrap first."""
    found = _NOT_FOUND.findall(" ".join(stderr.split()))
    return list(dict.fromkeys(found))


def index_url(environ: Mapping[str, str] = os.environ) -> str:
    """The index uv uses when nothing else is said (see the module docstring)."""
    url = environ.get("UV_DEFAULT_INDEX") or environ.get("UV_INDEX_URL")
    if not url and environ.get("UV_CONFIG_FILE"):
        url = _config_default_index(environ["UV_CONFIG_FILE"])
    url = (url or PYPI).strip().rstrip("/")
    if "://" not in url:  # uv also accepts a plain directory
        from pathlib import Path

        url = Path(url).expanduser().resolve().as_uri()
    return url


def _config_default_index(path: str) -> str | None:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomlkit as tomllib  # type: ignore[no-redef]
    try:
        with open(path, encoding="utf-8") as handle:
            data = tomllib.loads(handle.read())
    except (OSError, ValueError):
        return None
    for entry in data.get("index", []):
        if isinstance(entry, Mapping) and entry.get("default") and entry.get("url"):
            return str(entry["url"])
    legacy = data.get("index-url")
    return str(legacy) if legacy else None


def parse_listing(body: str, content_type: str = "text/html") -> list[str]:
    """Project names from a root ``simple/`` page: PEP 691 JSON or PEP 503 HTML anchors."""
    if "json" in content_type:
        import json

        try:
            return [str(p["name"]) for p in json.loads(body).get("projects", [])]
        except (ValueError, TypeError, KeyError, AttributeError):
            return []
    return _ANCHOR.findall(body)


def candidates(name: str) -> list[str]:
    """Likely intended spellings of ``name``, most likely first, at most :data:`MAX_PROBES`.

    Swapping ``-``/``_``/``.`` is pointless (indexes normalize them away), so separators are
    dropped instead; then common prefixes and a plural ``s``, transposed neighbours, one
    extra letter, one missing vowel and one doubled letter.
    """
    n = normalize(name)
    out: list[str] = [n.replace("-", "")]
    for prefix in ("python-", "py-", "py"):
        if n.startswith(prefix):
            out.append(n[len(prefix):])
    for suffix in ("-python", "-py"):
        if n.endswith(suffix):
            out.append(n[: -len(suffix)])
    out += [f"python-{n}", f"py{n}", n[:-1] if n.endswith("s") else f"{n}s"]
    out += [n[:i] + n[i + 1] + n[i] + n[i + 2:] for i in range(len(n) - 1)]
    out += [n[:i] + n[i + 1:] for i in range(len(n))]
    out += [n[:i] + v + n[i:] for i in range(1, len(n) + 1) for v in "aeiou"]
    out += [n[:i] + n[i] + n[i:] for i in range(len(n)) if n[i].isalpha()]
    valid = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
    unique = dict.fromkeys(c for c in out if c != n and valid.fullmatch(c))
    return list(unique)[:MAX_PROBES]


def suggest(name: str, *, index: str | None = None, offline: bool = False,
            budget: float | None = None) -> list[str]:
    """Up to :data:`MAX_SUGGESTIONS` existing names close to ``name``; [] if none or no time.

    The alias comes first, unchecked: the map only holds well-known PyPI distributions.
    """
    index = index or index_url()
    deadline = time.monotonic() + (BUDGET if budget is None else budget)
    key = normalize(name)
    found = _within(deadline, _search, key, index, offline, deadline)
    if found is None:  # it exists: whatever failed, a spelling hint would mislead
        return []
    alias = ALIASES.get(key)
    ranked = ([alias] if alias else []) + found  # candidates' order: likeliest typo first
    return list(dict.fromkeys(ranked))[:MAX_SUGGESTIONS]


def _search(key: str, index: str, offline: bool, deadline: float) -> list[str] | None:
    """Existing names near ``key`` from the listing, else by probing; None if ``key`` exists."""
    listing = _listing(index, offline, deadline)
    if listing is None:
        return [] if offline else asyncio.run(_probe(index, candidates(key), deadline))
    by_key = {normalize(p): p for p in listing}
    if key in by_key:
        return None
    close = difflib.get_close_matches(key, list(by_key), MAX_SUGGESTIONS, CUTOFF)
    return [by_key[c] for c in [*candidates(key), *close] if c in by_key]


def _within(deadline: float, work: Callable[..., list[str] | None],
            *args: object) -> list[str] | None:
    """``work(*args)`` in a daemon thread, abandoned at the deadline; any failure gives [].

    A thread, not just timeouts, because only it makes the budget hard whatever a socket
    or httpx's teardown does (and it works under a caller's running event loop); a hint
    must never become an error or a hang of its own.
    """
    result: list[list[str] | None] = [[]]

    def run() -> None:
        with contextlib.suppress(Exception):
            result[0] = work(*args)

    thread = threading.Thread(target=run, name="uvnb-did-you-mean", daemon=True)
    thread.start()
    thread.join(max(0.0, deadline - time.monotonic()))
    return [] if thread.is_alive() else result[0]


def _listing(index: str, offline: bool, deadline: float) -> list[str] | None:
    """The index's project names, or None when there is no affordable way to get them."""
    if index.startswith("file:"):
        from urllib.parse import urlparse
        from urllib.request import url2pathname

        folder = url2pathname(urlparse(index).path)
        page = os.path.join(folder, "index.html")
        if os.path.isfile(page):
            with open(page, encoding="utf-8", errors="replace") as handle:
                return parse_listing(handle.read())
        return [e.name for e in os.scandir(folder) if e.is_dir()]
    if offline or normalize(index).startswith(("https://pypi-org", "http://pypi-org")):
        return None
    import httpx

    accept = f"{JSON_ACCEPT}, text/html;q=0.1"
    timeout = max(0.1, deadline - time.monotonic())
    with httpx.stream("GET", f"{index}/", headers={"Accept": accept}, timeout=timeout,
                      follow_redirects=True) as response:
        if response.status_code != 200:
            return None
        chunks: list[bytes] = []
        for chunk in response.iter_bytes():
            chunks.append(chunk)
            if sum(map(len, chunks)) > MAX_LISTING_BYTES or time.monotonic() > deadline:
                return None
    body = b"".join(chunks).decode(response.encoding or "utf-8", errors="replace")
    return parse_listing(body, response.headers.get("content-type", ""))


async def _probe(index: str, names: Iterable[str], deadline: float) -> list[str]:
    """The names among ``names`` the index has, checked concurrently until the deadline."""
    import httpx

    timeout = max(0.1, deadline - time.monotonic())
    limits = httpx.Limits(max_connections=16)
    async with httpx.AsyncClient(timeout=timeout, limits=limits, follow_redirects=True,
                                 headers={"Accept": f"{JSON_ACCEPT}, text/html;q=0.1"}) as client:

        async def exists(name: str) -> str | None:
            # HEAD: the status is the answer, and a popular project's page is megabytes
            # (an unread GET body also costs the connection, which stalled PyPI probes).
            try:
                response = await client.head(f"{index}/{name}/")
            except httpx.HTTPError:
                return None
            return name if response.status_code == 200 else None

        tasks = [asyncio.ensure_future(exists(n)) for n in names]
        # Stop a little before the deadline, so that what was found in time is kept.
        done, pending = await asyncio.wait(tasks, timeout=max(0.05, timeout - 0.2))
        for task in pending:
            task.cancel()
        return [t.result() for t in tasks if t in done and t.result()]


def hint_for(names: Iterable[str], *, offline: bool = False) -> str | None:
    """"did you mean …?" for each unknown name that has suggestions; None if none has."""
    names = list(names)
    parts = []
    for name in names:
        found = suggest(name, offline=offline)
        if not found:
            continue
        quoted = [f"`{s}`" for s in found]
        listed = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
        text = f"did you mean {listed}?"
        alias = ALIASES.get(normalize(name))
        if alias and len(found) == 1:
            text += f" (`{name}` is its import name)"
        elif alias:
            text += f" (`{name}` is the import name of `{alias}`)"
        parts.append(text if len(names) == 1 else f"`{name}`: {text}")
    return "; ".join(parts) or None


def explain_not_found(exc: UvError, *, offline: bool = False) -> None:
    """Replace ``exc``'s hint by a "did you mean" when uv said a package does not exist.

    Offline, uv says "not found in the cache" even for a name no index has; the local
    listing and the alias map can still tell a misspelling from a cold cache.
    """
    if not isinstance(exc, (ResolutionError, OfflineError)):
        return
    names = unknown_names(exc.stderr)
    if not names:
        return
    from uvnb.uv import offline_requested

    hint = hint_for(names, offline=offline or offline_requested())
    if hint:
        exc.hint = hint
