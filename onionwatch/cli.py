"""The ``onionwatch`` command. Every subcommand has --help with an example."""
from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from datetime import date
from pathlib import Path

from onionwatch.config import ConfigError, load_config
from onionwatch.safe_output import safe_csv_writer, terminal_text
from onionwatch.display import LISTING_CSV_FIELDS, Progress, amount, describe_change, listing_row, plural, timestamp


def _learned_cli():
    from extract.learned import cli

    return cli


def _command(subparsers, name: str, summary: str, example: str) -> argparse.ArgumentParser:
    return subparsers.add_parser(
        name, help=summary, description=summary,
        epilog="example:\n" + textwrap.indent(example.strip(), "  "),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _count(low: int, high: int):
    """An argparse type: a whole number from ``low`` to ``high`` (a bad --limit is an error, not a crash)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is out of range ({low} to {high})")
        return value

    parse.__name__ = "count"
    return parse


MAX_LIMIT = 10_000


def _output_options(parser: argparse.ArgumentParser) -> None:
    formats = parser.add_mutually_exclusive_group()
    formats.add_argument("--json", action="store_true", help="JSON lines, one row each, for machines")
    formats.add_argument("--csv", action="store_true", help="CSV with a header row, for spreadsheets and exchange")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="onionwatch",
        description="Darknet-marketplace monitoring: crawl market mirrors, extract listings, index, search.",
        epilog="example:\n  onionwatch run && onionwatch search 'drug:cocaine'",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", help="TOML configuration file (default: $ONIONWATCH_CONFIG or ./onionwatch.toml)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = _command(sub, "run", "Crawl, extract and index every configured market once, then show what was found.",
                   "onionwatch run                 # the bundled sample markets, embedded index\n"
                   "onionwatch run --market tayga  # one configured market")
    run.add_argument("--market", action="append", help="only this market (repeatable)")
    run.set_defaults(handler=cmd_run)

    extract = _command(sub, "extract", "Extract listings from saved pages (files or folders) without indexing.",
                       "onionwatch extract --jsonl saved/market/ > listings.jsonl\n"
                       "onionwatch extract --generic page.html\n"
                       "onionwatch extract --jsonl --market newshop --examples labelled/ saved/newshop/")
    extract.add_argument("paths", nargs="+", metavar="PATH", help="saved page or folder of pages")
    extract.add_argument("--jsonl", action="store_true", help="one JSON object per page (the extraction contract)")
    extract.add_argument("--market", help="force this market's parser")
    extract.add_argument("--generic", action="store_true", help="force the generic extractor even for known markets")
    extract.add_argument("--examples", metavar="DIR", help="learn --market's layout from the pages in DIR, each P "
                                                           "with its labels P.json (gold format), and use it")
    extract.set_defaults(handler=cmd_extract)

    markets = _command(sub, "markets", "List the markets taught from examples (learned layouts) and their versions.",
                       "onionwatch markets\nonionwatch markets --json")
    markets.add_argument("--json", action="store_true", help="JSON lines, one market each")
    markets.set_defaults(handler=lambda args, config: _learned_cli().cmd_markets(args, config))

    teach = _command(sub, "teach", "Teach onionwatch a market's layout from a page you label (no code).",
                     "onionwatch teach newshop saved/newshop/cat1.html --template labels.json\n"
                     "onionwatch teach newshop saved/newshop/cat1.html --labels labels.json")
    teach.add_argument("name", help="the market's name (lowercase, e.g. newshop)")
    teach.add_argument("page", help="a saved page of the market")
    teach.add_argument("--template", metavar="OUT", help="write the labels template to fill in here")
    teach.add_argument("--page-type", default="category", choices=["category", "listing", "vendor"],
                       help="what the page is, for the template (default: category)")
    teach.add_argument("--labels", metavar="FILE", help="the filled-in template: learn from it and save the market")
    teach.add_argument("--yes", action="store_true", help="never ask; a value found in two places is an error")
    teach.add_argument("--show", type=int, default=10, help="captured pages of the market to preview (default 10)")
    teach.set_defaults(handler=lambda args, config: _learned_cli().cmd_teach(args, config))

    search = _command(sub, "search", "Search indexed listings: free text plus field filters.",
                      "onionwatch search 'drug:mephedrone city:Алматы'\n"
                      "onionwatch search '\"flake cocaine\" ships_from:NL' --json")
    search.add_argument("query", help="free text, \"phrases\", filters (drug: market: vendor: city: district: "
                                      "ships_from: ships_to: currency: dead_drop: drug_class:), ranges "
                                      "(price_usd:[10 TO 50] seen:>=2024-01-01), AND OR NOT ( )")
    search.add_argument("--limit", type=_count(1, MAX_LIMIT), default=20,
                        help=f"most hits to show, 1 to {MAX_LIMIT} (default 20)")
    search.add_argument("--all", action="store_true", dest="include_removed",
                        help="also listings removed from their market (or ask for status:removed)")
    _output_options(search)
    search.set_defaults(handler=cmd_search)

    stats = _command(sub, "stats", "Prices over time (median and mean USD per gram or unit), listing counts, top vendors.",
                     "onionwatch stats --by drug\n"
                     "onionwatch stats 'market:tayga' --by city --csv > tayga-prices.csv\n"
                     "onionwatch stats --counts --by market\n"
                     "onionwatch stats --top-vendors 10")
    stats.add_argument("query", nargs="?", default="", help="which listings (the search language; default all)")
    stats.add_argument("--by", default="drug", help="group by drug, drug_class, market, city, vendor, ships_from or dead_drop")
    what = stats.add_mutually_exclusive_group()
    what.add_argument("--counts", action="store_true", help="listing counts per group instead of prices")
    what.add_argument("--top-vendors", type=_count(1, MAX_LIMIT), metavar="N", help="the N vendors with most listings")
    _output_options(stats)
    stats.set_defaults(handler=cmd_stats)

    changes = _command(sub, "changes", "What changed between runs: new and removed listings, price changes, vendors gone.",
                       "onionwatch changes --since 2024-03-01\n"
                       "onionwatch changes --since 2024-03-01 --market tayga --json")
    changes.add_argument("--since", required=True, type=date.fromisoformat, help="YYYY-MM-DD")
    changes.add_argument("--market", help="only this market")
    _output_options(changes)
    changes.set_defaults(handler=cmd_changes)

    vendor = _command(sub, "vendor", "A vendor on every market: first and last seen, PGP keys, addresses, linked accounts.",
                      "onionwatch vendor NordicSnow\n"
                      "onionwatch vendor NordicSnow --json")
    vendor.add_argument("name")
    _output_options(vendor)
    vendor.set_defaults(handler=cmd_vendor)

    index_cmd = _command(sub, "index", "Manage the search index; it is derived data, rebuilt from the capture store.",
                         "onionwatch index rebuild")
    index_cmd.add_argument("action", choices=["rebuild"],
                           help="rebuild: re-extract every capture into a new index, swapped in when done")
    index_cmd.set_defaults(handler=cmd_index)

    replay = _command(sub, "replay", "Re-extract captured WARC files with the current extractor and index them.",
                      "onionwatch replay --market northwind onionwatch-data/captures/northwind/2026-11-28/*.warc.gz")
    replay.add_argument("warcs", nargs="+", metavar="WARC", help="capture files written by a crawl")
    replay.add_argument("--market", required=True, help="market the captures belong to")
    replay.add_argument("--root", help="URL the market's pages live under (default: the folder of the first page)")
    replay.set_defaults(handler=cmd_replay)

    captures = _command(sub, "captures", "Check the capture store: re-hash every WARC record against its digest.",
                        "onionwatch captures verify\n"
                        "onionwatch captures verify --market tayga")
    captures.add_argument("action", choices=["verify"],
                          help="verify: report records altered, missing or cut off since capture (exit 1 if any)")
    captures.add_argument("--market", help="only this market's captures")
    captures.set_defaults(handler=cmd_captures)

    rates = _command(sub, "rates", "Exchange rates for price_usd: import a CSV offline, update online, or show one.",
                     "onionwatch rates import rates.csv      # columns: date,currency,usd_per_unit[,source]\n"
                     "onionwatch rates update                # today's crypto and fiat rates from public APIs\n"
                     "onionwatch rates show KZT --date 2024-03-01")
    rates_sub = rates.add_subparsers(dest="action", required=True, metavar="ACTION")
    rates_import = rates_sub.add_parser("import", help="store the rates of a CSV file")
    rates_import.add_argument("file", type=Path)
    rates_update = rates_sub.add_parser("update", help="fetch today's rates (needs the network)")
    rates_update.add_argument("--crypto-api", help="URL template for crypto prices in USD ({ids} is filled in)")
    rates_update.add_argument("--fiat-api", help="URL of fiat rates per USD")
    rates_show = rates_sub.add_parser("show", help="the USD rate a conversion would use, and where it comes from")
    rates_show.add_argument("currency")
    rates_show.add_argument("--date", type=date.fromisoformat, default=None, help="YYYY-MM-DD (default today)")
    rates.set_defaults(handler=cmd_rates)

    schedule = _command(sub, "schedule", "Run markets on their schedules, unattended (APScheduler, SQLite job store).",
                        "onionwatch schedule list\n"
                        "onionwatch schedule run-now tayga\n"
                        "onionwatch --config /etc/onionwatch.toml schedule start   # foreground, for systemd")
    schedule.add_argument("action", choices=["start", "list", "run-now"],
                          help="start: run in the foreground until SIGTERM; list: next run per market; "
                               "run-now: one run of MARKET now")
    schedule.add_argument("market", nargs="?", help="with run-now: the market")
    schedule.set_defaults(handler=cmd_schedule)

    runs = _command(sub, "runs", "Past runs: when, how they ended, pages fetched and changed, listings, why a run failed.",
                    "onionwatch runs\n"
                    "onionwatch runs --market tayga --limit 50 --json")
    runs.add_argument("--market", help="only this market")
    runs.add_argument("--limit", type=_count(1, MAX_LIMIT), default=20, help=f"most runs to show, 1 to {MAX_LIMIT}")
    _output_options(runs)
    runs.set_defaults(handler=cmd_runs)

    watch = _command(sub, "watch", "Watchlists: saved queries; after each run their new hits are sent to the alert sinks.",
                     "onionwatch watch add almaty-meph 'drug:mephedrone city:Алматы'\n"
                     "onionwatch watch list\n"
                     "onionwatch watch remove almaty-meph")
    watch.add_argument("action", choices=["add", "list", "remove"])
    watch.add_argument("name", nargs="?", help="the watchlist's name")
    watch.add_argument("query", nargs="?", help="with add: the query (the search language)")
    watch.set_defaults(handler=cmd_watch)

    vocab = _command(sub, "vocab", "The canonical values filters take, and the other names that map to them.",
                     "onionwatch vocab            # drugs, drug classes, cities, dead-drop types\n"
                     "onionwatch vocab drug       # drug ids and their synonyms (English and Russian)")
    vocab.add_argument("field", nargs="?", choices=["drug", "drug_class", "city", "dead_drop"],
                       help="only this field")
    vocab.set_defaults(handler=cmd_vocab)

    from onionwatch import outputs_cli  # export, evidence, leads

    outputs_cli.register(sub, _command)

    from onionwatch.web.commands import register as register_web  # serve, users, audit (#13)

    register_web(sub, _command)
    return parser


def _table(rows: list[dict], columns: list[tuple[str, str, int]]) -> str:
    """A plain text table; columns are (key, heading, max width)."""
    def cell(row, key, width):
        value = row.get(key)
        if isinstance(value, float):
            value = amount(value)
        elif key in TIME_COLUMNS and value:
            value = timestamp(value)
        elif isinstance(value, list):
            value = ", ".join(map(str, value))
        value = terminal_text(value)  # page text: no escape sequences reach the terminal
        return value if len(value) <= width else value[: width - 1] + "…"

    widths = [max([len(heading)] + [len(cell(r, key, w)) for r in rows]) for key, heading, w in columns]
    lines = ["  ".join(h.ljust(width) for (_, h, _), width in zip(columns, widths))]
    lines.append("  ".join("-" * width for width in widths))
    for row in rows:
        lines.append("  ".join(cell(row, key, w).ljust(width) for (key, _, w), width in zip(columns, widths)))
    return "\n".join(lines)


LISTING_COLUMNS = [
    ("market", "market", 12), ("title", "title", 40), ("vendor", "vendor", 16), ("price", "price", 12),
    ("currency", "cur", 4), ("price_usd", "usd", 10), ("drug", "drug", 16), ("ships_from", "from", 4),
    ("city", "city", 14), ("dead_drop", "drop", 7), ("last_seen", "last seen", 23),
]
TIME_COLUMNS = {"last_seen", "first_seen", "removed_at", "at", "vanished_at", "started", "captured_at"}


def cmd_run(args, config) -> int:
    from index import open_index
    from onionwatch.monitor import Monitor

    from onionwatch.datalock import writer_lock

    markets = tuple(config.market(name) for name in args.market) if args.market else config.markets
    with writer_lock(config.data_dir, "run"):
        index = open_index(config)
        monitor = Monitor(config, index)
        progress = Progress()
        reports = []
        try:
            for market in markets:
                progress.started(market.name, config.captures_dir / market.name)
                report = monitor.run(market)
                progress.finished(market.name, report.pages, report.listings, report.seen_again, report.status)
                reports.append(report)
            unsent = monitor.alerts_without_sink()
        finally:
            monitor.close()
    if unsent:
        print(f"warning: {plural(unsent, 'watchlist alert')} kept unsent: no alert sink is configured "
              "([alerts] jsonl, webhook or smtp_* in the configuration); they go out once one is", file=sys.stderr)
    for report in reports:
        errors = [p for p in report.problems if p.kind == "error"]
        gates = [p for p in report.problems if p.kind == "gate"]
        changes = ", ".join(f"{report.changes[k]} {k}" for k in ("new", "changed", "unchanged", "gone"))
        again = f", {report.seen_again} still listed on unchanged pages" if report.seen_again else ""
        print(f"{report.market}: {report.status} — {report.pages} pages ({changes}), {report.listings} listings "
              f"extracted{again}, {report.indexed} indexed, {len(gates)} gate pages, {len(errors)} page errors")
        if report.error:
            print(f"  error: {terminal_text(report.error)}")
        for problem in report.problems:
            if problem.kind != "gate":
                print(f"  {problem.kind}: {terminal_text(problem.url)}: {terminal_text(problem.message)}")
    print(f"\nIndex at {config.index_dir} holds {index.count()} listings.\n")
    for report in reports:
        result = index.search(f'market:"{report.market}"', limit=5)
        if result.hits:
            print(f"{report.market} ({plural(result.total, 'listing')}, first {len(result.hits)}):")
            print(_table(result.hits, LISTING_COLUMNS) + "\n")
    print("Try: onionwatch search 'drug:cocaine'   or   onionwatch search 'city:Алматы'")
    return 1 if any(r.status == "failed" for r in reports) else 0


def _page_files(path: Path) -> list[tuple[str, Path]]:
    if path.is_dir():
        files = []
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            relative = file.relative_to(path)
            if not any(part.startswith(".") for part in relative.parts):
                files.append((os.path.join(str(path), str(relative)), file))
        return files
    return [(str(path), path)]


def cmd_extract(args, config) -> int:
    from extract.markets import MARKETS
    from extract.page import extract_page, prepare
    from extract.learned.cli import learned_for_extract

    learned = learned_for_extract(args, config)
    if learned is None and args.examples is not None:
        return 2
    if args.market and args.market not in MARKETS and learned is None:
        print(f"onionwatch extract: no parser for market {args.market!r} (known: {', '.join(sorted(MARKETS))})",
              file=sys.stderr)
        return 2
    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        print(f"onionwatch extract: no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    prepare()
    for given in args.paths:
        for source, file in _page_files(Path(given)):
            try:
                result = extract_page(file.read_bytes(), source=source, market=args.market, generic=args.generic,
                                      learned=learned)
                record = result.as_dict()
            except Exception as exc:  # a page must never stop the run; say what broke
                record = {"source": source, "market": args.market, "page_type": "error", "listings": [],
                          "vendor": None, "error": f"{type(exc).__name__}: {exc}", "warnings": []}
            if args.jsonl:
                print(json.dumps(record, ensure_ascii=False))
            else:
                detail = record.get("error") or f"{len(record['listings'])} listings"
                print(terminal_text(f"{source}: {record['market'] or '?'} {record['page_type']} — {detail}"))
    return 0


def _emit(args, rows: list[dict], columns: list[tuple[str, str, int]], heading: str | None = None) -> None:
    """Rows as a table for people, or JSON lines (--json) or CSV (--csv) for machines."""
    if args.json:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
    elif args.csv:
        writer = safe_csv_writer(sys.stdout)
        writer.writerow([key for key, _, _ in columns])
        for row in rows:
            writer.writerow([terminal_text("; ".join(map(str, v)) if isinstance(v := row.get(key), list) else v)
                             for key, _, _ in columns])
    else:
        if heading:
            print(heading)
        if rows:
            print(_table(rows, columns))


def cmd_search(args, config) -> int:
    from onionwatch.service import Service, ServiceError

    from index.query import parse_query
    from index.vocab import suggestions

    try:
        service = Service(config)
        if service.needs_rebuild():
            print("onionwatch: the index was written by an older version; run 'onionwatch index rebuild' "
                  "(it re-reads every capture)", file=sys.stderr)
        result = service.search(args.query, limit=args.limit, include_removed=args.include_removed)
    except ServiceError as exc:
        print(f"onionwatch search: {exc}", file=sys.stderr)
        return 2
    if args.csv:
        _emit(args, [listing_row(hit) for hit in result.hits], [(key, key, 0) for key in LISTING_CSV_FIELDS])
        return 0
    columns = LISTING_COLUMNS + ([("status", "status", 7)] if args.include_removed else [])
    verb = "matches" if result.total == 1 else "match"
    _emit(args, result.hits, columns, f"{plural(result.total, 'listing')} {verb}; showing {len(result.hits)}.")
    if result.total == 0 and not args.json:
        hints = suggestions(parse_query(args.query))
        if hints:
            print(f"did you mean {' or '.join(hints)}?  ('onionwatch vocab' lists the values filters take)")
    return 0


def cmd_stats(args, config) -> int:
    from onionwatch.service import Service, ServiceError

    kind = "top_vendors" if args.top_vendors else "counts" if args.counts else "prices"
    try:
        service = Service(config)
        rows = service.stats(args.query, by=args.by, kind=kind, top=args.top_vendors or 10)
        unpriced = service.unpriced(args.query) if kind == "prices" else 0
    except ServiceError as exc:
        print(f"onionwatch stats: {exc}", file=sys.stderr)
        return 2
    if kind == "top_vendors":
        columns = [("vendor", "vendor", 30), ("listings", "listings", 9), ("markets", "markets", 40)]
    elif kind == "counts":
        columns = [(args.by, args.by, 30), ("listings", "listings", 9)]
    else:
        columns = [("month", "month", 7), (args.by, args.by, 24), ("unit", "USD per", 7),
                   ("observations", "seen", 6), ("median_usd", "median", 12), ("q1_usd", "Q1", 12),
                   ("q3_usd", "Q3", 12), ("mean_usd", "mean", 12)]
        if args.json or args.csv:
            columns += [("exact", "exact", 5), ("error_bound", "error_bound", 5)]
        elif any(not row["exact"] for row in rows):
            for row in rows:
                row["median_usd"] = f"~{amount(row['median_usd'])}" if not row["exact"] else row["median_usd"]
    _emit(args, rows, columns, None if rows else "nothing to show for that query")
    if not (args.json or args.csv or args.counts or args.top_vendors):
        if any(not row["exact"] for row in rows):
            print("~ estimated from a percentile sketch (error within ±1%): too many distinct prices to be exact")
        if unpriced:
            print(f"{plural(unpriced, 'observation')} without a USD price per unit (no rate or no quantity) "
                  "not in these figures", file=sys.stderr)
    return 0


def cmd_changes(args, config) -> int:
    from onionwatch.service import Service

    rows = Service(config).changes(args.since.isoformat(), args.market)
    for row in rows:
        row["detail"] = describe_change(row) if not args.json else row["detail"]
    columns = [("at", "when", 23), ("market", "market", 12), ("kind", "change", 16), ("vendor", "vendor", 18),
               ("title", "title", 40), ("detail", "detail", 70)]
    _emit(args, rows, columns, f"{plural(len(rows), 'change')} since {args.since.isoformat()}")
    return 0


def cmd_vendor(args, config) -> int:
    from onionwatch.service import Service

    rows = Service(config).vendor(args.name)
    if not rows:
        print(f"no vendor named {args.name!r} seen yet", file=sys.stderr)
        return 1
    if not args.json:
        for row in rows:
            row["pgp_fingerprints"] = ", ".join(row["pgp_fingerprints"])
            row["crypto_addresses"] = ", ".join(f"{a['chain']}:{a['address']}" for a in row["crypto_addresses"])
            row["linked"] = ", ".join(f"{v['name']}@{v['market']}" for v in row["linked"])
    if args.json or args.csv:
        columns = [(key, key, 0) for key in ("market", "name", "first_seen", "last_seen", "vanished_at",
                                              "pgp_fingerprints", "crypto_addresses", "linked")]
        _emit(args, rows, columns)
        return 0
    for row in rows:  # one block per account: fingerprints and addresses are too long for a table
        print(f"{row['name']} on {row['market']}")
        print(f"  first seen   {timestamp(row['first_seen'])}")
        print(f"  last seen    {timestamp(row['last_seen'])}")
        if row["vanished_at"]:
            print(f"  vanished     {timestamp(row['vanished_at'])}")
        for label, value in (("PGP", row["pgp_fingerprints"]), ("addresses", row["crypto_addresses"]),
                             ("linked", row["linked"])):
            for i, item in enumerate(value.split(", ") if value else []):
                print(f"  {label if i == 0 else '':<12} {item}")
        print()
    return 0


def cmd_index(args, config) -> int:
    from onionwatch.datalock import writer_lock
    from onionwatch.recovery import rebuild_index

    with writer_lock(config.data_dir, "index rebuild"):
        result = rebuild_index(config)
    for line in result.skipped:
        print(f"warning: {terminal_text(line)}", file=sys.stderr)
    print(f"rebuilt from {result.files} capture files: {result.listings} listings ({result.writes} writes)"
          + (f"; {len(result.skipped)} problems (above)" if result.skipped else ""))
    return 0


def cmd_replay(args, config) -> int:
    from index import open_index
    from onionwatch.pipeline import MarketReport, Sinks, ingest_warc, source_root, start_url_of

    from onionwatch.datalock import writer_lock

    lock = writer_lock(config.data_dir, "replay")
    lock.__enter__()  # first: another writer at work is said before anything else
    missing = [warc for warc in args.warcs if not Path(warc).is_file()]
    if missing:
        lock.__exit__(None, None, None)
        print(f"onionwatch replay: no such capture file: {', '.join(missing)}", file=sys.stderr)
        return 2
    sinks = Sinks.open(config, open_index(config), incremental=False)
    status = 0
    try:
        for warc in args.warcs:
            report = MarketReport(market=args.market, warc_path=warc)
            try:
                root = args.root or source_root(start_url_of(f"warc:{Path(warc).resolve()}"))
                ingest_warc(Path(warc), args.market, root, sinks, report)
            except Exception as exc:  # garbage or a damaged capture: say so, go on with the next file
                print(f"onionwatch replay: {warc}: not a readable WARC capture ({type(exc).__name__}: "
                      f"{' '.join(terminal_text(str(exc)).split())[:200]}); check it with 'onionwatch captures verify'", file=sys.stderr)
                status = 1
                continue
            print(f"{warc}: {report.pages} pages, {report.listings} listings, {report.indexed} indexed")
            if report.error:
                print(f"  error: {report.error}")
                status = 1
    finally:
        sinks.close()
        lock.__exit__(None, None, None)
    return status


def cmd_captures(args, config) -> int:
    from crawlers.evidence import Damage, capture_files, check_capture, orphan_manifests

    files = capture_files(config.captures_dir, args.market)
    total, damage, unlisted = 0, [], 0
    for path in files:  # a damaged file is reported and the next one checked
        checked, found, has_manifest = check_capture(path)
        total += checked
        damage.extend(found)
        unlisted += not has_manifest
    for manifest in orphan_manifests(config.captures_dir, args.market):
        damage.append(Damage("MISSING", str(manifest)[: -len(".manifest.jsonl")], None, "",
                             "the whole capture file is gone (its run's manifest is still there)"))
    for problem in damage:
        print(terminal_text(problem.line()))
    kinds = [d.kind for d in damage]
    others = len(kinds) - kinds.count("ALTERED") - kinds.count("MISSING")
    print(f"{total} records in {len(files)} capture files checked, {kinds.count('ALTERED')} altered."
          f" {kinds.count('MISSING')} missing, {others} other problems"
          + (f"; {unlisted} files have no record manifest (digests checked only)" if unlisted else "") + ".")
    return 1 if damage else 0


def cmd_rates(args, config) -> int:
    from extract.rates import CRYPTO_API, FIAT_API, RatesStore, ecb_usd_rate, update_rates

    store = RatesStore(config.rates_db)
    try:
        if args.action == "import":
            try:
                print(f"{store.import_csv(args.file)} rates imported from {args.file}")
            except (OSError, ValueError) as exc:
                print(f"onionwatch rates import: {exc}", file=sys.stderr)
                return 2
        elif args.action == "update":
            try:
                count = update_rates(store, date.today(), args.crypto_api or CRYPTO_API, args.fiat_api or FIAT_API)
            except (OSError, ValueError) as exc:
                print(f"onionwatch rates update: cannot fetch rates ({exc}); "
                      "offline machines use 'onionwatch rates import FILE.csv'", file=sys.stderr)
                return 1
            print(f"{count} rates stored for {date.today().isoformat()}")
        else:
            day = args.date or date.today()
            found = store.lookup(args.currency.upper(), day) or ecb_usd_rate(args.currency.upper(), day)
            if found is None:
                print(f"no rate known for {args.currency.upper()} on or before {day.isoformat()}")
                return 1
            print(f"1 {args.currency.upper()} = {found[0]:.6g} USD ({found[1]})")
    finally:
        store.close()
    return 0


def cmd_schedule(args, config) -> int:
    import logging

    import scheduler

    if args.action == "run-now":
        if not args.market:
            print("onionwatch schedule run-now: name the market", file=sys.stderr)
            return 2
        from index import open_index
        from onionwatch.datalock import writer_lock
        from onionwatch.monitor import Monitor

        with writer_lock(config.data_dir, "run"):
            monitor = Monitor(config, open_index(config))
            try:
                report = monitor.run(config.market(args.market))
            finally:
                monitor.close()
        print(f"{report.market}: {report.status}, {report.pages} pages, {report.indexed} listings indexed"
              + (f" ({report.error})" if report.error else ""))
        return 0 if report.status in ("ok", "degraded") else 1
    if not scheduler.scheduled_markets(config):
        print("onionwatch schedule: no market has a 'schedule' in the configuration "
              "(e.g. schedule = \"interval:6h\" or \"cron:0 */6 * * *\")", file=sys.stderr)
        return 2
    if args.action == "list":
        jobs = scheduler.build_scheduler(config)
        for job in jobs.get_jobs():
            print(f"{job.id}: next run {job.next_run_time:%Y-%m-%d %H:%M:%S %Z} ({job.name.split(' ', 1)[1]})")
        jobs.shutdown(wait=False)
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    return scheduler.serve(config)


def cmd_runs(args, config) -> int:
    from onionwatch.service import Service

    rows = Service(config).runs(args.limit, args.market)
    columns = [("started", "started", 20), ("market", "market", 12), ("status", "status", 11), ("pages", "pages", 5),
               ("new_pages", "new", 4), ("changed_pages", "chg", 4), ("unchanged_pages", "same", 4),
               ("listings", "listings", 8), ("alerts", "alerts", 6), ("reason", "why", 70)]
    _emit(args, rows, columns, None if rows else "no runs yet")
    return 0


def cmd_watch(args, config) -> int:
    from onionwatch.service import Service, ServiceError

    service = Service(config)
    if args.action == "list":
        for watchlist in service.watchlists():
            print(f"{watchlist['name']}: {watchlist['query']}")
        return 0
    if not args.name:
        print(f"onionwatch watch {args.action}: name the watchlist", file=sys.stderr)
        return 2
    if args.action == "remove":
        if not service.remove_watchlist(args.name):
            print(f"onionwatch watch remove: no watchlist named {args.name!r}", file=sys.stderr)
            return 1
        return 0
    try:
        service.add_watchlist(args.name, args.query)
    except ServiceError as exc:
        print(f"onionwatch watch add: {exc}", file=sys.stderr)
        return 2
    print(f"watching {args.name}: {args.query}")
    if not service.alert_sinks():
        print("warning: no alert sink is configured ([alerts] jsonl, webhook or smtp_* in the configuration): "
              "hits are kept and sent once one is", file=sys.stderr)
    return 0


def cmd_vocab(args, config) -> int:
    from index.vocab import listing

    for field in [args.field] if args.field else ["drug", "drug_class", "city", "dead_drop"]:
        print(f"{field}:")
        for value, others in listing(field):
            print(f"  {value}" + (f"  ({', '.join(others)})" if others else ""))
    print("countries: ISO codes (NL, DE, GB, KZ, EU, WW); names in English or Russian are accepted "
          "(ships_from:Netherlands, ships_to:Европа)")
    print("status: active (default in search), removed")
    return 0


def main(argv: list[str] | None = None) -> int:
    from index.protocol import IndexBusy
    from onionwatch.datalock import DataFolderBusy

    args = build_parser().parse_args(argv)
    try:
        config = load_config(args.config)
        status = args.handler(args, config)
        sys.stdout.flush()  # inside the try: a reader that went away is handled below
        return status
    except ConfigError as exc:
        print(f"onionwatch: {exc}", file=sys.stderr)
        return 2
    except (DataFolderBusy, IndexBusy) as exc:
        print(f"onionwatch: {exc}", file=sys.stderr)
        return 3
    except BrokenPipeError:
        # the reader went away (| head): stop quietly, and keep Python from complaining at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # a damaged store or an unreachable server: one line, which and how to recover
        from onionwatch.recovery import store_failure

        message = store_failure(exc, config) if "config" in locals() else None
        if message is None:
            raise
        print(f"onionwatch: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
