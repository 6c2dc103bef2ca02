"""Observations (what a listing cost when it was seen) and the aggregations over them.

Each time a listing is captured, an observation is stored beside it, one per
listing and day: price, amount, USD per gram or unit, when. Prices over time
are aggregated from observations, never from the current state alone.

Both backends take the same aggregation request: tantivy's aggregation
language is Elasticsearch's, so one body, one parser, one answer. Prices are
never pooled across kinds of unit: USD per gram, per millilitre and per unit
(pill, blotter) are separate rows. Medians and quartiles are exact, computed
from the distinct observed values and their counts, as long as the query
matches at most ``EXACT_OBSERVATIONS`` priced observations (the engines cap
the buckets one request may make); beyond that, or for a group with more
than ``EXACT_VALUES`` distinct prices, they are percentile-sketch estimates
and the row says so (``exact`` false, ``error_bound``).
Placeholder prices ("do not buy", $99,999) are left out of every price figure.
Group names come back as the market wrote them (``Алматы``, ``NordicSnow``),
not as the case-folded key they are grouped by.
"""
from __future__ import annotations

import math

from index.query import MATCH_ALL, And, Node, Not, Range, Term

GROUPS = ("drug", "drug_class", "market", "city", "vendor", "ships_from", "dead_drop")
_OBSERVED = ("listing_id", "market", "title", "vendor", "drug", "drug_class", "city", "district", "dead_drop",
             "ships_from", "currency", "unit", "price", "price_usd", "quantity", "usd_per_base_unit",
             "captured_at", "placeholder_price")
# Names kept as written beside their folded keys, so groups are shown as the market wrote them.
SHOWN_FIELDS = ("market", "vendor", "city", "district")
# Up to this many distinct prices per group, and this many priced observations per query,
# medians and quartiles are exact; beyond, estimates (labelled). Both engines cap the buckets
# one request may make (tantivy 65,000; Elasticsearch search.max_buckets 65,536).
EXACT_VALUES = 10_000
EXACT_OBSERVATIONS = 50_000
ESTIMATE_ERROR = "±1%"  # the percentile sketch's relative error (DDSketch in tantivy, TDigest in Elasticsearch)
_BASE_UNITS = {"g": "g", "kg": "g", "mg": "g", "ml": "ml", "l": "ml", "unit": "unit"}


def base_unit(unit: str | None) -> str | None:
    """The unit a price per base unit is per: g, ml or unit."""
    return _BASE_UNITS.get((unit or "").strip().lower())


def shown_names(document: dict) -> dict:
    """``<field>_shown``: the written form of each name field, for display."""
    shown = {}
    for name in SHOWN_FIELDS:
        value = document.get(name)
        if isinstance(value, str) and value.strip():
            shown[f"{name}_shown"] = " ".join(value.split())
    return shown


def observation_from(listing: dict) -> dict:
    """The observation a captured listing makes: its id names the listing and the day.

    It is dated when the listing was last seen (a listing on a page that did not change
    is seen again without being re-extracted), else when it was captured."""
    observation = {key: listing.get(key) for key in _OBSERVED}
    seen = listing.get("last_seen") or listing.get("captured_at")
    observation["captured_at"] = seen
    observation["base_unit"] = base_unit(listing.get("unit")) if listing.get("usd_per_base_unit") else None
    observation["doc_id"] = f"{listing['listing_id']}@{(seen or '')[:10]}"
    observation["kind"] = "observation"
    return observation


def quantile(values: list[tuple[float, int]], q: float) -> float | None:
    """The q-quantile (linear interpolation between order statistics, as ``statistics.quantiles``
    with method='inclusive') of values given as (value, count)."""
    values = sorted(values)
    n = sum(count for _, count in values)
    if n == 0:
        return None
    position = (n - 1) * q
    low, fraction = int(math.floor(position)), position - math.floor(position)

    def at(k: int) -> float:
        seen = 0
        for value, count in values:
            seen += count
            if k < seen:
                return value
        return values[-1][0]

    first = at(low)
    return first if fraction == 0 else first + fraction * (at(low + 1) - first)


def _shown(bucket: dict, key: str) -> str:
    shown = bucket.get("shown", {}).get("buckets") or []
    return shown[0]["key"] if shown else key


def _group_aggs(group_by: str, aggs: dict) -> dict:
    if group_by in SHOWN_FIELDS:
        aggs = {**aggs, "shown": {"terms": {"field": f"{group_by}_shown", "size": 1}}}
    return aggs


def _priced(node: Node) -> Node:
    """The user's query, on priced observations that are real offers."""
    return And((node, Range("usd_per_base_unit", 0.0, None, include_low=False),
                Not(Term("placeholder_price", "true"))))


