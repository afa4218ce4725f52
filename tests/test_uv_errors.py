"""uv's stderr becomes one readable paragraph of the right error type."""

from __future__ import annotations

from uvnb.errors import OfflineError, ResolutionError, UvError
from uvnb.uv import error_from_stderr

WRAPPED = """\
warning: `VIRTUAL_ENV=/somewhere` does not match the script environment path and will
         be ignored
error: Failed to add dependencies
  cause: No solution found when resolving dependencies
  cause: Because conflict-b==1.0.0 depends on alpha>=2 and conflict-a==1.0.0
         depends on alpha<2, we can conclude that conflict-a and conflict-b are
         incompatible.

hint: If you want to add the package regardless of the failed resolution, provide the
`--frozen` flag to skip locking and syncing
"""


def test_a_message_uv_wrapped_to_the_terminal_width_is_whole_again() -> None:
    exc = error_from_stderr(WRAPPED, "add conflict-a conflict-b to nb.ipynb")
    assert isinstance(exc, ResolutionError)
    assert exc.message == (
        "cannot add conflict-a conflict-b to nb.ipynb: Because conflict-b==1.0.0 depends on "
        "alpha>=2 and conflict-a==1.0.0 depends on alpha<2, we can conclude that conflict-a "
        "and conflict-b are incompatible.")
    assert "VIRTUAL_ENV" not in exc.render() and "--frozen" not in exc.render()
    assert exc.stderr == WRAPPED  # -v shows everything uv said


def test_offline_without_the_package_in_the_cache() -> None:
    exc = error_from_stderr(
        "error: Failed to add dependencies\n"
        "  cause: Because six was not found in the cache and you require six, we can\n"
        "         conclude that your requirements are unsatisfiable.\n"
        "hint: Packages were unavailable because the network was disabled.\n", "add six")
    assert isinstance(exc, OfflineError)
    assert "cache" in exc.hint and exc.message.endswith("unsatisfiable.")


def test_any_other_failure_keeps_uvs_headline() -> None:
    exc = error_from_stderr("error: Failed to parse: `bad req[`\n", "add bad req[")
    assert type(exc) is UvError
    assert exc.message == "cannot add bad req[: Failed to parse: `bad req[`"
    assert exc.hint
