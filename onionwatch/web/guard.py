"""The gate in front of every route: who is asking, may they, and security headers on every answer.

A pure ASGI middleware, so no route can forget it: only the login page and
static assets are public. A request is authenticated by a personal API token
(``Authorization: Bearer ow_...``) or by the session cookie (signed, HttpOnly,
SameSite=Strict). A state-changing request on a session must carry the
session's CSRF token (form field ``csrf`` or header ``X-CSRF-Token``); token
requests carry no ambient credential and need none.
"""
from __future__ import annotations

import hmac
import json
from urllib.parse import parse_qs, quote

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import Headers
from starlette.requests import cookie_parser

from onionwatch.accounts import SESSION_HOURS, Accounts

COOKIE = "onionwatch_session"
PUBLIC_PATHS = ("/login",)
PUBLIC_PREFIXES = ("/static/",)
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
MAX_FORM_BYTES = 1_000_000

APP_CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; frame-src 'self'; form-action 'self'; "
           "frame-ancestors 'none'; base-uri 'none'")
CAPTURE_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'; sandbox"


class Signer:
    def __init__(self, key: str):
        self._cookie = URLSafeTimedSerializer(key, salt="onionwatch-session")
        self._login = URLSafeTimedSerializer(key, salt="onionwatch-login-form")

    def cookie(self, session_id: str) -> str:
        return self._cookie.dumps(session_id)

    def session_id(self, cookie: str) -> str | None:
        try:
            return self._cookie.loads(cookie, max_age=SESSION_HOURS * 3600)
        except BadSignature:
            return None

    def login_token(self) -> str:
        return self._login.dumps("login")

    def login_token_ok(self, token: str) -> bool:
        try:
            return self._login.loads(token or "", max_age=3600) == "login"
        except BadSignature:
            return False


def _headers(extra: list, path: str) -> list:
    names = {name.lower() for name, _ in extra}
    capture = path.endswith("/page") and path.startswith("/listing/")
    add = [
        (b"content-security-policy", (CAPTURE_CSP if capture else APP_CSP).encode()),
        (b"x-frame-options", b"SAMEORIGIN" if capture else b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"cross-origin-resource-policy", b"same-origin"),
    ]
    if not path.startswith("/static/"):
        add.append((b"cache-control", b"no-store"))
    return list(extra) + [(k, v) for k, v in add if k not in names]


class Guard:
    def __init__(self, app, accounts: Accounts, signer: Signer):
        self.app, self.accounts, self.signer = app, accounts, signer

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]

        async def send_secured(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": _headers(message.get("headers", []), path)}
            await send(message)

        headers = Headers(scope=scope)
        user, csrf, via = self._identify(headers)
        state = scope.setdefault("state", {})
        state.update(user=user, csrf=csrf, via=via)
        public = path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)
        if user is None and not public:
            return await self._refuse(scope, send_secured, path)
        if scope["method"] not in SAFE_METHODS and via == "session":
            body = await _read_body(receive)
            if body is None:
                return await _answer(send_secured, 413, {"detail": "request too large"})
            if not _csrf_ok(headers, body, csrf):
                return await _answer(send_secured, 403, {"detail": "missing or wrong CSRF token"})
            receive = _replay(body)
        await self.app(scope, receive, send_secured)

    def _identify(self, headers: Headers):
        authorization = headers.get("authorization", "")
        if authorization[:7].lower() == "bearer ":
            user = self.accounts.user_for_token(authorization[7:].strip())
            return (user, None, "token") if user else (None, None, None)
        cookie = cookie_parser(headers.get("cookie", "")).get(COOKIE)
        session_id = self.signer.session_id(cookie) if cookie else None
        found = self.accounts.session(session_id) if session_id else None
        if found:
            return found[0], found[1], "session"
        return None, None, None

    async def _refuse(self, scope, send, path):
        if path.startswith("/api/") or path == "/api":
            return await _answer(send, 401, {"detail": "authentication required"},
                                 [(b"www-authenticate", b'Bearer realm="onionwatch"')])
        query = scope.get("query_string", b"").decode("latin-1")
        target = path + ("?" + query if query else "")
        location = "/login?next=" + quote(target, safe="")
        await send({"type": "http.response.start", "status": 303,
                    "headers": [(b"location", location.encode()), (b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})


async def _read_body(receive) -> bytes | None:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _replay(body: bytes):
    sent = False

    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


def _csrf_ok(headers: Headers, body: bytes, expected: str | None) -> bool:
    if not expected:
        return False
    given = headers.get("x-csrf-token")
    if given is None and headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        given = (parse_qs(body.decode("utf-8", errors="replace")).get("csrf") or [None])[0]
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


async def _answer(send, status: int, payload: dict, extra: list | None = None) -> None:
    body = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *(extra or [])]})
    await send({"type": "http.response.body", "body": body})
