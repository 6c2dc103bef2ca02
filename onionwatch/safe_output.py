"""Page-derived text made safe for the analyst's tools: spreadsheets and terminals.

Market pages are written by the people being investigated. A title such as
``=HYPERLINK(...)`` or ``=cmd|' /C calc'!A0`` would be a live formula in a
spreadsheet (OWASP "CSV injection"); an ANSI or OSC-8 escape in a title can clear
the terminal, rewrite what is shown or plant a link. Every CSV writer and every
table printed for people goes through these two functions.
"""
from __future__ import annotations

import csv
import re

# Cells starting with these are formulas (or become one) in Excel, LibreOffice and Google Sheets.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d+)*|\.\d+)(?:[eE][+-]?\d+)?")

# ESC-introduced sequences: CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), other ESC x,
# and their 8-bit forms (CSI U+009B, OSC U+009D); then any C0/C1 control left over.
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"          # CSI
    r"|(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC (hyperlinks, titles)
    r"|\x1b[PX^_][^\x1b\x9c]*(?:\x1b\\|\x9c)?"   # DCS, SOS, PM, APC
    r"|\x1b[@-Z\\-_]?"                            # other two-byte escapes
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def csv_cell(value: object) -> object:
    """A CSV cell that no spreadsheet runs: text starting with ``= + - @`` tab or CR gets a leading
    ``'`` (numbers, including negative ones, are left as they are)."""
    if not isinstance(value, str) or not value:
        return value
    if value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value.strip()):
        return "'" + value
    return value


def terminal_text(value: object) -> str:
    """Text safe to print on a terminal: escape sequences and control characters removed,
    line breaks and tabs turned into spaces (one table row stays one line)."""
    text = "" if value is None else str(value)
    text = _ESCAPES.sub("", text)
    text = text.replace("\n", " ").replace("\t", " ").replace("\r", " ")
    return _CONTROLS.sub("", text)


def safe_csv_writer(handle, **options):
    """``csv.writer`` whose every cell goes through :func:`csv_cell`: the one way onionwatch writes CSV."""
    writer = csv.writer(handle, **options)

    class _Safe:
        def writerow(self, row):
            return writer.writerow([csv_cell(value) for value in row])

        def writerows(self, rows):
            for row in rows:
                self.writerow(row)

    return _Safe()


class SafeDictWriter(csv.DictWriter):
    """``csv.DictWriter`` whose every cell goes through :func:`csv_cell`."""

    def _dict_to_list(self, rowdict):
        return [csv_cell(value) for value in super()._dict_to_list(rowdict)]
