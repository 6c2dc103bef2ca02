"""Gate pages (captcha, DDoS filter, queue, anti-phishing, login, session expired) and error pages.

A gate stands between the crawler and the market: it carries no listings, and
reaching one means the analyst's session needs renewing. Signals are read from
the page alone, and only trusted on short pages, since full market pages often
carry a search box or a small login form too.
"""
from __future__ import annotations

import re

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

# A ban notice ("your account is suspended", "illegal action", "Error No.: ...") is an error, not a gate to pass.
_BAN_WORDS = re.compile(
    r"\b(?:account|you)\b[^.!]{0,40}\b(?:suspended|banned)\b|illegal action|\berror (?:no|number|code)\.?\s*:|"
    r"аккаунт[^.!]{0,40}заблокирован",
    re.IGNORECASE,
)


def gate_type(doc: Document) -> str | None:
    """``captcha``, ``login`` or ``error`` when the page is one, else None."""
    # A "not found" title is trusted even on a page that carries the whole site menu.
    if _ERROR_TITLE.search(doc.title):
        return "error"
    if len(select(doc.tree, "a[href]")) > _GATE_MAX_LINKS:
        return None
    text = doc.text
    if len(text) > _GATE_MAX_TEXT:
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
    heading = " ".join(node.text_content() for node in select(doc.tree, "h1"))
    if _ERROR_TITLE.search(heading) or (len(text) < 600 and _ERROR_WORDS.search(text)):
        return "error"
    return None
