"""What extraction produces: listings and pages in the shape of the extraction contract."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from extract.measures import Money

PAGE_TYPES = ("listing", "category", "vendor", "captcha", "login", "error", "other")
GATE_TYPES = frozenset({"captcha", "login"})


@dataclass
class RawListing:
    """One item as a page object reads it, before normalisation (text as shown on the page)."""

    title: str
    url: str | None = None
    vendor: str | None = None
    prices: list[Money] = field(default_factory=list)
    quantity_text: str | None = None  # where the page states the amount apart from the title
    ships_from: str | None = None
    ships_to: list[str] | str | None = None
    city: str | None = None
    district: str | None = None
    dead_drop: str | None = None
    category: str | None = None  # context for the drug when the title is silent


@dataclass
class Listing:
    title: str
    url: str | None = None
    vendor: str | None = None
    price: float | None = None
    currency: str | None = None
    prices: list[dict] = field(default_factory=list)
    price_usd: float | None = None
    price_usd_basis: str | None = None
    quantity: float | None = None
    unit: str | None = None
    usd_per_base_unit: float | None = None  # price per g, ml or unit, for comparing offers
    placeholder_price: bool = False  # "do not buy" or $99,999 holding listings: kept, never averaged in
    drug: str | None = None
    drug_class: str | None = None
    ships_from: str | None = None
    ships_to: list[str] = field(default_factory=list)
    city: str | None = None
    district: str | None = None
    dead_drop: str | None = None
    crypto_addresses: list[dict] = field(default_factory=list)
    pgp_fingerprints: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class PageResult:
    source: str
    market: str | None
    page_type: str
    listings: list[Listing] = field(default_factory=list)
    vendor: dict | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "source": self.source,
            "market": self.market,
            "page_type": self.page_type,
            "listings": [listing.as_dict() for listing in self.listings],
            "vendor": self.vendor,
            "error": self.error,
            "warnings": self.warnings,
        }
