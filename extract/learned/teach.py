"""Teaching a market from a page the analyst labelled: template, checks, learning, preview.

Independent of any interface: the CLI (``onionwatch teach``) and a future web
form call the same functions. ``template`` gives the labels to fill in;
``prepare_labels`` turns what the analyst typed ("$45", "Germany") into gold
format and checks every value is on the page; ``teach`` learns from the page
and the market's earlier examples and stores the new version; ``preview``
reads pages with it.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from extract.document import Document, parse
from extract.learned import LabelError, LearnedMarket, learn_from_examples, store
from extract.learned.wrapper import AmbiguousLabel, _body, describe, locate
from extract.measures import parse_prices
from extract.places import country_code, country_codes

ITEM_FIELDS = ("title", "vendor", "price", "currency", "ships_from", "ships_to", "quantity", "city", "district",
               "dead_drop")
_HELP = ("Fill in two or three items exactly as the page shows them (title, vendor, price with its currency "
         "as shown, e.g. \"$45\" or \"0.0012 BTC\" or \"25 000 ₸\"; ships_from/ships_to as shown; city, district "
         "and dead_drop for dead-drop shops). Leave a field empty when the page does not show it. page_type: "
         "category (a list of items), listing (one item's page) or vendor (a vendor profile, also fill vendor_name).")


def template(page_type: str = "category", items: int = 3) -> dict:
    return {"_help": _HELP, "page_type": page_type, "vendor_name": "",
            "listings": [{field: "" for field in ITEM_FIELDS} for _ in range(items)]}


def _value(item: dict, field: str):
    value = item.get(field)
    if isinstance(value, str):
        value = value.strip()
    return value if value not in (None, "", []) else None


def to_gold(filled: dict) -> dict:
    """The analyst's filled template in gold format: prices parsed, places as codes."""
    if not isinstance(filled, dict) or not isinstance(filled.get("listings", []), list):
        raise LabelError("labels must be a JSON object with a 'listings' list")
    page_type = filled.get("page_type") or "category"
    if page_type not in ("category", "listing", "vendor"):
        raise LabelError(f"page_type {page_type!r}: use category, listing or vendor")
    items = []
    for n, raw in enumerate(filled.get("listings") or [], 1):
        if not isinstance(raw, dict):
            raise LabelError(f"item {n}: must be an object of fields")
        if not any(_value(raw, f) for f in ITEM_FIELDS):
            continue  # an unused row of the template
        title = _value(raw, "title")
        if not title:
            raise LabelError(f"item {n}: a title is needed (as the page shows it)")
        item: dict = {"title": str(title)}
        for field in ("vendor", "city", "district"):
            if _value(raw, field):
                item[field] = str(_value(raw, field))
        price, currency = _value(raw, "price"), _value(raw, "currency")
        if price is not None:
            shown = f"{price} {currency or ''}".strip() if isinstance(price, (int, float)) else str(price)
            money = parse_prices(shown) or (parse_prices(f"{price} {currency}") if currency else [])
            if not money:
                raise LabelError(f"item {n}: price {price!r} needs its currency (\"$45\", \"0.0012 BTC\", "
                                 "or a currency field)")
            item["prices"] = [m.as_dict() for m in money]
        if _value(raw, "ships_from"):
            code = country_code(str(_value(raw, "ships_from")))
            if not code:
                raise LabelError(f"item {n}: ships_from {_value(raw, 'ships_from')!r} is not a country or region")
            item["ships_from"] = code
        if _value(raw, "ships_to"):
            codes = country_codes(_value(raw, "ships_to"))
            if not codes:
                raise LabelError(f"item {n}: ships_to {_value(raw, 'ships_to')!r} names no country or region")
            item["ships_to"] = codes
        if _value(raw, "dead_drop"):
            from extract.normalise import dead_drop_type

            item["dead_drop"] = dead_drop_type(str(_value(raw, "dead_drop")))
        if _value(raw, "quantity"):
            from extract.measures import parse_quantity

            quantity = parse_quantity(str(_value(raw, "quantity")))
            if quantity:
                item["quantity"] = quantity.amount
        if raw.get("occurrence"):
            item["occurrence"] = int(raw["occurrence"])
        items.append(item)
    gold: dict = {"page_type": page_type, "complete": False, "listings": items}
    if _value(filled, "vendor_name"):
        gold["vendor"] = {"name": str(_value(filled, "vendor_name"))}
    if not items and "vendor" not in gold:
        raise LabelError("no item filled in: label two or three items as the page shows them")
    return gold


