"""The web interface and API through the ASGI test client: authentication on every route, roles,
CSRF, tokens, the login limit, the audit trail, cursors, exports and the captured page."""
from __future__ import annotations

import csv
import io
import json
import re
import sqlite3

import pytest
from starlette.routing import Mount

from onionwatch.accounts import Accounts
from onionwatch.audit import AuditLog
from onionwatch.cli import main
from onionwatch.web.app import accounts_db, audit_db, create_app
from webdata import HOSTILE_TITLE, HOSTILE_VENDOR, PASSWORD, build

pytest.importorskip("httpx")
from fastapi.testclient import TestClient  # noqa: E402


@pytest.fixture
def data(tmp_path):
    return build(tmp_path / "data")


@pytest.fixture
def app(data):
    return create_app(data.config)


def client(app) -> TestClient:
    return TestClient(app, base_url="http://127.0.0.1", follow_redirects=False)


def login(app, name: str, password: str = PASSWORD) -> tuple[TestClient, str]:
    browser = client(app)
    form = browser.get("/login").text
    token = re.search(r'name="login_token" value="([^"]+)"', form).group(1)
    answer = browser.post("/login", data={"username": name, "password": password, "login_token": token, "next": "/"})
    assert answer.status_code == 303, answer.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', browser.get("/").text).group(1)
    return browser, csrf


def token_for(data, name: str) -> str:
    accounts = Accounts(accounts_db(data.config))
    try:
        return accounts.create_token(name, "test")[1]
    finally:
        accounts.close()


def routes(app):
    """Every (method, concrete path) the application answers, parameters filled in."""
    inner = app.app  # the FastAPI app behind the guard
    for route in inner.routes:
        if isinstance(route, Mount):
            yield "GET", route.path + "/style.css", True
            continue
        path = re.sub(r"\{[^}]+\}", "x", route.path)
        for method in sorted(route.methods - {"HEAD"}):
            yield method, path, route.path == "/login"


def test_every_route_needs_a_session_or_token_except_login_and_static(app, data):
    anonymous = client(app)
    checked = 0
    bad_tokens = [{}, {"Authorization": "Bearer ow_not-a-real-token"}, {"Authorization": "Basic YWRtaW4xOng="},
                  {"Cookie": "onionwatch_session=forged.value.here"}]
    for method, path, public in routes(app):
        for headers in bad_tokens:
            answer = anonymous.request(method, path, headers=headers)
            if public:
                assert answer.status_code in (200, 403, 422), (method, path)
                continue
            if path.startswith("/api/"):
                assert answer.status_code == 401, (method, path, headers, answer.status_code)
                assert "authentication required" in answer.text
            else:
                assert answer.status_code == 303, (method, path, headers, answer.status_code)
                assert answer.headers["location"].startswith("/login?next=")
            checked += 1
    assert checked > 4 * 40  # every page and API route, not a handful
    assert anonymous.get("/static/style.css").status_code == 200
    assert anonymous.get("/login").status_code == 200


def test_roles_viewer_analyst_admin(app, data):
    viewer = {"Authorization": f"Bearer {token_for(data, 'viewer1')}"}
    analyst = {"Authorization": f"Bearer {token_for(data, 'analyst1')}"}
    admin = {"Authorization": f"Bearer {token_for(data, 'admin1')}"}
    c = client(app)
    assert c.get("/api/search?q=cocaine", headers=viewer).status_code == 200
    assert c.get(f"/api/listings/{data.ordinary_id}", headers=viewer).status_code == 200
    for method, path, body in [("POST", "/api/watchlists", {"name": "w", "query": "drug:cocaine"}),
                               ("GET", "/api/export?q=", None), ("DELETE", "/api/watchlists/w", None),
                               ("GET", "/stats.csv", None)]:
        assert c.request(method, path, json=body, headers=viewer).status_code == 403, path
    for path in ("/api/users", "/api/audit", "/admin/users", "/admin/audit", "/admin/audit.csv"):
        assert c.get(path, headers=viewer).status_code == 403, path
        assert c.get(path, headers=analyst).status_code == 403, path
        assert c.get(path, headers=admin).status_code == 200, path
    assert c.post("/api/watchlists", json={"name": "w", "query": "drug:cocaine"}, headers=analyst).status_code == 201
    assert c.get("/api/export?q=", headers=analyst).status_code == 200
    assert c.delete("/api/watchlists/w", headers=analyst).status_code == 200
    # a viewer's session sees no analyst form, and the post is refused even with the right CSRF token
    browser, csrf = login(app, "viewer1")
    assert 'id="add-watchlist"' not in browser.get("/watchlists").text
    assert browser.post("/watchlists", data={"csrf": csrf, "name": "v", "query": "x"}).status_code == 403


