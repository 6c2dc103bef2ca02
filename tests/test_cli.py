"""The onionwatch command end to end, as an analyst types it."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import SAMPLE_MARKETS, expected, onionwatch, site_dir

SUBCOMMANDS = ["run", "extract", "search", "stats", "changes", "vendor", "index", "replay", "captures", "rates", "schedule", "runs", "watch"]


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_has_help_with_an_example(command):
    result = onionwatch(command, "--help")
    assert result.returncode == 0
    assert "example:" in result.stdout and f"onionwatch {command}" in result.stdout


def test_run_then_search_by_drug_and_by_city(tmp_path):
    env = {"ONIONWATCH_DATA": str(tmp_path / "data")}
    run = onionwatch("run", env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    total = sum(len(expected(m)["listings"]) for m in SAMPLE_MARKETS)
    assert f"holds {total} listings" in run.stdout

    by_drug = onionwatch("search", "drug:cocaine", "--json", env=env, cwd=tmp_path)
    hits = [json.loads(line) for line in by_drug.stdout.splitlines()]
    assert [h["title"] for h in hits] == ["Peruvian Flake Cocaine 90% 3.5g"]

    by_city = onionwatch("search", "city:Алматы", env=env, cwd=tmp_path)
    assert by_city.returncode == 0
    assert "3 listings match" in by_city.stdout
    assert "Мефедрон VHQ кристаллы" in by_city.stdout

    combined = onionwatch("search", "мефедрон city:Астана", "--json", env=env, cwd=tmp_path)
    assert [json.loads(line)["district"] for line in combined.stdout.splitlines()] == ["Сарыаркинский"]


def test_search_with_bad_syntax_says_where(tmp_path):
    result = onionwatch("search", "colour:red", env={"ONIONWATCH_DATA": str(tmp_path)})
    assert result.returncode == 2
    assert "unknown field 'colour'" in result.stderr and "^" in result.stderr


def test_extract_jsonl_follows_the_contract(tmp_path):
    folder = site_dir("tayga")
    (tmp_path / ".hidden").write_text("x")
    junk = tmp_path / "item.php?id=3"
    junk.write_bytes(b"\x00\x00binary")
    result = onionwatch("extract", "--jsonl", str(folder), str(tmp_path))
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    pages = sorted(p for p in folder.rglob("*") if p.is_file())
    assert [r["source"] for r in records] == [str(p) for p in pages] + [str(junk)]
    for record in records:
        assert set(record) >= {"source", "market", "page_type", "listings", "vendor"}
    assert records[-1]["page_type"] == "error" and records[-1]["error"]
    product = next(r for r in records if r["source"].endswith("product/711.html"))
    assert product["market"] == "tayga" and product["page_type"] == "listing"
    (listing,) = product["listings"]
    assert listing["city"] == "Астана" and listing["dead_drop"] == "magnet" and listing["drug"] == "hashish"


def test_extract_refuses_unknown_market_and_missing_path(tmp_path):
    assert onionwatch("extract", "--market", "nosuch", str(tmp_path)).returncode == 2
    missing = onionwatch("extract", "--jsonl", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_readme_opens_with_two_commands_and_ci_runs_the_test_one():
    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    first_block = readme.split("```")[1].split("\n", 1)[1]  # after the language tag
    assert readme.lstrip().startswith("# onionwatch\n\n```")  # the README opens with it
    commands = [line.strip() for line in first_block.splitlines() if line.strip()]
    assert len(commands) == 2
    assert "onionwatch run" in commands[0]
    assert commands[1] in (root / ".ci" / "run").read_text(encoding="utf-8")
