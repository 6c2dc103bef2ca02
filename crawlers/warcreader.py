"""One WARC reader for the whole project, quiet on damaged files.

warcio's ``ArchiveIterator`` writes a multi-line warning straight to ``sys.stderr``
when a record is not followed by its blank lines (a truncated or garbled file).
For an analyst that is noise around the one-line error onionwatch prints itself,
so every reader goes through this subclass: the damage is still counted in
``err_count`` and surfaces as onionwatch's own message, never as raw bytes on the
terminal.
"""

from __future__ import annotations

from warcio.archiveiterator import ArchiveIterator as _WarcioIterator


class ArchiveIterator(_WarcioIterator):
    """warcio's iterator without its raw stderr warning (``err_count`` still counts)."""

    INC_RECORD = ""
