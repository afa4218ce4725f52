"""The fast parser of the everyday commands must mean exactly what argparse means."""

from __future__ import annotations

import pytest

from uvnb import cli, fastargs

AGREE = [
    ["add", "nb.ipynb", "alpha", "beta>=1"],
    ["add", "nb.ipynb", "-r", "reqs.txt", "--upgrade", "--pin", "-q"],
    ["add", "nb.ipynb", "alpha", "--index", "https://example.invalid/simple", "--offline"],
    ["add", "nb.ipynb", "--from", "proj"],
    ["remove", "nb.ipynb", "alpha", "beta", "-v"],
    ["lock", "a.ipynb", "b.ipynb", "--check"],
    ["lock", "a.ipynb", "-P", "alpha", "--upgrade-package", "beta", "--upgrade"],
    ["sync", "nb.ipynb", "--offline"],
    ["tree", "nb.ipynb", "--depth", "2"],
]

DEFER = [  # argparse's business: help, mistakes, unusual spellings
    ["add", "--help"],
    ["add", "nb.ipynb", "--pinn", "alpha"],
    ["remove", "nb.ipynb"],
    ["lock"],
    ["sync", "a.ipynb", "b.ipynb"],
    ["tree", "nb.ipynb", "--depth", "two"],
    ["add", "nb.ipynb", "--index=https://example.invalid/simple"],
    ["init", "nb.ipynb"],
    [],
]


@pytest.mark.parametrize("argv", AGREE, ids=" ".join)
def test_fast_parser_agrees_with_argparse(argv: list[str]) -> None:
    fast = vars(fastargs.parse(argv))
    full = vars(cli._parser().parse_args(argv))
    assert fast == full


@pytest.mark.parametrize("argv", DEFER, ids=lambda a: " ".join(a) or "(nothing)")
def test_fast_parser_leaves_the_rest_to_argparse(argv: list[str]) -> None:
    assert fastargs.parse(argv) is None
