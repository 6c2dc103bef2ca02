"""Observations (what a listing cost when it was seen) and the aggregations over them.

Each time a listing is captured, an observation is stored beside it, one per
listing and day: price, amount, USD per gram or unit, when. Prices over time
are aggregated from observations, never from the current state alone.

Both backends take the same aggregation request: tantivy's aggregation
language is Elasticsearch's, so one body, one parser, one answer. Medians are
estimated the same way on both (percentile sketches), to within a percent.
Placeholder prices ("do not buy", $99,999) are left out of every price figure.
"""
from __future__ import annotations

from index.query import MATCH_ALL, And, Node, Not, Range, Term, parse_query

GROUPS = ("drug", "drug_class", "market", "city", "vendor", "ships_from", "dead_drop")
_OBSERVED = ("listing_id", "market", "title", "vendor", "drug", "drug_class", "city", "district", "dead_drop",
             "ships_from", "currency", "unit", "price", "price_usd", "quantity", "usd_per_base_unit",
             "captured_at", "placeholder_price")


def observation_from(listing: dict) -> dict:
    """The observation a captured listing makes: its id names the listing and the day."""
    observation = {key: listing.get(key) for key in _OBSERVED}
    observation["doc_id"] = f"{listing['listing_id']}@{(listing.get('captured_at') or '')[:10]}"
    observation["kind"] = "observation"
    return observation


def _priced(node: Node) -> Node:
    """The user's query, on priced observations that are real offers."""
    return And((node, Range("usd_per_base_unit", 0.0, None, include_low=False),
                Not(Term("placeholder_price", "true"))))


class Aggregations:
    """Analyst aggregations over any backend that can run an aggregation body on a query."""

    def _aggregate(self, node: Node, body: dict, kind: str) -> dict:
        raise NotImplementedError

    def price_stats(self, query: str = "", group_by: str = "drug") -> list[dict]:
        """Per month and group: observations, median and mean USD per gram (or ml, or unit)."""
        if group_by not in GROUPS:
            raise ValueError(f"cannot group by {group_by!r} (choose from {', '.join(GROUPS)})")
        body = {"by_month": {"terms": {"field": "month", "size": 1000}, "aggs": {
            "by_group": {"terms": {"field": group_by, "size": 200}, "aggs": {
                "median": {"percentiles": {"field": "usd_per_base_unit", "percents": [50]}},
                "mean": {"avg": {"field": "usd_per_base_unit"}},
            }}}}}
        answer = self._aggregate(_priced(parse_query(query)), body, "observation")
        rows = []
        for month in answer["by_month"]["buckets"]:
            for group in month["by_group"]["buckets"]:
                median = next(iter(group["median"]["values"].values()), None)
                rows.append({"month": month["key"], group_by: group["key"], "observations": group["doc_count"],
                             "median_usd": _round(median), "mean_usd": _round(group["mean"]["value"])})
        return sorted(rows, key=lambda row: (row["month"], row[group_by]))

    def listing_counts(self, query: str = "", group_by: str = "market") -> list[dict]:
        if group_by not in GROUPS:
            raise ValueError(f"cannot group by {group_by!r} (choose from {', '.join(GROUPS)})")
        answer = self._aggregate(parse_query(query), {"groups": {"terms": {"field": group_by, "size": 500}}}, "listing")
        rows = [{group_by: b["key"], "listings": b["doc_count"]} for b in answer["groups"]["buckets"]]
        return sorted(rows, key=lambda row: (-row["listings"], row[group_by]))

    def top_vendors(self, query: str = "", size: int = 10) -> list[dict]:
        body = {"vendors": {"terms": {"field": "vendor", "size": max(size * 3, 50)}, "aggs": {
            "markets": {"terms": {"field": "market", "size": 20}}}}}
        answer = self._aggregate(parse_query(query) if query else MATCH_ALL, body, "listing")
        rows = [{"vendor": b["key"], "listings": b["doc_count"],
                 "markets": sorted(m["key"] for m in b["markets"]["buckets"])} for b in answer["vendors"]["buckets"]]
        return sorted(rows, key=lambda row: (-row["listings"], row["vendor"]))[:size]


def _round(value):
    return round(value, 2) if isinstance(value, (int, float)) else None
