"""The ``onionwatch`` command. Every subcommand has --help with an example."""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import textwrap
from datetime import date
from pathlib import Path

from onionwatch.config import ConfigError, load_config


def _command(subparsers, name: str, summary: str, example: str) -> argparse.ArgumentParser:
    return subparsers.add_parser(
        name, help=summary, description=summary,
        epilog="example:\n" + textwrap.indent(example.strip(), "  "),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


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
                       "onionwatch extract --generic page.html")
    extract.add_argument("paths", nargs="+", metavar="PATH", help="saved page or folder of pages")
    extract.add_argument("--jsonl", action="store_true", help="one JSON object per page (the extraction contract)")
    extract.add_argument("--market", help="force this market's parser")
    extract.add_argument("--generic", action="store_true", help="force the generic extractor even for known markets")
    extract.set_defaults(handler=cmd_extract)

    search = _command(sub, "search", "Search indexed listings: free text plus field filters.",
                      "onionwatch search 'drug:mephedrone city:Алматы'\n"
                      "onionwatch search '\"flake cocaine\" ships_from:NL' --json")
    search.add_argument("query", help="free text, \"phrases\", filters (drug: market: vendor: city: district: "
                                      "ships_from: ships_to: currency: dead_drop: drug_class:), ranges "
                                      "(price_usd:[10 TO 50] seen:>=2024-01-01), AND OR NOT ( )")
    search.add_argument("--limit", type=int, default=20, help="most hits to show (default 20)")
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
    what.add_argument("--top-vendors", type=int, metavar="N", help="the N vendors with most listings")
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
    index_cmd.add_argument("action", choices=["rebuild"], help="rebuild: empty the index and re-extract every capture")
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
    captures.add_argument("action", choices=["verify"], help="verify: report any record that changed since capture")
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
    runs.add_argument("--limit", type=int, default=20)
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

    from onionwatch.web.commands import register as register_web  # serve, users, audit (#13)

    register_web(sub, _command)
    return parser


def _table(rows: list[dict], columns: list[tuple[str, str, int]]) -> str:
    """A plain text table; columns are (key, heading, max width)."""
    def cell(row, key, width):
        value = row.get(key)
        if isinstance(value, float):
            value = f"{value:,.2f}"
        elif isinstance(value, list):
            value = ", ".join(map(str, value))
        value = "" if value is None else str(value)
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
    ("city", "city", 14), ("dead_drop", "drop", 7),
]


