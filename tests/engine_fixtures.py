"""Pytest fixtures for the real engine (OpenSearch nodes in a JVM, built from ``tests/engine``).

Without Java or Maven the tests that use them skip with the reason; under ONIONWATCH_STRICT=1
(CI) that is a failure. One single node serves the whole session; tests keep apart by index prefix.
"""
from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest

from prereq import need

sys.path.insert(0, str(Path(__file__).resolve().parent / "engine"))
from launcher import Engine, EngineError, missing  # noqa: E402


def start_engine(tmp_path_factory, nodes: int = 1, settings: dict | None = None, name: str = "engine") -> Engine:
    reason = missing()
    need(reason is None, reason or "")
    try:
        return Engine(nodes, tmp_path_factory.mktemp(name), settings)
    except EngineError as exc:
        need(False, str(exc))


@pytest.fixture(scope="session")
def engine(tmp_path_factory):
    """One real OpenSearch node for the session, with a tiny write queue so load rejections (429) happen."""
    started = start_engine(tmp_path_factory, 1, {"thread_pool.write.queue_size": 1, "thread_pool.write.size": 1})
    yield started
    started.close()


def unique_prefix(label: str = "t") -> str:
    return f"onionwatch-{label}-{uuid.uuid4().hex[:8]}"
