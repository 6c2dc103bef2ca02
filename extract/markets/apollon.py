"""Apollon Market (2019-2020): PHP pages (home.php, listing.php, user.php), bootstrap rows."""
from __future__ import annotations

import re

from extract.markets.base import Market, MarketPage, labelled_value, select, select_one, text
from extract.measures import parse_prices
from extract.model import RawListing

_PERCENT = re.compile(r"\s*\(\d+(?:\.\d+)?%\)\s*$")


def _vendor_name(link) -> str | None:
    """"NAME (100%)" -> "NAME": the rating shown after a vendor's name is not part of it."""
    name = text(link)
    return _PERCENT.sub("", name) if name else None


class ApollonCategoryPage(MarketPage):
    page_type = "category"

    def listings(self) -> list[RawListing]:
        found = []
        for row in select(self.root, "div.col-sm-12"):
            title_link = select_one(row, "div.col-sm-8 > small > a[href*='listing.php?ls_id=']")
            if title_link is None:
                continue
            category_links = select(row, "div.col-sm-8 a[href*='home.php?cid=']")
            found.append(RawListing(
                title=text(title_link),
                url=self.link(title_link),
                vendor=_vendor_name(select_one(row, "div.col-sm-8 a[href*='user.php?u_id=']")),
                prices=parse_prices(text(row, "div.col-sm-3") or ""),
                category=" / ".join(filter(None, (text(a) for a in category_links))) or None,
            ))
        # The home page's "Featured Listings" panel: one small box per item.
        for box in select(self.root, "div.table-responsive > div"):
            title_link = select_one(box, "p > a[href*='listing.php?ls_id=']")
            if title_link is None:
                continue
            found.append(RawListing(
                title=text(title_link),
                url=self.link(title_link),
                vendor=_vendor_name(select_one(box, "a[href*='user.php?u_id=']")),
                prices=parse_prices(text(box, "sub > span") or ""),
            ))
        return found


class ApollonListingPage(MarketPage):
    page_type = "listing"

    def listings(self) -> list[RawListing]:
        title_link = select_one(self.root, "div.col-sm-12 > a[href^='?ls_id=']")
        details = title_link.getparent().getparent()
        prices = parse_prices(text(details, "form div.col-sm-6 h5") or "")
        return [RawListing(
            title=text(title_link),
            url=self.link(title_link),
            vendor=_vendor_name(select_one(details, "a[href*='user.php?u_id=']")),
            prices=prices,
            ships_from=labelled_value(details, "Origin Country"),
            ships_to=labelled_value(details, "Ship to"),
        )]


class ApollonProfilePage(MarketPage):
    """A user profile: a vendor's (with its feedback tab), or a buyer's (``other``)."""

    @property
    def page_type(self) -> str:
        return "vendor" if labelled_value(self.root, "User Type") == "Seller" else "other"

    def vendor(self) -> dict | None:
        if self.page_type != "vendor":
            return None
        return {"name": self.doc.title.split(" - User Profile")[0].strip() or None}


class ApollonOtherPage(MarketPage):
    page_type = "other"


class Apollon(Market):
    name = "apollon"

    @classmethod
    def recognises(cls, doc) -> bool:
        return doc.title.endswith("- Apollon Market")

    @classmethod
    def page_for(cls, doc, url):
        if "- User Profile -" in doc.title:
            return ApollonProfilePage(doc, url)
        if select_one(doc.tree, "div.col-sm-12 > a[href^='?ls_id=']") is not None:
            return ApollonListingPage(doc, url)
        if select_one(doc.tree, "a[href*='listing.php?ls_id=']") is not None:
            return ApollonCategoryPage(doc, url)
        return ApollonOtherPage(doc, url)
