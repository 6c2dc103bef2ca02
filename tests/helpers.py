"""Shared test helpers: the sample markets and their golden files, one pipeline run, the CLI."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from onionwatch.config import SAMPLES_DIR

SAMPLE_MARKETS = sorted(p.parent.name for p in SAMPLES_DIR.glob("*/expected.json"))

COMPARED_FIELDS = (
    "title", "vendor", "price", "currency", "price_usd", "quantity", "unit", "drug",
    "ships_from", "ships_to", "city", "district", "dead_drop",
)


def expected(market: str) -> dict:
    return json.loads((SAMPLES_DIR / market / "expected.json").read_text(encoding="utf-8"))


def site_dir(market: str) -> Path:
    return SAMPLES_DIR / market / "site"


def relative(url: str, root: str) -> str:
    assert url.startswith(root), f"{url} is outside the mirror {root}"
    return url[len(root):]


def assert_matches_golden(indexed: list[dict], golden: dict, root: str) -> None:
    by_url = {relative(doc["url"], root): doc for doc in indexed}
    expected_urls = sorted(item["url"] for item in golden["listings"])
    assert sorted(by_url) == expected_urls
    for item in golden["listings"]:
        got = by_url[item["url"]]
        for name in COMPARED_FIELDS:
            want = item[name]
            if isinstance(want, float):
                assert got[name] == pytest.approx(want, abs=0.011), (item["url"], name)
            else:
                assert got[name] == want, (item["url"], name, got[name], want)
        got_prices = {(p["currency"], round(p["amount"], 8)) for p in got["prices"]}
        assert got_prices == {(p["currency"], round(p["amount"], 8)) for p in item["prices"]}, item["url"]


def run_once(config, market, index):
    """One run of one market through the real pipeline, incremental state included."""
    from onionwatch.pipeline import Sinks, run_market

    sinks = Sinks.open(config, index)
    try:
        return run_market(config, market, sinks)
    finally:
        sinks.close()


def onionwatch(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "onionwatch.cli", *args], capture_output=True, text=True,
        env={**os.environ, **(env or {})}, cwd=cwd, timeout=300,
    )
