"""The ``export``, ``evidence`` and ``leads`` subcommands (registered by ``onionwatch.cli``)."""
from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import date
from pathlib import Path


def _selection_options(parser: argparse.ArgumentParser, listing: bool = False) -> None:
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--query", help="listings matching a query (the search language)")
    which.add_argument("--vendor", help="one vendor's listings, on every market")
    which.add_argument("--market", help="one market's listings")
    if listing:
        which.add_argument("--listing", metavar="ID", help="one listing, by its listing_id")
    parser.add_argument("--since", type=date.fromisoformat, help="only listings seen on or after YYYY-MM-DD")


def register(sub, command) -> None:
    export = command(sub, "export", "Export a selection of listings: STIX 2.1, MISP, GraphML, GEXF, i2, Parquet, CSV.",
                     "onionwatch export stix --vendor NordicSnow --out nordicsnow.stix.json\n"
                     "onionwatch export parquet --market tayga --since 2026-11-01 --out tayga-parquet/\n"
                     "onionwatch export --list")
    export.add_argument("format", nargs="?", help="the format (see --list)")
    _selection_options(export)
    export.add_argument("--out", type=Path, help="file, or folder for formats that write several files")
    export.add_argument("--list", action="store_true", help="list the formats and exit")
    export.set_defaults(handler=cmd_export)

    evidence = command(sub, "evidence", "Evidence package: the WARC records behind a selection, a manifest of hashes, "
                                        "an HTML and PDF report; 'verify' re-checks a package.",
                       "onionwatch evidence --vendor NordicSnow --examiner 'J. Smith' --out case-0412.zip\n"
                       "onionwatch evidence verify case-0412.zip")
    evidence.add_argument("action", nargs="?", choices=["verify"], help="verify: re-check every hash of PACKAGE")
    evidence.add_argument("package", nargs="?", type=Path, help="with verify: the package (.zip)")
    _selection_options(evidence, listing=True)
    evidence.add_argument("--out", type=Path, help="the package to write (.zip)")
    evidence.add_argument("--examiner", help="who makes the package (default: the logged-in user)")
    evidence.set_defaults(handler=cmd_evidence)

    leads = command(sub, "leads", "Financial-flow leads: crypto addresses and PGP keys shared by vendors, accounts "
                                  "and markets, ranked, with the captures that show them.",
                    "onionwatch leads\n"
                    "onionwatch leads --ranked --json\n"
                    "onionwatch leads --addresses --chain BTC\n"
                    "onionwatch leads --tagpack leads.yaml --labels labels.csv")
    leads.add_argument("--ranked", action="store_true", help="strongest lead first (default: newest first)")
    leads.add_argument("--addresses", action="store_true", help="every crypto address seen instead of the leads")
    leads.add_argument("--chain", help="with --addresses: only this chain (BTC, XMR, ETH, LTC, TRX)")
    leads.add_argument("--json", action="store_true", help="JSON lines, one row each")
    leads.add_argument("--tagpack", type=Path, metavar="FILE", help="also write the addresses as a GraphSense TagPack (YAML)")
    leads.add_argument("--labels", type=Path, metavar="FILE", help="also write an address-label CSV")
    leads.set_defaults(handler=cmd_leads)


def _selection(args):
    from onionwatch.selection import Selection

    return Selection(query=args.query, vendor=args.vendor, market=args.market,
                     listing=getattr(args, "listing", None), since=args.since)


def _fail(command: str, message: str, code: int = 2) -> int:
    print(f"onionwatch {command}: {message}", file=sys.stderr)
    return code


def cmd_export(args, config) -> int:
    from onionwatch import exporters

    formats = exporters.load_all()
    if args.list or not args.format:
        for name, exporter in sorted(formats.items()):
            print(f"{name:8} {'folder' if exporter.target == 'folder' else 'file  '}  {exporter.description}")
        return 0 if args.list else _fail("export", "name a format (onionwatch export --list)")
    if args.format not in formats:
        return _fail("export", f"no format {args.format!r} (known: {', '.join(sorted(formats))})")
    if not args.out:
        return _fail("export", "give --out PATH")
    from index import open_index
    from index.history import History
    from onionwatch.selection import SelectionError, select

    selection = _selection(args)
    try:
        selection.check()
    except SelectionError as exc:
        return _fail("export", str(exc))
    exporter = formats[args.format]
    out = args.out
    if exporter.target == "file" and out.is_dir():
        return _fail("export", f"{out} is a folder; {args.format} writes one file")
    if exporter.target == "folder" and out.exists() and not out.is_dir():
        return _fail("export", f"{out} is a file; {args.format} writes a folder of files")
    if not out.resolve().parent.is_dir():
        return _fail("export", f"no such folder: {out.parent}")
    history = History(config.history_db)
    try:
        items = select(open_index(config), history, selection)
        counts = exporter.write(items, out, exporters.ExportContext(selection=selection.describe()))
    except OSError as exc:
        return _fail("export", f"cannot write {out}: {exc.strerror or exc}", 1)
    finally:
        history.close()
    written = ", ".join(f"{v} {k}" for k, v in counts.items() if v) or "no listing matched the selection"
    print(f"{args.format} written to {out}: {written}")
    return 0


def cmd_evidence(args, config) -> int:
    from onionwatch import evidence

    if args.action == "verify":
        if not args.package:
            return _fail("evidence verify", "name the package: onionwatch evidence verify case.zip")
        try:
            result = evidence.verify_package(args.package)
        except evidence.PackageError as exc:
            return _fail("evidence verify", str(exc), 1)
        for line in result.problems:
            print(f"ALTERED {line}")
        print(f"{result.checked} records and {result.files} files checked, {len(result.problems)} problems.")
        return 1 if result.problems else 0
    selection = _selection(args)
    if not any((args.query, args.vendor, args.market, args.listing)):
        return _fail("evidence", "choose what the package is about: --vendor V, --listing ID, --query Q or --market M")
    if not args.out:
        return _fail("evidence", "give --out case.zip")
    if not args.out.resolve().parent.is_dir():
        return _fail("evidence", f"no such folder: {args.out.parent}")
    from onionwatch.selection import SelectionError

    examiner = args.examiner or getpass.getuser()
    try:
        summary = evidence.make_package(config, selection, args.out, examiner)
    except SelectionError as exc:
        return _fail("evidence", str(exc))
    except evidence.PackageError as exc:
        return _fail("evidence", str(exc), 1)
    print(f"evidence package {args.out}: {summary['listings']} listings, {summary['records']} WARC records, "
          f"made by {examiner}")
    return 0


def cmd_leads(args, config) -> int:
    from onionwatch import leads

    book = leads.Sightings.open(config)
    try:
        book.update(config.captures_dir)
        if args.addresses:
            rows = leads.addresses(book, chain=args.chain)
        else:
            rows = leads.find_leads(book)
            if not args.ranked:
                rows = sorted(rows, key=lambda lead: (lead["last_seen"] or "", -lead["score"]), reverse=True)
        for path, write in ((args.tagpack, leads.write_tagpack), (args.labels, leads.write_label_csv)):
            if path:
                try:
                    print(f"{write(leads.addresses(book), path)} addresses written to {path}", file=sys.stderr)
                except OSError as exc:
                    return _fail("leads", f"cannot write {path}: {exc.strerror or exc}", 1)
    finally:
        book.close()
    if args.json:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
    else:
        print(leads.render(rows, addresses=args.addresses))
    return 0
