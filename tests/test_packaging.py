"""pyproject.toml: an install that prints no setuptools deprecation banner."""

from __future__ import annotations

import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def test_license_is_an_spdx_string_for_a_setuptools_that_reads_it() -> None:
    config = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    assert config["project"]["license"] == "MIT"  # a table is deprecated since setuptools 77
    assert "setuptools>=77" in config["build-system"]["requires"]
