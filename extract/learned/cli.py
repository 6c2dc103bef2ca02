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
        if not args.market:
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
        return LearnedMarket(args.market, learn_from_examples(pairs))
    except LabelError as exc:
        _fail("extract", str(exc))
        return None