def test_form_posts_without_the_csrf_token_are_refused(app, data):
    browser, csrf = login(app, "analyst1")
    refused = browser.post("/watchlists", data={"name": "no-csrf", "query": "drug:cocaine"})
    assert refused.status_code == 403
    wrong = browser.post("/watchlists", data={"name": "no-csrf", "query": "drug:cocaine", "csrf": "guess"})
    assert wrong.status_code == 403
    assert browser.post("/api/watchlists", json={"name": "no-csrf", "query": "drug:cocaine"}).status_code == 403
    assert "no-csrf" not in browser.get("/watchlists").text
    accepted = browser.post("/watchlists", data={"name": "with-csrf", "query": "drug:cocaine", "csrf": csrf})
    assert accepted.status_code == 303
    assert "with-csrf" in browser.get("/watchlists").text
    assert browser.post("/logout", data={}).status_code == 403  # logging out is a form post too
    assert browser.post("/logout", data={"csrf": csrf}).status_code == 303
    assert browser.get("/").status_code == 303  # the session is gone


def test_session_cookie_is_httponly_strict_and_secure_when_asked(data):
    for secure in (False, True):
        app = create_app(data.config, secure_cookies=secure)
        browser = client(app)
        token = re.search(r'name="login_token" value="([^"]+)"', browser.get("/login").text).group(1)
        answer = browser.post("/login", data={"username": "viewer1", "password": PASSWORD, "login_token": token})
        cookie = answer.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert ("secure" in cookie.replace("samesite", "")) is secure


def test_login_is_rate_limited_and_a_disabled_user_cannot_log_in(app, data):
    browser = client(app)
    for _ in range(5):
        token = re.search(r'name="login_token" value="([^"]+)"', browser.get("/login").text).group(1)
        answer = browser.post("/login", data={"username": "admin1", "password": "wrong password!",
                                              "login_token": token})
        assert answer.status_code == 401
    token = re.search(r'name="login_token" value="([^"]+)"', browser.get("/login").text).group(1)
    blocked = browser.post("/login", data={"username": "admin1", "password": PASSWORD, "login_token": token})
    assert blocked.status_code == 429 and "onionwatch_session" not in blocked.headers.get("set-cookie", "")
    assert browser.post("/login", data={"username": "viewer1", "password": PASSWORD}).status_code == 403  # no form token

    assert main(["--config", _config_file(data), "users", "disable", "viewer1"]) == 0
    token = re.search(r'name="login_token" value="([^"]+)"', client(app).get("/login").text).group(1)
    other = TestClient(app, base_url="http://127.0.0.1", follow_redirects=False,
                       client=("10.0.0.9", 5000))
    answer = other.post("/login", data={"username": "viewer1", "password": PASSWORD, "login_token": token})
    assert answer.status_code == 401


def _config_file(data) -> str:
    path = data.config.data_dir.parent / "onionwatch.toml"
    path.write_text(f'data_dir = "{data.config.data_dir}"\n')
    return str(path)


