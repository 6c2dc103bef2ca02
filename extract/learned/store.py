"""Learned markets on disk: ``<data>/markets/NAME.json``, one versioned file per market.

The file says what was learned (the model), from which example pages (path,
page type and SHA-256 of the bytes) and when. Re-learning a market moves the
current file to ``NAME.vN.json`` first, so every earlier version is kept.
"""
from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timezone
from pathlib import Path

from extract.learned import FORMAT_VERSION, LearnedMarket

_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


class StoreError(ValueError):
    pass


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name or ""):
        raise StoreError(f"market name {name!r} must be lowercase ASCII letters, digits and dashes (e.g. new-shop)")
    return name


def markets_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "markets"


def save(data_dir: Path, name: str, model: dict, examples: list[tuple[str, bytes, str]]) -> Path:
    """Store a learned model; ``examples`` are (source, page bytes, page type). Returns the file."""
    check_name(name)
    folder = markets_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    version = 1
    if path.exists():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
            previous = int(old.get("version", 1))
        except (OSError, ValueError, AttributeError):
            previous = 1
        while (folder / f"{name}.v{previous}.json").exists():
            previous += 1
        path.replace(folder / f"{name}.v{previous}.json")
        version = previous + 1
    record = {
        "name": name,
        "format": FORMAT_VERSION,
        "version": version,
        "learned_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "examples": [{"source": source, "sha256": hashlib.sha256(body).hexdigest(), "page_type": page_type}
                     for source, body, page_type in examples],
        "model": model,
    }
    # what the old layout read is no yardstick for the new one
    (folder / f"{name}.history.json").unlink(missing_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(path)
    return path


def read(data_dir: Path, name: str) -> dict | None:
    path = markets_dir(data_dir) / f"{name}.json"
    if not _NAME.fullmatch(name or "") or not path.exists():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StoreError(f"{path}: unreadable learned market ({exc})") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT_VERSION or "model" not in record:
        raise StoreError(f"{path}: not a learned market of format {FORMAT_VERSION}; teach it again")
    return record


def load(data_dir: Path, name: str) -> LearnedMarket | None:
    record = read(data_dir, name)
    return LearnedMarket(name, record["model"]) if record else None


def list_markets(data_dir: Path) -> list[dict]:
    folder = markets_dir(data_dir)
    rows = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        if re.search(r"\.v\d+\.json$|\.history\.json$", path.name):
            continue
        try:
            record = read(data_dir, path.stem)
        except StoreError as exc:
            rows.append({"market": path.stem, "version": None, "learned_at": None, "page_types": "",
                         "examples": 0, "older_versions": 0, "file": str(path), "error": str(exc)})
            continue
        if record is None:
            continue
        older = len(list(folder.glob(f"{path.stem}.v*.json")))
        rows.append({"market": path.stem, "version": record.get("version"), "learned_at": record.get("learned_at"),
                     "page_types": ",".join(sorted({l.get("page_type") for l in record["model"].get("layouts", [])})),
                     "examples": len(record.get("examples", [])), "older_versions": older, "file": str(path)})
    return rows
