"""The notebook's environment spec: a PEP 723 ``# /// script`` block, exactly as juv writes it.

The block's TOML says what the notebook needs (``dependencies``, ``requires-python``,
``[tool.uv]``). We parse and edit it with tomlkit so that comments and order survive a
round trip, and validate requirements with ``packaging`` so that a typo gets a clear message
before uv is ever started.
"""

from __future__ import annotations

from uvnb.errors import SpecError
from uvnb.notebook import SCRIPT_BLOCK_PATTERN

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class Spec:
    """What the block declares; ``body`` is the TOML text inside the comment markers."""

    def __init__(self, body: str, requires_python: str | None = None,
                 dependencies: list[str] | None = None,
                 tool_uv: dict[str, Any] | None = None) -> None:
        self.body = body
        self.requires_python = requires_python
        self.dependencies = dependencies or []
        self.tool_uv = tool_uv or {}

    @property
    def exclude_newer(self) -> str | None:
        value = self.tool_uv.get("exclude-newer")
        return str(value) if value is not None else None


def extract_body(source: str, where: str = "the notebook") -> str:
    """The TOML inside the ``# /// script`` block of a cell's source."""
    import re

    blocks = re.finditer(SCRIPT_BLOCK_PATTERN, source + "\n")
    matches = [m for m in blocks if m.group("type") == "script"]
    if not matches:
        raise SpecError(
            f"{where} has no `# /// script` block.",
            "run `uvnb init` on it to add one.",
        )
    if len(matches) > 1:
        raise SpecError(
            f"{where} has more than one `# /// script` block in its spec cell.",
            "keep one block (PEP 723 allows only one) and remove the others.",
        )
    lines = matches[0].group("content").splitlines(keepends=True)
    return "".join(line[2:] if line.startswith("# ") else line[1:] for line in lines)


def render(body: str) -> str:
    """A ``# /// script`` block around ``body``, without a trailing newline (juv's style)."""
    lines = ["# /// script"]
    for line in body.rstrip("\n").splitlines():
        lines.append(f"# {line}" if line else "#")
    lines.append("# ///")
    return "\n".join(lines)


def new_source(requires_python: str | None) -> str:
    """The spec cell of a fresh notebook: no dependencies yet."""
    body = ""
    if requires_python:
        body += f'requires-python = "{requires_python}"\n'
    body += "dependencies = []\n"
    return render(body)


def _parse_toml(body: str, where: str) -> Any:
    import tomlkit
    from tomlkit.exceptions import ParseError

    try:
        return tomlkit.parse(body)
    except ParseError as exc:
        raise SpecError(
            f"the `# /// script` block in {where} is not valid TOML: {exc}.",
            "fix the block in the notebook's first code cell (each line starts with `# `), "
            "or run `uvnb init` on a copy to see a valid one.",
        ) from None


def _read_toml(body: str, where: str) -> dict[str, Any]:
    """Read-only parse: stdlib tomllib where there is one (tomlkit costs ~20 ms to import)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        return _parse_toml(body, where).unwrap()
    try:
        return tomllib.loads(body)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(
            f"the `# /// script` block in {where} is not valid TOML: {exc}.",
            "fix the block in the notebook's first code cell (each line starts with `# `), "
            "or run `uvnb init` on a copy to see a valid one.",
        ) from None


def parse(source: str, where: str = "the notebook", *, validate: bool = True) -> Spec:
    """Parse a spec cell's source; raise :class:`SpecError` if it is unusable.

    ``validate`` checks each requirement with ``packaging``; steps that hand the spec to uv
    anyway skip it and call :func:`explain_requirements` only if uv refuses.
    """
    body = extract_body(source, where)
    doc = _read_toml(body, where)
    deps = doc.get("dependencies", [])
    if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
        raise SpecError(
            f"`dependencies` in the spec of {where} must be a list of strings.",
            'write it as `dependencies = ["pandas>=2", "numpy"]`.',
        )
    requires_python = doc.get("requires-python")
    if validate:
        for dep in deps:
            check_requirement(dep, where)
        if requires_python is not None:
            check_requires_python(str(requires_python), where)
    tool = doc.get("tool", {})
    tool_uv = tool.get("uv", {}) if isinstance(tool, dict) else {}
    return Spec(
        body=body,
        requires_python=str(requires_python) if requires_python is not None else None,
        dependencies=list(deps),
        tool_uv=dict(tool_uv) if isinstance(tool_uv, dict) else {},
    )


def check_requirement(text: str, where: str = "the command line") -> Any:
    """Validate one PEP 508 requirement, returning the parsed ``Requirement``."""
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        return Requirement(text)
    except InvalidRequirement as exc:
        reason = str(exc).splitlines()[0]
        raise SpecError(
            f"`{text}` (from {where}) is not a valid requirement: {reason}.",
            'write requirements as `name`, `name>=1.2`, `name[extra]==2.0` or '
            '`name @ https://…`; quote them in the shell.',
        ) from None


def check_requires_python(text: str, where: str = "the notebook") -> None:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        SpecifierSet(text)
    except InvalidSpecifier:
        raise SpecError(
            f"`requires-python = \"{text}\"` in {where} is not a valid version specifier.",
            'use a form like `">=3.12"` or `"==3.12.*"`, or run `uvnb python NB 3.12`.',
        ) from None


def edit(source: str, where: str, **changes: Any) -> str:
    """Return the spec source with top-level keys or ``tool.uv.*`` keys changed.

    ``requires_python="..."`` sets ``requires-python``; ``exclude_newer="..."`` sets
    ``[tool.uv] exclude-newer`` (``None`` removes it). Everything else in the block,
    comments included, is kept.
    """
    import tomlkit

    doc = _parse_toml(extract_body(source, where), where)
    if "requires_python" in changes:
        value = changes["requires_python"]
        if value is None:
            doc.pop("requires-python", None)
        elif "requires-python" in doc:
            doc["requires-python"] = value
        else:
            # Keep juv's order: requires-python first.
            items = list(doc.items())
            for key, _ in items:
                doc.pop(key)
            doc["requires-python"] = value
            for key, item in items:
                doc[key] = item
    if "exclude_newer" in changes:
        value = changes["exclude_newer"]
        tool = doc.setdefault("tool", tomlkit.table(is_super_table=True))
        uv_table = tool.setdefault("uv", tomlkit.table())
        if value is None:
            uv_table.pop("exclude-newer", None)
            if not uv_table:
                tool.pop("uv")
            if not tool:
                doc.pop("tool")
        else:
            uv_table["exclude-newer"] = value
    if "dependencies" in changes:
        array = tomlkit.array()
        array.multiline(bool(changes["dependencies"]))
        for dep in changes["dependencies"]:
            array.append(dep)
        doc["dependencies"] = array
    return render(tomlkit.dumps(doc))