def test_tokens_are_hashed_at_rest_and_revocable(app, data):
    secret = token_for(data, "analyst1")
    headers = {"Authorization": f"Bearer {secret}"}
    c = client(app)
    assert c.get("/api/me", headers=headers).json() == {"name": "analyst1", "role": "analyst"}
    stored = sqlite3.connect(accounts_db(data.config)).execute("SELECT hash FROM tokens").fetchall()
    assert stored and all(secret not in row[0] for row in stored)
    made = c.post("/api/tokens", json={"label": "script"}, headers=headers).json()
    second = {"Authorization": f"Bearer {made['token']}"}
    assert c.get("/api/me", headers=second).status_code == 200
    assert c.delete(f"/api/tokens/{made['id']}", headers=headers).status_code == 200
    assert c.get("/api/me", headers=second).status_code == 401
    # from the CLI too
    listed = [t for t in Accounts(accounts_db(data.config)).tokens("analyst1") if not t["revoked"]]
    assert main(["--config", _config_file(data), "users", "token", "analyst1", "--revoke", listed[0]["id"]]) == 0
    assert c.get("/api/me", headers=headers).status_code == 401


def test_audit_trail_records_who_what_where_and_cannot_be_changed(app, data, capsys):
    browser, _csrf = login(app, "analyst1")
    browser.get("/?q=drug:cocaine")
    browser.get(f"/listing/{data.ordinary_id}")
    browser.get(f"/listing/{data.ordinary_id}/capture/0/page")
    browser.get("/api/export?q=drug:cocaine&format=csv")
    log = AuditLog(audit_db(data.config))
    entries = log.entries(50)
    actions = [(e["user"], e["action"], e["target"]) for e in entries]
    assert ("analyst1", "search", "drug:cocaine") in actions
    assert ("analyst1", "view_listing", data.ordinary_id) in actions
    assert ("analyst1", "view_capture", data.ordinary_id) in actions
    assert ("analyst1", "export", "drug:cocaine") in actions
    assert ("analyst1", "login", "") in actions
    assert all(e["address"] == "testclient" or e["address"].count(".") == 3 for e in entries)
    assert log.verify() == (len(entries), None)

    db = sqlite3.connect(audit_db(data.config))
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE audit SET user = 'someone-else'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM audit")
    # someone with the file drops the triggers and rewrites history: the chain shows it
    db.execute("DROP TRIGGER audit_no_update")
    db.execute("UPDATE audit SET user = 'someone-else' WHERE action = 'export'")
    db.commit()
    checked, broken = log.verify()
    assert broken is not None and checked < len(entries)
    assert main(["--config", _config_file(data), "audit", "--verify"]) == 1
    assert "ALTERED" in capsys.readouterr().out
    admin = {"Authorization": f"Bearer {token_for(data, 'admin1')}"}
    answer = client(app).get("/api/audit", headers=admin).json()
    assert answer["chain"]["first_broken"] == broken
    assert "hash chain breaks" in client(app).get("/admin/audit", headers=admin).text


