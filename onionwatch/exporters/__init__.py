"""Exporters: one module per format behind a small registry, all fed by the same selection.

An exporter is a function ``(items, out, context) -> dict`` registered with
:func:`exporter`; ``items`` is the stream of :class:`onionwatch.selection.Selected`
(never a list: a selection may hold a million listings), ``out`` the path asked for,
and the returned dict counts what was written. ``onionwatch export FORMAT`` and the
web/API find formats here by name.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from onionwatch import __version__


@dataclass
class ExportContext:
    selection: dict = field(default_factory=dict)  # what was asked for (Selection.describe())
    version: str = __version__
    created: str | None = None  # ISO time written into formats that need one; None: derived from the data


@dataclass(frozen=True)
class Exporter:
    name: str
    description: str
    target: str  # "file" or "folder": what --out names
    write: Callable[[Iterable, Path, ExportContext], dict]


EXPORTERS: dict[str, Exporter] = {}
_MODULES = ("stix", "misp", "graph", "i2", "tables")


def exporter(name: str, description: str, target: str = "file"):
    """Register a function as the exporter of ``name``."""
    def register(function):
        EXPORTERS[name] = Exporter(name, description, target, function)
        return function
    return register


def load_all() -> dict[str, Exporter]:
    for module in _MODULES:
        importlib.import_module(f"onionwatch.exporters.{module}")
    return EXPORTERS


def get(name: str) -> Exporter:
    formats = load_all()
    if name not in formats:
        raise KeyError(f"no exporter named {name!r} (known: {', '.join(sorted(formats))})")
    return formats[name]
