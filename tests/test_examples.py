"""The bundled example notebooks stay valid: README's first command runs notebooks/tour.ipynb."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from uvnb import lock, notebook

EXAMPLES = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_is_a_juv_format_notebook_with_a_current_lock(path: Path, tmp_path: Path,
                                                              monkeypatch) -> None:
    nb = notebook.load(path)
    assert nb.spec_cell_index() == 0 and nb.lock_text, "spec cell first, lock stored"
    cell = nb.data["cells"][0]
    assert cell["metadata"]["jupyter"]["source_hidden"] is True
    assert not "".join(cell["source"]).endswith("\n")  # juv's style
    assert nb.data["metadata"]["kernelspec"]["name"] == "uvnb"
    monkeypatch.setenv("UVNB_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("UVNB_PYTHON_DOWNLOADS", "never")
    copy = tmp_path / path.name  # never touch the checkout, even by accident
    copy.write_bytes(path.read_bytes())
    proc = subprocess.run([sys.executable, "-m", "uvnb", "lock", "--check", str(copy)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert copy.read_bytes() == path.read_bytes()
    assert set(lock.locked_versions(nb.lock_text)) >= {"attrs", "tabulate"}
    json.loads(path.read_text())  # still plain, valid JSON