def test_cursor_paging_sees_each_listing_once_while_the_index_changes(app, data):
    from index.embedded import EmbeddedIndex
    from webdata import _listing

    headers = {"Authorization": f"Bearer {token_for(data, 'viewer1')}"}
    c = client(app)
    seen, cursor, index = [], None, EmbeddedIndex(data.config.index_dir)
    while True:
        answer = c.get("/api/search", params={"q": "", "limit": 4, **({"cursor": cursor} if cursor else {})},
                       headers=headers).json()
        seen += [hit["listing_id"] for hit in answer["hits"]]
        if len(seen) == 4:  # new listings land behind and ahead of the cursor
            index.upsert([_listing(0, listing_id="0" * 32), _listing(0, listing_id="0" * 31 + "1"),
                          _listing(0, listing_id="f" * 32)])
            app.app.state.service._reloaded = 0.0  # as if a second had passed
        cursor = answer["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen))
    assert set(data.ids) <= set(seen)
    assert "f" * 32 in seen and "0" * 32 not in seen
    assert c.get("/api/search?q=&cursor=garbage", headers=headers).status_code == 400
    other = c.get("/api/search", params={"q": "drug:cocaine", "cursor": cursor or answer.get("next_cursor") or
                                         _first_cursor(c, headers)}, headers=headers)
    assert other.status_code == 400 and "another query" in other.text


def _first_cursor(c, headers) -> str:
    return c.get("/api/search?q=&limit=1", headers=headers).json()["next_cursor"]


def test_export_streams_every_match(app, data):
    headers = {"Authorization": f"Bearer {token_for(data, 'analyst1')}"}
    c = client(app)
    jsonl = c.get("/api/export?q=drug:cocaine&format=jsonl", headers=headers)
    rows = [json.loads(line) for line in jsonl.text.splitlines()]
    assert len(rows) == 12 and all(row["drug"] == "cocaine" for row in rows)
    table = list(csv.DictReader(io.StringIO(c.get("/api/export?q=&format=csv", headers=headers).text)))
    assert len(table) == 13 and {"listing_id", "title", "price_usd"} <= set(table[0])
    assert c.get("/api/export?q=drug:(&format=csv", headers=headers).status_code == 400


def test_pages_escape_hostile_titles_and_vendor_names(app, data):
    browser, _csrf = login(app, "viewer1")
    for path in ("/?q=", f"/listing/{data.hostile_id}", "/vendor/" + HOSTILE_VENDOR, "/changes?since=2026-01-01",
                 "/stats?kind=top_vendors", "/stats?kind=counts&by=vendor"):
        page = browser.get(path)
        assert page.status_code == 200, path
        assert "<script>window.pwned" not in page.text and "<b onmouseover" not in page.text, path
        assert "onerror=" not in page.text.replace("onerror=&#34;", "").replace("onerror=&quot;", ""), path
    assert "&lt;script&gt;" in browser.get(f"/listing/{data.hostile_id}").text
    assert HOSTILE_TITLE not in browser.get("/?q=").text


def test_captured_page_is_sanitised_served_with_a_strict_csp_and_its_digest_checked(app, data):
    browser, _csrf = login(app, "viewer1")
    listing = browser.get(f"/listing/{data.hostile_id}")
    assert 'sandbox=""' in listing.text and "digest verified" in listing.text
    page = browser.get(f"/listing/{data.hostile_id}/capture/0/page")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "sandbox" in csp and "script-src" not in csp
    body = page.text.lower()
    for forbidden in ("<script", "onerror", "onload", "javascript:", "http-equiv", "exfil.example", "<style",
                      "url(", "<iframe", "<form", "<base", "<link"):
        assert forbidden not in body, forbidden
    assert "hostile shop" in body and "data:image/png" in body
    assert browser.get(f"/listing/{data.hostile_id}").headers["x-frame-options"] == "DENY"

    # a capture file altered after the fact is shown as not verified
    data.warc.write_bytes(data.warc.read_bytes().replace(b"Cocaine flake 1g", b"Cocaine flake 9g"))
    listing = browser.get(f"/listing/{data.ordinary_id}")
    assert "NOT verified" in listing.text and "digest verified" not in listing.text


def test_capture_reads_stay_inside_the_capture_store(data):
    from onionwatch.service import NotFound, Service

    service = Service(data.config)
    with pytest.raises(NotFound):
        service.read_capture("/etc/passwd", 0)
    with pytest.raises(NotFound):
        service.read_capture(str(data.config.captures_dir / ".." / "accounts.sqlite"), 0)
    with pytest.raises(NotFound):
        service.read_capture(str(data.warc), 3)  # not where a record starts


def test_listing_vendor_stats_changes_runs_and_watchlist_pages(app, data):
    browser, csrf = login(app, "analyst1")
    listing = browser.get(f"/listing/{data.ordinary_id}").text
    assert "<svg" in listing and "polyline" in listing and "Cocaine flake 1g" in listing
    assert "first seen" in listing
    vendor = browser.get("/vendor/NordVendor").text
    assert "A" * 40 in vendor and "Cocaine flake 1g" in vendor
    stats = browser.get("/stats?kind=prices&by=drug").text
    assert "<svg" in stats and "cocaine" in stats
    table = browser.get("/stats.csv?kind=counts&by=drug").text.splitlines()
    assert table[0] == "drug,listings" and "cocaine,12" in table
    assert "new_listing" in browser.get("/changes?since=2026-11-01").text
    assert "not a date" in browser.get("/changes?since=yesterday").text
    assert browser.get("/runs").status_code == 200
    search = browser.get("/?q=drug:(")
    assert search.status_code == 200 and "query-error" in search.text
    assert browser.post("/watchlists", data={"csrf": csrf, "name": "bad", "query": "drug:("}).status_code == 400
    facets = browser.get("/?q=").text
    assert "/?q=market%3A%22testmarket%22" in facets
    second = browser.get("/?q=&page=1")
    assert 'id="next-page"' not in second.text  # 13 listings, 25 a page


def test_users_cli_add_list_disable(data, capsys, monkeypatch):
    config = _config_file(data)
    monkeypatch.setenv("ONIONWATCH_NEW_PASSWORD", "another long password")
    assert main(["--config", config, "users", "add", "newbie", "--role", "analyst"]) == 0
    assert main(["--config", config, "users", "add", "newbie"]) == 2
    assert main(["--config", config, "users", "add", "x y"]) == 2
    assert main(["--config", config, "users", "add", "other", "--role", "boss"]) == 2
    assert main(["--config", config, "users", "list"]) == 0
    out = capsys.readouterr()
    assert "newbie  analyst  active" in out.out and "exists already" in out.err and "no role" in out.err
    assert main(["--config", config, "users", "token", "newbie", "--label", "nb"]) == 0
    secret = capsys.readouterr().out.strip().splitlines()[-1]
    assert secret.startswith("ow_")
    app = create_app(data.config)
    assert client(app).get("/api/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    assert main(["--config", config, "users", "disable", "newbie"]) == 0
    assert client(app).get("/api/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    capsys.readouterr()
    assert main(["--config", config, "audit", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {"user_add", "token_create", "user_disable"} <= {line["action"] for line in lines}


def test_watchlist_hits_page_and_api_show_what_a_run_alerted(app, data):
    from index.embedded import EmbeddedIndex
    from onionwatch.alerts import Watchlists

    browser, csrf = login(app, "analyst1")
    assert browser.post("/watchlists", data={"csrf": csrf, "name": "almaty", "query": "city:Алматы"}).status_code == 303
    watchlists = Watchlists(data.config.watch_db)
    assert watchlists.evaluate(EmbeddedIndex(data.config.index_dir), data.ids, []) == 1
    watchlists.close()
    page = browser.get("/watchlists/almaty")
    assert page.status_code == 200 and "EvilVendor" in page.text and "<b onmouseover" not in page.text
    headers = {"Authorization": f"Bearer {token_for(data, 'viewer1')}"}
    hits = client(app).get("/api/watchlists/almaty/hits", headers=headers).json()
    assert [hit["listing_id"] for hit in hits] == [data.hostile_id]
    assert client(app).get("/api/watchlists/nothing/hits", headers=headers).status_code == 404
    assert browser.post("/watchlists/almaty/remove", data={"csrf": csrf}).status_code == 303
    assert "almaty" not in browser.get("/watchlists").text


def test_an_audit_cursor_beyond_sqlite_integers_is_refused_not_a_server_error(app, data):
    """The API fuzzing sent ?before=-48056542075309799538283249664: it reached SQLite as an overflow (500)."""
    admin = {"Authorization": f"Bearer {token_for(data, 'admin1')}"}
    c = client(app)
    for before in ("-48056542075309799538283249664", str(2**63), "0", "-1"):
        assert c.get("/api/audit", params={"before": before}, headers=admin).status_code == 422
        assert c.get("/admin/audit", params={"before": before}, headers=admin).status_code == 422
    answer = c.get("/api/audit", params={"before": str(2**63 - 1)}, headers=admin)
    assert answer.status_code == 200 and isinstance(answer.json()["entries"], list)
    assert c.get("/stats", params={"top": str(10**30)}, headers=admin).status_code == 422
