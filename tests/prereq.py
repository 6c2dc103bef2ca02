"""Prerequisites outside the repository (the shared corpus, a browser, a search engine).

A test that needs one calls ``need(ok, reason)``: on a developer's machine without it the
test is skipped with that reason; under CI (``ONIONWATCH_STRICT=1``, set by ``.ci/run``)
a missing prerequisite is a failure, so CI always runs what it promises.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(os.environ.get("ONIONWATCH_SHARED") or Path(__file__).resolve().parents[2] / "shared")
STRICT = os.environ.get("ONIONWATCH_STRICT") == "1"


def need(ok: bool, reason: str) -> None:
    if ok:
        return
    if STRICT:
        pytest.fail(f"prerequisite missing under ONIONWATCH_STRICT=1: {reason}", pytrace=False)
    pytest.skip(reason)


def need_shared(*parts: str) -> Path:
    """The path under ``../shared`` (or ``$ONIONWATCH_SHARED``), skipping when it is absent."""
    path = SHARED.joinpath(*parts)
    need(path.exists(), f"the shared material is not at {path}")
    return path
