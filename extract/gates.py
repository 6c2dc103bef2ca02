"""Gate pages (captcha, DDoS filter, queue, anti-phishing, login, session expired) and error pages.

A gate stands between the crawler and the market: it carries no listings, and
reaching one means the analyst's session needs renewing. Signals are read from
the page alone, and only trusted on short pages, since full market pages often
carry a search box or a small login form too.
"""
from __future__ import annotations

import re
from itertools import islice

from extract.document import Document
from extract.markets.base import select

# A real market page lists many things; a gate page says one thing.
_GATE_MAX_TEXT = 2500
_GATE_MAX_LINKS = 40
_CAPTCHA_WORDS = re.compile(
    r"captcha|ddos|anti-?phishing|checking your browser|you are (?:number|#)\s*\d+ in (?:the )?queue|"
    r"in the queue|verify (?:that )?you are (?:a )?human|проверка на робота|капча|очередь|защита от ddos",
    re.IGNORECASE,
)
_SESSION_WORDS = re.compile(r"session (?:has )?expired|please log ?in|сессия истекла|войдите", re.IGNORECASE)
_ERROR_TITLE = re.compile(r"\b(?:40[034]|50[0234])\b|not found|\berror\b|ошибка", re.IGNORECASE)
_ERROR_WORDS = re.compile(
    r"not found|page (?:does not|doesn't) exist|server error|страница не найдена", re.IGNORECASE
)
# An error page's title says only that: "404", "Error 500", "404 - Not Found", "Ошибка 404".
# A title that merely holds such a word ("... 500 pills", "... 404 Labs") is no evidence alone.
_ERROR_ONLY_TITLE = re.compile(
    r"\W*(?:(?:error|ошибка|http)\W*)?(?:40[034]|50[0234])?\W*"
    r"(?:not found|page not found|forbidden|internal server error|server error|bad gateway|service unavailable|"
    r"gateway time-?out|error|ошибка|страница не найдена|не найдено)?\W*(?:40[034]|50[0234])?\W*",
    re.IGNORECASE,
)
# Phrases only error pages put in a title ("Listing not found").
_ERROR_PHRASE = re.compile(
    r"not found|page (?:does not|doesn't) exist|server error|не найден|"
    r"\b(?:error|ошибка|http)\s*:?\s*(?:40[034]|50[0234])\b|\b(?:40[034]|50[0234])\s*[-:–]?\s*(?:error|ошибка)\b",
    re.IGNORECASE)
# Bans and warnings for forbidden actions: the market refuses the page.
_BAN_WORDS = re.compile(
    r"security breach detected|you tried to perform an illegal action|maximum strikes reached|"
    r"account (?:is |has been |will be )?(?:temporarily )?(?:suspended|banned)|you (?:are|have been) banned",
    re.IGNORECASE,
)
# Prices as items show them (a currency sign next to a number); an error page shows none, or hardly any.
_PRICE = re.compile(r"[$€£₽₸฿]\s?\d|\d\s?[$€£₽₸]")
_LISTING_PRICES = 3


def _error_page(doc: Document, text: str, short: bool) -> bool:
    """Decided from the page's structure, never from a title word alone: a title or heading that
    says only "not found"/"error"/a status code, or an error phrase in the title, on a page without
    item prices; or a short page whose title and text both name an error."""
    if next(islice(_PRICE.finditer(text, 0, 50000), _LISTING_PRICES - 1, None), None) is not None:  # 3 prices or more
        return False
    title = doc.title
    heading = " ".join(node.text_content() for node in select(doc.tree, "h1")).strip()
    for said in (title, heading):
        if said and (_ERROR_PHRASE.search(said) or (_ERROR_ONLY_TITLE.fullmatch(said) and _ERROR_TITLE.search(said))):
            return True
    if not short or _PRICE.search(text):
        return False
    if _BAN_WORDS.search(text):
        return True
    return bool(_ERROR_TITLE.search(title) or _ERROR_TITLE.search(heading)) and len(text) < 600 and bool(
        _ERROR_WORDS.search(text))

# A ban notice ("your account is suspended", "illegal action", "Error No.: ...") is an error, not a gate to pass.
_BAN_WORDS = re.compile(
    r"\b(?:account|you)\b[^.!]{0,40}\b(?:suspended|banned)\b|illegal action|\berror (?:no|number|code)\.?\s*:|"
    r"аккаунт[^.!]{0,40}заблокирован",
    re.IGNORECASE,
)


def gate_type(doc: Document) -> str | None:
    """``captcha``, ``login`` or ``error`` when the page is one, else None."""
    text = doc.text
    many_links = len(select(doc.tree, "a[href]")) > _GATE_MAX_LINKS
    short = not many_links and len(text) <= _GATE_MAX_TEXT
    # A title that says only "not found" is trusted even on a page that carries the whole site menu;
    # a title word alone ("... 500 pills") never makes an error page.
    if _error_page(doc, text, short):
        return "error"
    if not short:
        return None
    if len(text) < 1500 and _BAN_WORDS.search(text):
        return "error"
    password = select(doc.tree, "input[type=password]")
    captcha_inputs = [
        field for field in select(doc.tree, "input, img")
        if "captcha" in " ".join(filter(None, (field.get("name"), field.get("id"), field.get("alt"), field.get("src")))).lower()
    ]
    if password:
        return "login"
    if captcha_inputs or _CAPTCHA_WORDS.search(text) or _CAPTCHA_WORDS.search(doc.title):
        return "captcha"
    if _SESSION_WORDS.search(text):
        return "login"
    if len(text) < 600 and _ERROR_WORDS.search(text) and not _PRICE.search(text):
        return "error"
    return None
