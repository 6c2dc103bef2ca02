"""``onionwatch serve``: the analysts' web pages and the HTTP API over the service layer.

Server-rendered pages (Jinja2, autoescaped; no script at all, charts as inline
SVG), the JSON API under ``/api/`` with its OpenAPI document at
``/api/openapi.json``, both behind ``onionwatch.web.guard``. Every search,
view of a listing or capture, export and administrative action goes to the
audit trail.
"""
from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path
from typing import Literal
from urllib.parse import urlencode

from fastapi import Body, Depends, FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel

from index.aggregations import GROUPS
from onionwatch.accounts import ROLES, AccountError, Accounts, LoginLimiter, User
from onionwatch.audit import AuditLog
from onionwatch.service import FACETS, NotFound, Service, ServiceError
from onionwatch.web import charts
from onionwatch.web.guard import COOKIE, Guard, Signer
from onionwatch.web.sanitise import safe_page
from onionwatch.safe_output import safe_csv_writer

HERE = Path(__file__).parent
PAGE_SIZE = 25
LISTING_COLUMNS = ("market", "title", "vendor", "price", "currency", "price_usd", "drug", "ships_from", "city",
                   "dead_drop", "captured_at")


# Audit entries are SQLite rows: an id beyond SQLite's 64-bit integers is no entry, and an
# unchecked one reached the database as an overflow (a 500 the API fuzzing found).
AUDIT_ID_MAX = 2**63 - 1


def accounts_db(config) -> Path:
    return Path(config.data_dir) / "accounts.sqlite"


def audit_db(config) -> Path:
    return Path(config.data_dir) / "audit.sqlite"


class WatchlistIn(BaseModel):
    name: str
    query: str


class TokenIn(BaseModel):
    label: str = ""


