"""One writer per data folder: ``run``, ``replay``, ``index rebuild`` and the scheduler take
``<data>/onionwatch.lock`` (an advisory ``flock``, released by the kernel when the process
ends, so a killed run never leaves a stale lock). A second writer is refused at once with
who holds it and since when, instead of doing every crawl twice or failing half-way on
the index writer's lock.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
from datetime import datetime, timezone
from pathlib import Path

LOCK_NAME = "onionwatch.lock"


class DataFolderBusy(RuntimeError):
    """Another process is writing to the data folder."""


def _holder(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        text = ""
    fields = dict(part.split("=", 1) for part in text.split() if "=" in part)
    if "pid" in fields:
        what = fields.get("what", "run").replace("_", " ")
        since = fields.get("since", "?").replace("_", " ")
        if what == "scheduler":
            return f"the scheduler is running on this data folder, pid {fields['pid']}, since {since}"
        return f"another {what} is in progress, pid {fields['pid']}, since {since}"
    return "another run is in progress"


@contextlib.contextmanager
def writer_lock(data_dir: Path, what: str = "run"):
    """Hold the data folder's writer lock for the ``with`` block, or raise ``DataFolderBusy``."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / LOCK_NAME
    handle = open(path, "a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DataFolderBusy(f"{_holder(path)} on {data_dir} (lock file {path}); "
                                 "wait for it to finish") from None
        since = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC").replace(" ", "_")
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid={os.getpid()} what={what.replace(' ', '_')} since={since}\n")
        handle.flush()
        try:
            yield path
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    finally:
        handle.close()
