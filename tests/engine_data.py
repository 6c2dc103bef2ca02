"""Synthetic listings for the engine tests and benchmarks (ids stable, prices by run)."""
from __future__ import annotations

import random

DRUGS = ["cocaine", "mephedrone", "alpha-pvp", "cannabis", "hashish", "mdma", "heroin", "amphetamine"]
CITIES = ["Алматы", "Астана", "Бишкек", "Ташкент", None]


def listings(ids, market: str = "m1", run: int = 0, seed: int = 3) -> list[dict]:
    """One listing per id; the price depends on the id and the run, so a later run changes some prices."""
    docs = []
    for number in ids:
        rng = random.Random(f"{seed}-{number}")
        grams = rng.choice([1, 2, 5])
        price = round(rng.uniform(10, 90) * grams * (1 + 0.1 * run * (number % 3 == 0)), 2)
        docs.append({
            "listing_id": f"{market}-{number:06d}", "market": market, "drug": rng.choice(DRUGS),
            "title": f"{rng.choice(DRUGS)} кристаллы premium {grams}g", "vendor": f"vendor{number % 40}",
            "city": rng.choice(CITIES), "currency": "USD", "price": price, "price_usd": price,
            "quantity": grams, "unit": "g", "usd_per_base_unit": round(price / grams, 4),
            "captured_at": f"2024-{1 + run % 12:02d}-15T12:00:00Z",
        })
    return docs