class Aggregations:
    """Analyst aggregations over any backend that can run an aggregation body on a query."""

    def _aggregate(self, node: Node, body: dict, kind: str) -> dict:
        raise NotImplementedError

    def _count(self, node: Node, kind: str) -> int:
        raise NotImplementedError

    def price_stats(self, query: str = "", group_by: str = "drug") -> list[dict]:
        """Per month, group and base unit (g, ml, unit): observations, exact median and quartiles
        and mean USD per that unit (estimates above ``EXACT_VALUES`` distinct prices, labelled)."""
        from index.vocab import canonicalise
        from index.query import parse_query

        if group_by not in GROUPS:
            raise ValueError(f"cannot group by {group_by!r} (choose from {', '.join(GROUPS)})")
        node = _priced(canonicalise(parse_query(query)))
        per_unit = {
            "estimate": {"percentiles": {"field": "usd_per_base_unit", "percents": [25, 50, 75]}},
            "mean": {"avg": {"field": "usd_per_base_unit"}},
        }
        if self._count(node, "observation") <= EXACT_OBSERVATIONS:
            per_unit["values"] = {"terms": {"field": "usd_per_base_unit", "size": EXACT_VALUES}}
        body = {"by_month": {"terms": {"field": "month", "size": 1000}, "aggs": {
            "by_group": {"terms": {"field": group_by, "size": 200}, "aggs": _group_aggs(group_by, {
                "by_unit": {"terms": {"field": "base_unit", "size": 10}, "aggs": per_unit},
            })}}}}
        answer = self._aggregate(node, body, "observation")
        rows = []
        for month in answer["by_month"]["buckets"]:
            for group in month["by_group"]["buckets"]:
                name = _shown(group, group["key"])
                for unit in group["by_unit"]["buckets"]:
                    values = unit.get("values")
                    exact = values is not None and not values.get("sum_other_doc_count")
                    if exact:
                        counted = [(float(b["key"]), b["doc_count"]) for b in values["buckets"]]
                        q1, median, q3 = (quantile(counted, q) for q in (0.25, 0.5, 0.75))
                    else:
                        estimate = {float(k): v for k, v in unit["estimate"]["values"].items()}
                        q1, median, q3 = estimate.get(25.0), estimate.get(50.0), estimate.get(75.0)
                    rows.append({"month": month["key"], group_by: name, "unit": unit["key"],
                                 "observations": unit["doc_count"], "median_usd": _round(median),
                                 "q1_usd": _round(q1), "q3_usd": _round(q3), "mean_usd": _round(unit["mean"]["value"]),
                                 "exact": exact, "error_bound": None if exact else ESTIMATE_ERROR})
        return sorted(rows, key=lambda row: (row["month"], str(row[group_by]).casefold(), row["unit"]))

    def unpriced_observations(self, query: str = "") -> int:
        """Observations the query matches that have no USD price per unit (no rate known, no
        quantity, or a placeholder): left out of ``price_stats``, and said so."""
        from index.vocab import canonicalise
        from index.query import parse_query

        node = canonicalise(parse_query(query))
        return self._count(node, "observation") - self._count(_priced(node), "observation")

    def listing_counts(self, query: str = "", group_by: str = "market") -> list[dict]:
        from index.query import listing_query

        if group_by not in GROUPS:
            raise ValueError(f"cannot group by {group_by!r} (choose from {', '.join(GROUPS)})")
        body = {"groups": {"terms": {"field": group_by, "size": 500}, "aggs": _group_aggs(group_by, {})}}
        answer = self._aggregate(listing_query(query), body, "listing")
        rows = [{group_by: _shown(b, b["key"]), "listings": b["doc_count"]} for b in answer["groups"]["buckets"]]
        return sorted(rows, key=lambda row: (-row["listings"], str(row[group_by]).casefold()))

    def top_vendors(self, query: str = "", size: int = 10) -> list[dict]:
        from index.query import listing_query

        body = {"vendors": {"terms": {"field": "vendor", "size": max(size * 3, 50)}, "aggs": _group_aggs("vendor", {
            "markets": {"terms": {"field": "market", "size": 20}}})}}
        answer = self._aggregate(listing_query(query), body, "listing")
        rows = [{"vendor": _shown(b, b["key"]), "listings": b["doc_count"],
                 "markets": sorted(m["key"] for m in b["markets"]["buckets"])} for b in answer["vendors"]["buckets"]]
        return sorted(rows, key=lambda row: (-row["listings"], row["vendor"].casefold()))[:size]


def _round(value):
    return round(value, 2) if isinstance(value, (int, float)) else None
