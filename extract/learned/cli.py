"""The command-line side of learned markets: ``extract --examples``, ``markets``, ``teach``."""
from __future__ import annotations

import sys
from pathlib import Path

from extract.learned import LabelError, LearnedMarket, examples_in, learn_from_examples
from extract.learned import store


def _fail(command: str, message: str) -> None:
    print(f"onionwatch {command}: {message}", file=sys.stderr)


def learned_for_extract(args, config) -> LearnedMarket | None:
    """The learned market ``extract`` should use: learned now from --examples, or stored under --market.
    Prints a one-line error and returns None when --examples cannot be used."""
    if args.examples is None:
        from extract.markets import MARKETS

        if not args.market or args.market in MARKETS:  # a page object comes before a learned layout
            return None
        try:
            return store.load(config.data_dir, args.market)
        except store.StoreError as exc:
            _fail("extract", str(exc))
            return None
    if not args.market:
        _fail("extract", "--examples needs --market NAME (the market the examples come from)")
        return None
    folder = Path(args.examples)
    if not folder.is_dir():
        _fail("extract", f"--examples {folder}: not a folder")
        return None
    pairs = examples_in(folder)
    if not pairs:
        _fail("extract", f"--examples {folder}: no page P with its labels P.json beside it")
        return None
    try:
        model = learn_from_examples(pairs, strict=False)
    except LabelError as exc:
        _fail("extract", str(exc))
        return None
    for warning in model.get("warnings", []):  # labels that could not be placed: said, not fatal
        print(f"onionwatch extract: warning: {warning}", file=sys.stderr)
    return LearnedMarket(args.market, model)


def cmd_markets(args, config) -> int:
    rows = store.list_markets(config.data_dir)
    if args.json:
        import json

        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
        return 0
    if not rows:
        print(f"no learned markets in {store.markets_dir(config.data_dir)}; teach one: onionwatch teach NAME PAGE")
        return 0
    for row in rows:
        if row.get("error"):
            print(f"{row['market']}: unreadable: {row['error']}")
            continue
        print(f"{row['market']}: version {row['version']}, learned {row['learned_at']}, page types "
              f"{row['page_types']}, {row['examples']} example pages, {row['older_versions']} older versions kept")
    return 0


def _ask(problem) -> int:
    print(f"{problem.field} {problem.value!r} occurs in {len(problem.places)} places:", file=sys.stderr)
    for n, place in enumerate(problem.places, 1):
        print(f"  {n}. {place}", file=sys.stderr)
    while True:
        answer = input(f"which one shows the item (1-{len(problem.places)})? ").strip()
        if answer.isdigit() and 1 <= int(answer) <= len(problem.places):
            return int(answer)


def _captured_pages(config, market: str, limit: int) -> list[tuple[str, bytes]]:
    from crawlers.evidence import capture_files, read_pages

    pages, seen = [], set()
    for warc in reversed(capture_files(config.captures_dir, market)):  # newest captures first
        for page in read_pages(warc):
            if page.revisit or page.url in seen:
                continue
            seen.add(page.url)
            pages.append((page.url, page.body))
            if len(pages) >= limit:
                return pages
    return pages


def cmd_teach(args, config) -> int:
    import json

    from extract.learned import teach as teaching

    page = Path(args.page)
    if not page.is_file():
        _fail("teach", f"no such page: {page}")
        return 2
    try:
        store.check_name(args.name)
    except store.StoreError as exc:
        _fail("teach", str(exc))
        return 2
    if not args.labels:
        text = json.dumps(teaching.template(args.page_type), ensure_ascii=False, indent=1) + "\n"
        if args.template:
            Path(args.template).write_text(text, encoding="utf-8")
            print(f"wrote {args.template}: fill in two or three items as {page} shows them, then run\n"
                  f"  onionwatch teach {args.name} {page} --labels {args.template}")
        else:
            sys.stdout.write(text)
        return 0
    try:
        filled = json.loads(Path(args.labels).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        _fail("teach", f"--labels {args.labels}: not readable JSON ({exc})")
        return 2
    interactive = not args.yes and sys.stdin.isatty()
    try:
        taught = teaching.teach(config.data_dir, args.name, page, filled, choose=_ask if interactive else None)
    except (LabelError, store.StoreError) as exc:
        _fail("teach", str(exc))
        return 2
    print(f"learned {args.name} version {taught.version} from {taught.examples} example pages: {taught.path}")
    pages = [(str(page), page.read_bytes())] + _captured_pages(config, args.name, args.show)
    for row in teaching.preview(taught.market, pages):
        print(f"\n{row['source']}: {row['page_type']} ({row['layout']} layout), {len(row['listings'])} listings")
        for listing in row["listings"][:5]:
            price = f"{listing['price']:g} {listing['currency']}" if listing.get("price") is not None else "-"
            extra = ", ".join(str(listing[k]) for k in ("vendor", "ships_from", "city", "district", "dead_drop")
                              if listing.get(k))
            print(f"  {listing['title'][:60]} | {price} | {extra}")
    print("\nIf this is right, you are done; otherwise label another page: "
          f"onionwatch teach {args.name} OTHER_PAGE --template more.json")
    return 0
