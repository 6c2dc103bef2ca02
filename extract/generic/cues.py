"""The field's vocabulary (``cues.json``) compiled into matchers, once per process."""
from __future__ import annotations

import json
import re
from pathlib import Path

CUES = json.loads((Path(__file__).with_name("cues.json")).read_text(encoding="utf-8"))


def words(names: list[str], whole: bool = True) -> re.Pattern:
    """One pattern matching any of ``names`` (longest first), as whole words by default."""
    alternatives = "|".join(re.escape(n).replace(r"\ ", r"\s+") for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)" if whole else f"(?:{alternatives})", re.I)


LABEL_CLASSES = tuple(CUES["labels"])
# "Ships from:" alone, or "Ships from: Germany" (label and value in one piece of text).
LABEL_ALONE = {
    name: re.compile(rf"^\s*(?:{words(values).pattern})\s*[:：]?\s*$", re.I) for name, values in CUES["labels"].items()
}
LABEL_INLINE = {
    name: re.compile(rf"^\s*(?:{words(values).pattern})\s*[:：]\s*(?P<value>\S.*)$", re.I | re.S)
    for name, values in CUES["labels"].items()
}
CHROME_MARKS = words(CUES["chrome_marks"])
CHROME_TAGS = frozenset(CUES["chrome_tags"])
HREF_VENDOR = frozenset(CUES["href_vendor"])
HREF_ITEM = frozenset(CUES["href_item"])
HREF_OTHER = frozenset(CUES["href_other"])
ACTION = re.compile(rf"^(?:{words(CUES['action_words']).pattern}|\d+)$", re.I)
PURCHASE = words(CUES["purchase_words"])
PROFILE_WORDS = words(CUES["profile_words"])
PROFILE_TITLE = words(CUES["profile_title"])
BUYER = words(CUES["buyer"])
OWN_ACCOUNT = words(CUES["own_account"])  # a heading of the visitor's own pages ("Account dashboard")
LIST_TITLE = words(CUES["list_title"])
EMPTY_LIST = words(CUES["empty_list"])  # "no products in this category", "ничего не найдено"
RELATED_ITEMS = words(CUES["related_items"])  # an item page's "Related products", "похожие товары"
NOT_PRICE_CONTEXT = re.compile("|".join(re.escape(w) for w in CUES["not_price_context"]), re.I)
FEEDBACK = re.compile(
    r"\b\w[*]{2,}\w\b|\b\w\.\.\.\w\b|\b\w(?: \.){3} \w\b|^\d+[dhwm](?: \d+[hm])? |"
    r"\b\d+\s*(?:minutes?|hours?|days?|weeks?|months?)\s+ago\b"
    + "|" + words(CUES["feedback_words"]).pattern,
    re.I,
)
# A currency sign, or a code with no letter on either side; only whether one occurs is read.
# The word-start test comes once, before all the codes (each position is tried against the
# codes only where no letter precedes it): twice as fast as a test per code.
CURRENCY_HINT = re.compile(
    "|".join([re.escape(w) for w in CUES["currency_hint"] if not w.isalpha()]
             + [rf"(?<![a-zа-я])(?:{'|'.join(re.escape(w) for w in CUES['currency_hint'] if w.isalpha())})(?![a-zа-я])"]),
    re.I,
)
DROP_WORDS = words(CUES["drop_words"], whole=False)
CURRENCY_NAMES = words(CUES["currency_names"])  # "Bitcoin (BTC)": a rate box's heading, not an item's
_CLASS_TOKENS = re.compile(r"[a-z]+")
CLASS_WORDS = {word: name for name, values in CUES["class_words"].items() for word in values}


_COLUMN_TITLE = re.compile(rf"^(?:{words(CUES['column_title']).pattern})$", re.I)
_COLUMN_OTHER = re.compile(rf"^(?:{words(CUES['column_other']).pattern})$", re.I)


def column_kind(header: str) -> str | None:
    """A table header that names the item's title column ("Product") or a category column."""
    if _COLUMN_TITLE.match(header):
        return "title"
    if _COLUMN_OTHER.match(header):
        return "other"
    return None


def class_cues(marks: str) -> set[str]:
    """Cue classes named by an element's class and id ("item-price" -> price)."""
    found = set()
    lowered = marks.lower()
    for token in _CLASS_TOKENS.findall(lowered):
        name = CLASS_WORDS.get(token)
        if name:
            found.add(name)
    return found