def check_labels(doc: Document, gold: dict, source: str,
                 choose: Callable[[AmbiguousLabel], int] | None = None) -> dict:
    """Every labelled value must be on the page. A title found in several places is settled by
    ``choose`` (returns the 1-based place) or, without it, is an error naming the places."""
    body = _body(doc)
    for item in gold["listings"]:
        for field in ("title", "vendor", "price", "ships_from", "ships_to", "city", "district", "dead_drop"):
            key = "prices" if field == "price" else field
            if key not in item:
                continue
            value = item[key]
            hits = locate(body, field, value, {})
            if not hits:
                shown = value if field != "price" else ", ".join(f"{p['amount']:g} {p['currency']}" for p in value)
                raise LabelError(f"{field} {shown!r} is not on the page {source}")
            if field == "title" and "occurrence" not in item:
                exact = [h for h in hits if h.exact] or hits
                if len(exact) > 1 and gold["page_type"] == "listing":
                    continue  # a detail page names its item in several places (heading, breadcrumbs)
                if len(exact) > 1 and gold["page_type"] != "listing" and _separate(exact):
                    problem = AmbiguousLabel("title", value, [describe(body, h.node) for h in exact])
                    if choose is None:
                        raise LabelError(f"{problem}; add \"occurrence\": N (1 to {len(exact)}) to that item")
                    item["occurrence"] = choose(problem)
    if gold.get("vendor"):
        if not locate(body, "vendor", gold["vendor"]["name"], {}):
            raise LabelError(f"vendor_name {gold['vendor']['name']!r} is not on the page {source}")
    return gold


def _separate(hits) -> bool:
    """Two places that are not the same box shown twice (an item in a table and its pop-up)."""
    return len({h.node.getparent() for h in hits}) > 1 and len(hits) == 2


@dataclass
class Taught:
    path: Path
    version: int
    market: LearnedMarket
    examples: int


def teach(data_dir: Path, name: str, page: Path, filled: dict,
          choose: Callable[[AmbiguousLabel], int] | None = None) -> Taught:
    """Learn ``name`` from ``page`` with the analyst's labels (plus the market's earlier examples)
    and store it as a new version. Raises LabelError / StoreError with a one-line reason."""
    store.check_name(name)
    try:
        body = Path(page).read_bytes()
    except OSError as exc:
        raise LabelError(f"cannot read the page {page}: {exc.strerror or exc}") from None
    try:
        doc = parse(body)
    except ValueError as exc:
        raise LabelError(f"{page}: {exc}") from None
    gold = check_labels(doc, to_gold(filled), str(page), choose)
    folder = store.markets_dir(data_dir) / f"{name}.examples"
    earlier = []
    record = store.read(data_dir, name)
    digest = hashlib.sha256(body).hexdigest()
    for example in (record or {}).get("examples", []):
        saved = folder / example["sha256"]
        if example["sha256"] != digest and saved.exists() and example.get("labels"):
            earlier.append((saved, example["labels"], example["source"]))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / digest).write_bytes(body)
    pairs = [(p, labels) for p, labels, _ in earlier] + [(folder / digest, gold)]
    model = learn_from_examples(pairs)
    examples = [(source, Path(p).read_bytes(), labels["page_type"]) for p, labels, source in earlier]
    examples.append((str(page), body, gold["page_type"]))
    path = store.save(data_dir, name, model, examples)
    saved = json.loads(path.read_text(encoding="utf-8"))
    for entry, labels in zip(saved["examples"], [l for _, l, _ in earlier] + [gold]):
        entry["labels"] = labels
    path.write_text(json.dumps(saved, ensure_ascii=False, indent=1), encoding="utf-8")
    return Taught(path, saved["version"], LearnedMarket(name, model), len(pairs))


def preview(market: LearnedMarket, pages: list[tuple[str, bytes]]) -> list[dict]:
    """What the learned market reads from pages: one summary per page (generic fallback marked)."""
    from extract.page import extract_page

    rows = []
    for source, body in pages:
        try:
            doc = parse(body)
        except ValueError as exc:
            rows.append({"source": source, "layout": None, "page_type": "error", "listings": [], "error": str(exc)})
            continue
        learned = market.page_for(doc)
        result = extract_page(body, source=source, market=market.name, learned=market)
        rows.append({"source": source, "layout": "learned" if learned is not None else "generic",
                     "page_type": result.page_type, "listings": [l.as_dict() for l in result.listings]})
    return rows