def create_app(config, *, secure_cookies: bool = False, service: Service | None = None,
               login_attempts: int = 5) -> FastAPI:
    service = service or Service(config)
    accounts = Accounts(accounts_db(config))
    audit_log = AuditLog(audit_db(config))
    signer = Signer(accounts.secret_key())
    limiter = LoginLimiter(attempts=login_attempts)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals.update(roles=ROLES, facets=FACETS, groups=GROUPS)

    app = FastAPI(title="onionwatch", version="1", docs_url=None, redoc_url=None, openapi_url=None,
                  description="Darknet-market monitoring: search, listings, vendors, statistics, changes, runs, "
                              "watchlists, audit. Authenticate with `Authorization: Bearer <token>`.")
    app.state.service, app.state.accounts, app.state.audit = service, accounts, audit_log
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    # -- helpers ------------------------------------------------------------------------------------
    def user_of(request: Request) -> User:
        return request.state.user

    def need(role: str):
        def check(request: Request) -> User:
            user = request.state.user
            if user is None or not user.can(role):
                raise HTTPException(403, f"this needs the {role} role")
            return user
        return Depends(check)

    def record(request: Request, action: str, target: str = "", **detail) -> None:
        user = request.state.user
        address = request.client.host if request.client else "?"
        audit_log.record(user.name if user else "-", address, action, target, detail)

    def page(request: Request, template: str, status: int = 200, **context) -> HTMLResponse:
        context.update(user=request.state.user, csrf=request.state.csrf)
        return templates.TemplateResponse(request, template, context, status_code=status)

    def is_api(request: Request) -> bool:
        return request.url.path.startswith("/api/")

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError):
        status = 404 if isinstance(exc, NotFound) else 400
        if is_api(request):
            return JSONResponse({"detail": str(exc)}, status_code=status)
        return page(request, "error.html", status=status, message=str(exc))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        if is_api(request) or request.state.user is None:
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        return page(request, "error.html", status=exc.status_code, message=str(exc.detail))

    # -- login ----------------------------------------------------------------------------------------
    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_form(request: Request, next: str = "/"):
        return page(request, "login.html", next=_local(next), login_token=signer.login_token(), error=None)

    @app.post("/login", include_in_schema=False)
    def login(request: Request, username: str = Form(""), password: str = Form(""), next: str = Form("/"),
              login_token: str = Form("")):
        address = request.client.host if request.client else "?"
        error, status = None, 200
        if not signer.login_token_ok(login_token):
            error, status = "The form expired; try again.", 403
        elif limiter.blocked(address, username):
            error, status = "Too many failed attempts; wait a few minutes.", 429
        else:
            user = accounts.authenticate(username, password)
            if user is None:
                limiter.failed(address, username)
                audit_log.record(username[:64] or "-", address, "login_failed")
                error, status = "Wrong user name or password.", 401
        if error:
            return page(request, "login.html", status=status, next=_local(next),
                        login_token=signer.login_token(), error=error)
        limiter.succeeded(address, username)
        session_id, _csrf = accounts.start_session(user.name)
        audit_log.record(user.name, address, "login")
        response = RedirectResponse(_local(next), status_code=303)
        response.set_cookie(COOKIE, signer.cookie(session_id), httponly=True, samesite="strict",
                            secure=secure_cookies, path="/", max_age=8 * 3600)
        return response

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request):
        from onionwatch.web.guard import cookie_parser

        cookie = cookie_parser(request.headers.get("cookie", "")).get(COOKIE)
        session_id = signer.session_id(cookie) if cookie else None
        if session_id:
            accounts.end_session(session_id)
        record(request, "logout")
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=secure_cookies)
        return response

    # -- pages ----------------------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def search_page(request: Request, q: str = "", page_no: int = Query(1, alias="page", ge=1, le=10_000)):
        error = result = facet_counts = None
        try:
            result = service.search_page(q, page_no, PAGE_SIZE)
            facet_counts = service.facets(q)
        except ServiceError as exc:
            error = str(exc)
        record(request, "search", q, page=page_no, via="page")
        pages = (result.total + PAGE_SIZE - 1) // PAGE_SIZE if result else 0
        return page(request, "search.html", q=q, result=result, error=error, facet_counts=facet_counts,
                    page_no=page_no, pages=pages, columns=LISTING_COLUMNS, refine=_refine,
                    url=lambda **kw: "/?" + urlencode({"q": q, **kw}))

    @app.get("/listing/{listing_id}", response_class=HTMLResponse, include_in_schema=False)
    def listing_page(request: Request, listing_id: str):
        listing = service.listing(listing_id)
        observations = service.observations(listing_id)
        captures = []
        for number, capture in enumerate(service.captures(listing_id)):
            try:
                stored = service.read_capture(capture["warc_file"], int(capture["offset"]))
                captures.append({**capture, "number": number, "url": stored.url, "verified": stored.verified,
                                 "computed": stored.computed_digest, "revisit": stored.revisit})
            except ServiceError as exc:
                captures.append({**capture, "number": number, "url": "", "verified": False, "problem": str(exc)})
        series = {"USD per unit": [(o["captured_at"][:10], o.get("usd_per_base_unit")) for o in observations],
                  "USD": [(o["captured_at"][:10], o.get("price_usd")) for o in observations]}
        chart = charts.line_chart(series, "price history")
        record(request, "view_listing", listing_id)
        return page(request, "listing.html", listing=listing, fields=sorted(listing.items()),
                    observations=observations, captures=captures, chart=chart,
                    lifecycle=service.lifecycle(listing_id), show=_show)

    @app.get("/listing/{listing_id}/capture/{number}/page", response_class=HTMLResponse, include_in_schema=False)
    def capture_page(request: Request, listing_id: str, number: int):
        stored = service.listing_capture(listing_id, number)
        record(request, "view_capture", listing_id, warc_file=stored.warc_file, offset=stored.offset,
               verified=stored.verified)
        return HTMLResponse(safe_page(stored.body, stored.content_type))

    @app.get("/vendor/{name:path}", response_class=HTMLResponse, include_in_schema=False)
    def vendor_page(request: Request, name: str):
        accounts_seen = service.vendor(name)
        query = f'vendor:"{_quoted(name)}"'
        listings = service.search_page(query, 1, 100)
        over_time = service.stats(query, by="market", kind="prices")
        series: dict[str, list] = {}
        for row in over_time:
            series.setdefault(row["market"], []).append((row["month"], row["observations"]))
        record(request, "view_vendor", name)
        return page(request, "vendor.html", name=name, accounts_seen=accounts_seen, listings=listings,
                    columns=LISTING_COLUMNS, chart=charts.line_chart(series, "observations per month", "seen"))

    @app.get("/stats", response_class=HTMLResponse, include_in_schema=False)
    def stats_page(request: Request, q: str = "", by: str = "drug", kind: str = "prices",
                   top: int = Query(10, ge=1, le=100)):
        error, rows, chart = None, [], None
        try:
            rows = service.stats(q, by=by, kind=kind, top=min(max(top, 1), 100))
        except ServiceError as exc:
            error = str(exc)
        if kind == "prices":
            series: dict[str, list] = {}
            for row in rows:
                series.setdefault(row.get(by), []).append((row["month"], row["median_usd"]))
            chart = charts.line_chart(series, "median USD per unit by month")
        elif kind == "counts":
            chart = charts.bar_chart([(row.get(by), row["listings"]) for row in rows], "listings")
        else:
            chart = charts.bar_chart([(row["vendor"], row["listings"]) for row in rows], "listings per vendor")
        record(request, "stats", q, by=by, kind=kind)
        columns = list(rows[0].keys()) if rows else []
        csv_url = "/stats.csv?" + urlencode({"q": q, "by": by, "kind": kind, "top": top})
        return page(request, "stats.html", q=q, by=by, kind=kind, top=top, rows=rows, columns=columns, chart=chart,
                    error=error, csv_url=csv_url, show=_show)

    @app.get("/stats.csv", include_in_schema=False)
    def stats_csv(request: Request, q: str = "", by: str = "drug", kind: str = "prices", top: int = Query(10, ge=1, le=100),
                  _user: User = need("analyst")):
        rows = service.stats(q, by=by, kind=kind, top=min(max(top, 1), 100))
        record(request, "export", q, what="stats", by=by, kind=kind, format="csv")
        return _csv_response(rows, f"onionwatch-stats-{kind}-{by}.csv")

    @app.get("/changes", response_class=HTMLResponse, include_in_schema=False)
    def changes_page(request: Request, since: str = "", market: str = ""):
        since = since or date.today().replace(day=1).isoformat()
        error, rows = None, []
        try:
            rows = service.changes(date.fromisoformat(since).isoformat(), market or None)
        except ValueError:
            error = f"not a date: {since!r} (YYYY-MM-DD)"
        record(request, "changes", since, market=market)
        return page(request, "changes.html", since=since, market=market, rows=rows, error=error, show=_show)

    @app.get("/runs", response_class=HTMLResponse, include_in_schema=False)
    def runs_page(request: Request, market: str = ""):
        rows = service.runs(200, market or None)
        health: dict[str, dict] = {}
        for row in rows:
            health.setdefault(row["market"], row)
        return page(request, "runs.html", rows=rows, health=health, market=market)

    @app.get("/watchlists", response_class=HTMLResponse, include_in_schema=False)
    def watchlists_page(request: Request, error: str = ""):
        return page(request, "watchlists.html", watchlists=service.watchlists(), error=error or None)

    @app.post("/watchlists", include_in_schema=False)
    def watchlist_add(request: Request, name: str = Form(""), query: str = Form(""),
                      _user: User = need("analyst")):
        try:
            service.add_watchlist(name, query)
        except ServiceError as exc:
            return page(request, "watchlists.html", status=400, watchlists=service.watchlists(), error=str(exc))
        record(request, "watchlist_add", name, query=query)
        return RedirectResponse("/watchlists", status_code=303)

    @app.post("/watchlists/{name}/remove", include_in_schema=False)
    def watchlist_remove(request: Request, name: str, _user: User = need("analyst")):
        if not service.remove_watchlist(name):
            raise NotFound(f"no watchlist named {name!r}")
        record(request, "watchlist_remove", name)
        return RedirectResponse("/watchlists", status_code=303)

    @app.get("/watchlists/{name}", response_class=HTMLResponse, include_in_schema=False)
    def watchlist_hits_page(request: Request, name: str):
        hits = service.watchlist_hits(name)
        record(request, "watchlist_hits", name)
        return page(request, "hits.html", name=name, hits=hits, columns=LISTING_COLUMNS)

    @app.get("/tokens", response_class=HTMLResponse, include_in_schema=False)
    def tokens_page(request: Request):
        return page(request, "tokens.html", tokens=accounts.tokens(user_of(request).name), secret=None)

    @app.post("/tokens", include_in_schema=False)
    def token_create(request: Request, label: str = Form("")):
        token_id, secret = accounts.create_token(user_of(request).name, label)
        record(request, "token_create", token_id, label=label)
        return page(request, "tokens.html", tokens=accounts.tokens(user_of(request).name), secret=secret)

    @app.post("/tokens/{token_id}/revoke", include_in_schema=False)
    def token_revoke(request: Request, token_id: str):
        if not accounts.revoke_token(token_id, user_of(request).name):
            raise NotFound(f"no live token {token_id!r} of yours")
        record(request, "token_revoke", token_id)
        return RedirectResponse("/tokens", status_code=303)

    @app.get("/admin/users", response_class=HTMLResponse, include_in_schema=False)
    def users_page(request: Request, _user: User = need("admin")):
        return page(request, "users.html", users=accounts.users(), error=None)

    @app.post("/admin/users", include_in_schema=False)
    def user_add(request: Request, name: str = Form(""), password: str = Form(""), role: str = Form("viewer"),
                 _user: User = need("admin")):
        try:
            accounts.add_user(name, password, role)
        except AccountError as exc:
            return page(request, "users.html", status=400, users=accounts.users(), error=str(exc))
        record(request, "user_add", name, role=role)
        return RedirectResponse("/admin/users", status_code=303)

    @app.post("/admin/users/{name}/disable", include_in_schema=False)
    def user_disable(request: Request, name: str, enable: str = Form(""), _user: User = need("admin")):
        try:
            accounts.set_disabled(name, not enable)
        except AccountError as exc:
            raise NotFound(str(exc)) from None
        record(request, "user_enable" if enable else "user_disable", name)
        return RedirectResponse("/admin/users", status_code=303)

    @app.get("/admin/audit", response_class=HTMLResponse, include_in_schema=False)
    def audit_page(request: Request, before: int | None = Query(None, ge=1, le=AUDIT_ID_MAX), who: str = "",
                   _user: User = need("admin")):
        entries = audit_log.entries(100, before=before, user=who or None)
        checked, broken = audit_log.verify()
        record(request, "audit_view", who)
        return page(request, "audit.html", entries=entries, checked=checked, broken=broken, who=who)

    @app.get("/admin/audit.csv", include_in_schema=False)
    def audit_csv(request: Request, _user: User = need("admin")):
        record(request, "audit_export")
        return _csv_response(({**e, "detail": json.dumps(e["detail"], ensure_ascii=False)}
                              for e in audit_log.all()), "onionwatch-audit.csv")

    # -- API ------------------------------------------------------------------------------------------
    @app.get("/api/openapi.json", include_in_schema=False)
    def openapi_document():
        return JSONResponse(app.openapi())

    @app.get("/api/me", tags=["accounts"])
    def api_me(request: Request) -> dict:
        user = user_of(request)
        return {"name": user.name, "role": user.role}

    @app.get("/api/search", tags=["search"])
    def api_search(request: Request, q: str = "", limit: int = Query(50, ge=1, le=500),
                   cursor: str | None = None) -> dict:
        """Listings matching the query language, in listing-id order; pass `next_cursor` back for the next page."""
        result = service.search_cursor(q, limit, cursor)
        record(request, "search", q, via="api", cursor=bool(cursor))
        return {"total": result.total, "hits": result.hits, "next_cursor": result.next_cursor}

    @app.get("/api/facets", tags=["search"])
    def api_facets(request: Request, q: str = "") -> dict:
        record(request, "search", q, via="api-facets")
        return service.facets(q)

    @app.get("/api/export", tags=["search"])
    def api_export(request: Request, q: str = "", format: Literal["jsonl", "csv"] = "jsonl",
                   _user: User = need("analyst")):
        """Every matching listing, streamed (JSON lines or CSV)."""
        service.search_cursor(q, 1)  # a bad query fails now, as a 400, not halfway through the stream
        record(request, "export", q, what="search", format=format)
        if format == "csv":
            return StreamingResponse(_csv_lines(service.export(q)), media_type="text/csv; charset=utf-8",
                                     headers={"content-disposition": 'attachment; filename="onionwatch-export.csv"'})
        lines = (json.dumps(hit, ensure_ascii=False) + "\n" for hit in service.export(q))
        return StreamingResponse(lines, media_type="application/x-ndjson",
                                 headers={"content-disposition": 'attachment; filename="onionwatch-export.jsonl"'})

    @app.get("/api/listings/{listing_id}", tags=["listings"])
    def api_listing(request: Request, listing_id: str) -> dict:
        listing = service.listing(listing_id)
        record(request, "view_listing", listing_id, via="api")
        return {**listing, "lifecycle": service.lifecycle(listing_id)}

    @app.get("/api/listings/{listing_id}/observations", tags=["listings"])
    def api_observations(request: Request, listing_id: str) -> list[dict]:
        record(request, "view_listing", listing_id, via="api-observations")
        return service.observations(listing_id)

    @app.get("/api/listings/{listing_id}/captures", tags=["listings"])
    def api_captures(request: Request, listing_id: str) -> list[dict]:
        out = []
        for capture in service.captures(listing_id):
            try:
                stored = service.read_capture(capture["warc_file"], int(capture["offset"]))
                out.append({**capture, "url": stored.url, "captured_at": stored.captured_at,
                            "computed_digest": stored.computed_digest, "verified": stored.verified})
            except ServiceError as exc:
                out.append({**capture, "verified": False, "problem": str(exc)})
        record(request, "view_capture", listing_id, via="api")
        return out

    @app.get("/api/stats", tags=["statistics"])
    def api_stats(request: Request, q: str = "", by: str = "drug",
                  kind: Literal["prices", "counts", "top_vendors"] = "prices",
                  top: int = Query(10, ge=1, le=100)) -> list[dict]:
        record(request, "stats", q, by=by, kind=kind, via="api")
        return service.stats(q, by=by, kind=kind, top=top)

    @app.get("/api/changes", tags=["statistics"])
    def api_changes(request: Request, since: date, market: str | None = None) -> list[dict]:
        record(request, "changes", since.isoformat(), market=market, via="api")
        return service.changes(since.isoformat(), market)

    @app.get("/api/vendors/{name:path}", tags=["vendors"])
    def api_vendor(request: Request, name: str) -> list[dict]:
        rows = service.vendor(name)
        if not rows:
            raise NotFound(f"no vendor named {name!r} seen yet")
        record(request, "view_vendor", name, via="api")
        return rows

    @app.get("/api/runs", tags=["runs"])
    def api_runs(limit: int = Query(50, ge=1, le=1000), market: str | None = None) -> list[dict]:
        return service.runs(limit, market)

    @app.get("/api/watchlists", tags=["watchlists"])
    def api_watchlists() -> list[dict]:
        return service.watchlists()

    @app.post("/api/watchlists", tags=["watchlists"], status_code=201)
    def api_watchlist_add(request: Request, watchlist: WatchlistIn, _user: User = need("analyst")) -> dict:
        service.add_watchlist(watchlist.name, watchlist.query)
        record(request, "watchlist_add", watchlist.name, query=watchlist.query, via="api")
        return {"name": watchlist.name, "query": watchlist.query}

    @app.delete("/api/watchlists/{name}", tags=["watchlists"])
    def api_watchlist_remove(request: Request, name: str, _user: User = need("analyst")) -> dict:
        if not service.remove_watchlist(name):
            raise NotFound(f"no watchlist named {name!r}")
        record(request, "watchlist_remove", name, via="api")
        return {"removed": name}

    @app.get("/api/watchlists/{name}/hits", tags=["watchlists"])
    def api_watchlist_hits(request: Request, name: str, limit: int = Query(200, ge=1, le=5000)) -> list[dict]:
        record(request, "watchlist_hits", name, via="api")
        return service.watchlist_hits(name, limit)

    @app.get("/api/tokens", tags=["accounts"])
    def api_tokens(request: Request) -> list[dict]:
        return accounts.tokens(user_of(request).name)

    @app.post("/api/tokens", tags=["accounts"], status_code=201)
    def api_token_create(request: Request, token: TokenIn = Body(default_factory=TokenIn)) -> dict:
        token_id, secret = accounts.create_token(user_of(request).name, token.label)
        record(request, "token_create", token_id, label=token.label, via="api")
        return {"id": token_id, "token": secret}

    @app.delete("/api/tokens/{token_id}", tags=["accounts"])
    def api_token_revoke(request: Request, token_id: str) -> dict:
        if not accounts.revoke_token(token_id, user_of(request).name):
            raise NotFound(f"no live token {token_id!r} of yours")
        record(request, "token_revoke", token_id, via="api")
        return {"revoked": token_id}

    @app.get("/api/users", tags=["admin"])
    def api_users(request: Request, _user: User = need("admin")) -> list[dict]:
        record(request, "users_view", via="api")
        return accounts.users()

    @app.get("/api/audit", tags=["admin"])
    def api_audit(request: Request, limit: int = Query(100, ge=1, le=1000),
                  before: int | None = Query(None, ge=1, le=AUDIT_ID_MAX),
                  user: str | None = None, _user: User = need("admin")) -> dict:
        """Newest first; pass the smallest id back as `before` for older entries."""
        entries = audit_log.entries(limit, before=before, user=user)
        checked, broken = audit_log.verify()
        record(request, "audit_view", user or "", via="api")
        return {"entries": entries, "chain": {"checked": checked, "first_broken": broken}}

    return Guard(app, accounts, signer)


def _local(target: str) -> str:
    """Only a path on this site may be a redirect target after logging in."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _refine(q: str, field: str, value: str) -> str:
    clause = f'{field}:"{_quoted(str(value))}"'
    return "/?" + urlencode({"q": f"{q} {clause}".strip()})


def _show(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _cell(value) -> str:
    if isinstance(value, list):
        return "; ".join(json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else str(value)


def _csv_lines(rows):
    buffer, writer, columns = io.StringIO(), None, None
    for row in rows:
        if writer is None:
            columns = list(row.keys())
            writer = safe_csv_writer(buffer)
            writer.writerow(columns)
        writer.writerow([_cell(row.get(key)) for key in columns])
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _csv_response(rows, filename: str) -> StreamingResponse:
    return StreamingResponse(_csv_lines(rows), media_type="text/csv; charset=utf-8",
                             headers={"content-disposition": f'attachment; filename="{filename}"'})


__all__ = ["create_app", "accounts_db", "audit_db"]
