"""The web interface in headless Chromium (Debian's chromium, driven by Playwright; no browser download).

An analyst logs in, searches, opens a listing and its captured page, a vendor, a chart, adds a
watchlist and logs out. Hostile titles, vendor names and a hostile captured page are shown on the
way: nothing of them runs (the canary a script would call is never requested, no global is set) and
the browser requests nothing outside 127.0.0.1 (every request it makes is recorded).
"""
from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from prereq import need
from webdata import CANARY_PATH, PASSWORD, build

CHROMIUM = "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    import uvicorn

    from onionwatch.web.app import create_app

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    data = build(tmp_path / "data", canary=base + CANARY_PATH)
    config = uvicorn.Config(create_app(data.config), host="127.0.0.1", port=port, log_level="warning")
    uvicorn_server = uvicorn.Server(config)
    thread = threading.Thread(target=uvicorn_server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uvicorn_server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield base, data
    uvicorn_server.should_exit = True
    thread.join(10)


@pytest.fixture
def browser_page(server):
    need(Path(CHROMIUM).exists() or shutil.which("chromium") is not None,
         "Debian's chromium is not installed (apt-get install -y chromium)")
    playwright_api = pytest.importorskip("playwright.sync_api")
    base, _data = server
    requests: list[str] = []
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        context = browser.new_context()

        def record(route):
            url = route.request.url
            requests.append(url)
            if url.startswith(base + "/"):
                route.continue_()
            else:
                route.abort()

        context.route("**/*", record)
        page = context.new_page()
        page.on("request", lambda request: requests.append(request.url))
        page.set_default_timeout(15_000)
        yield page, requests
        context.close()
        browser.close()


def test_analyst_session_in_chromium_with_hostile_content(server, browser_page):
    base, data = server
    page, requests = browser_page

    # log in (an anonymous visit lands on the login page)
    page.goto(base + "/")
    assert "/login" in page.url
    page.fill("input[name=username]", "analyst1")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("input[name=q]")

    # search with the query language; the hostile listing's title is on the first page of everything
    page.fill("input[name=q]", "")
    page.click("button[type=submit]")
    assert "13 listings match" in page.inner_text("#total")
    assert "<script>" in page.inner_text("table.listings")  # shown as text, not run
    page.fill("input[name=q]", "drug:cocaine ships_from:NL")
    page.click("button[type=submit]")
    assert "12 listings match" in page.inner_text("#total")

    # open a listing and its captured page
    page.click("a.listing-link:text-is(\"Cocaine flake 1g\")")
    page.wait_for_selector("#listing-title")
    assert page.inner_text("#listing-title").startswith("Cocaine flake")
    assert page.locator("svg.chart polyline").count() >= 1  # the price-history chart
    assert "digest verified" in page.inner_text("#digest-ok")
    frame = page.frame_locator("#capture-0")
    assert "Cocaine flake 1g" in frame.locator("h1").inner_text()

    # a vendor
    page.click("text=NordVendor >> nth=0")
    page.wait_for_selector("#vendor-name")
    assert "NordVendor" in page.inner_text("#vendor-name")

    # the hostile listing: its captured page is shown, inert
    page.goto(f"{base}/listing/{data.hostile_id}")
    hostile = page.frame_locator("#capture-0")
    assert "Hostile shop" in hostile.locator("h1").inner_text()
    hostile.locator("a:text-is(\"click\")").click()
    page.wait_for_timeout(1500)  # time for a meta refresh, onload or onerror to fire if any survived
    assert page.evaluate("() => typeof window.pwned") == "undefined"
    assert page.url == f"{base}/listing/{data.hostile_id}"
    assert "Hostile shop" in hostile.locator("h1").inner_text()  # the frame did not navigate away
    page.goto(base + "/vendor/" + '<b onmouseover="window.pwned=6">EvilVendor</b>')
    page.hover("#vendor-name")
    assert page.evaluate("() => typeof window.pwned") == "undefined"

    # a chart on the statistics page
    page.goto(base + "/stats?kind=counts&by=drug")
    assert page.locator("#chart svg rect").count() >= 2

    # add a watchlist
    page.goto(base + "/watchlists")
    page.fill("#add-watchlist input[name=name]", "almaty-meph")
    page.fill("#add-watchlist input[name=query]", "drug:mephedrone city:Алматы")
    page.click("#add-watchlist button[type=submit]")
    page.wait_for_selector("#watchlists >> text=almaty-meph")

    # log out: the pages are closed again
    page.click("#logout")
    page.wait_for_selector("input[name=username]")
    page.goto(base + "/watchlists")
    assert "/login" in page.url

    assert requests, "the request log is empty"
    outside = sorted({url for url in requests if not url.startswith(base + "/")})
    assert outside == [], f"the browser asked for outside URLs: {outside}"
    assert not [url for url in requests if CANARY_PATH in url], "a hostile script ran"