def cmd_run(args, config) -> int:
    from index import open_index
    from onionwatch.monitor import Monitor

    markets = tuple(config.market(name) for name in args.market) if args.market else config.markets
    index = open_index(config)
    monitor = Monitor(config, index)
    try:
        reports = [monitor.run(market) for market in markets]
    finally:
        monitor.close()
    for report in reports:
        errors = [p for p in report.problems if p.kind == "error"]
        gates = [p for p in report.problems if p.kind == "gate"]
        changes = ", ".join(f"{report.changes[k]} {k}" for k in ("new", "changed", "unchanged", "gone"))
        print(f"{report.market}: {report.status} — {report.pages} pages ({changes}), {report.listings} listings "
              f"extracted, {report.indexed} indexed, {len(gates)} gate pages, {len(errors)} page errors")
        if report.error:
            print(f"  error: {report.error}")
        for problem in report.problems:
            if problem.kind != "gate":
                print(f"  {problem.kind}: {problem.url}: {problem.message}")
    print(f"\nIndex at {config.index_dir} holds {index.count()} listings.\n")
    for report in reports:
        result = index.search(f'market:"{report.market}"', limit=5)
        if result.hits:
            print(f"{report.market} ({result.total} listings, first {len(result.hits)}):")
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
    from extract.page import extract_page

    if args.market and args.market not in MARKETS:
        print(f"onionwatch extract: no parser for market {args.market!r} (known: {', '.join(sorted(MARKETS))})",
              file=sys.stderr)
        return 2
    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        print(f"onionwatch extract: no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    for given in args.paths:
        for source, file in _page_files(Path(given)):
            try:
                result = extract_page(file.read_bytes(), source=source, market=args.market, generic=args.generic)
                record = result.as_dict()
            except Exception as exc:  # a page must never stop the run; say what broke
                record = {"source": source, "market": args.market, "page_type": "error", "listings": [],
                          "vendor": None, "error": f"{type(exc).__name__}: {exc}", "warnings": []}
            if args.jsonl:
                print(json.dumps(record, ensure_ascii=False))
            else:
                detail = record.get("error") or f"{len(record['listings'])} listings"
                print(f"{source}: {record['market'] or '?'} {record['page_type']} — {detail}")
    return 0


def _emit(args, rows: list[dict], columns: list[tuple[str, str, int]], heading: str | None = None) -> None:
    """Rows as a table for people, or JSON lines (--json) or CSV (--csv) for machines."""
    if args.json:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
    elif args.csv:
        writer = csv.writer(sys.stdout)
        writer.writerow([key for key, _, _ in columns])
        for row in rows:
            writer.writerow(["; ".join(map(str, v)) if isinstance(v := row.get(key), list) else ("" if v is None else v)
                             for key, _, _ in columns])
    else:
        if heading:
            print(heading)
        if rows:
            print(_table(rows, columns))


def cmd_search(args, config) -> int:
    from onionwatch.service import Service, ServiceError

    try:
        result = Service(config).search(args.query, limit=args.limit)
    except ServiceError as exc:
        print(f"onionwatch search: {exc}", file=sys.stderr)
        return 2
    _emit(args, result.hits, LISTING_COLUMNS, f"{result.total} listings match; showing {len(result.hits)}.")
    return 0


def cmd_stats(args, config) -> int:
    from onionwatch.service import Service, ServiceError

    kind = "top_vendors" if args.top_vendors else "counts" if args.counts else "prices"
    try:
        rows = Service(config).stats(args.query, by=args.by, kind=kind, top=args.top_vendors or 10)
    except ServiceError as exc:
        print(f"onionwatch stats: {exc}", file=sys.stderr)
        return 2
    if kind == "top_vendors":
        columns = [("vendor", "vendor", 30), ("listings", "listings", 9), ("markets", "markets", 40)]
    elif kind == "counts":
        columns = [(args.by, args.by, 30), ("listings", "listings", 9)]
    else:
        columns = [("month", "month", 7), (args.by, args.by, 24), ("observations", "seen", 6),
                   ("median_usd", "median USD/unit", 16), ("mean_usd", "mean USD/unit", 14)]
    _emit(args, rows, columns, None if rows else "nothing to show for that query")
    return 0


def cmd_changes(args, config) -> int:
    from onionwatch.service import Service

    rows = Service(config).changes(args.since.isoformat(), args.market)
    for row in rows:
        row["detail"] = json.dumps(row["detail"], ensure_ascii=False) if not args.json else row["detail"]
    columns = [("at", "when", 19), ("market", "market", 12), ("kind", "change", 16), ("vendor", "vendor", 18),
               ("title", "title", 40), ("detail", "detail", 60)]
    _emit(args, rows, columns, f"{len(rows)} changes since {args.since.isoformat()}")
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
    columns = [("market", "market", 12), ("name", "name", 20), ("first_seen", "first seen", 19),
               ("last_seen", "last seen", 19), ("vanished_at", "vanished", 19), ("pgp_fingerprints", "PGP", 40),
               ("crypto_addresses", "addresses", 60), ("linked", "linked accounts", 40)]
    _emit(args, rows, columns)
    return 0


def cmd_index(args, config) -> int:
    from crawlers.evidence import capture_files, read_pages
    from index import open_index
    from onionwatch.pipeline import MarketReport, Sinks, ingest_warc, source_root

    files = sorted(capture_files(config.captures_dir), key=lambda p: (p.parent.name, p.name))
    index = open_index(config)
    index.clear()
    sinks = Sinks.open(config, index, incremental=False)
    total = 0
    try:
        for warc in files:  # oldest first, so the newest state wins and observations keep their dates
            first = next(read_pages(warc), None)
            if first is None:
                continue
            report = MarketReport(market=first.market or warc.parent.parent.name, warc_path=str(warc))
            ingest_warc(warc, report.market, source_root(first.url), sinks, report)
            total += report.indexed
    finally:
        sinks.close()
    print(f"rebuilt from {len(files)} capture files: {index.count()} listings ({total} writes)")
    return 0


def cmd_replay(args, config) -> int:
    from index import open_index
    from onionwatch.pipeline import MarketReport, Sinks, ingest_warc, source_root, start_url_of

    sinks = Sinks.open(config, open_index(config), incremental=False)
    status = 0
    try:
        for warc in args.warcs:
            root = args.root or source_root(start_url_of(f"warc:{Path(warc).resolve()}"))
            report = MarketReport(market=args.market, warc_path=warc)
            ingest_warc(Path(warc), args.market, root, sinks, report)
            print(f"{warc}: {report.pages} pages, {report.listings} listings, {report.indexed} indexed")
            if report.error:
                print(f"  error: {report.error}")
                status = 1
    finally:
        sinks.close()
    return status


def cmd_captures(args, config) -> int:
    from crawlers.evidence import capture_files, verify

    files = capture_files(config.captures_dir, args.market)
    total, altered = 0, []
    for path in files:
        checked, bad = verify(path)
        total += checked
        altered.extend(bad)
    for record in altered:
        print(f"ALTERED {record.warc_file} @ {record.offset} {record.url}: {'; '.join(record.problems)}")
    print(f"{total} records in {len(files)} capture files checked, {len(altered)} altered.")
    return 1 if altered else 0


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
        from onionwatch.monitor import Monitor

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
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = load_config(args.config)
        return args.handler(args, config)
    except ConfigError as exc:
        print(f"onionwatch: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
