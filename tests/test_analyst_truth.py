"""What an analyst reads must be true (issue 12): a hand-made mirror, watched run after run.

The mirror is written here (never copied from a real market): a shop priced only in
bitcoin with its BTC rate in the header, a seller profile headed "Seller profile: ...",
item pages saying "Delivers to: Europe".
"""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import threading

import pytest

from helpers import onionwatch
from index.embedded import EmbeddedIndex
from index.history import History, vendor_name
from index.protocol import IndexBusy
from onionwatch.datalock import writer_lock

ITEMS = {1: ("Cocaine 1g pure", "0.0021 BTC"), 2: ("MDMA pills x10", "0.0015 BTC"), 3: ("Ketamine 2g", "0.0009 BTC")}
FINGERPRINT = "B2F132DCF2A457CCF8ED4BDDAC10C7D38CA75482"


def _card(number: int) -> str:
    title, price = ITEMS[number]
    return (f'<div class="card"><a href="item/{number}.html">{title}</a> <span class="price">{price}</span> '
            f'by <a href="seller/frostbite.html">Frostbite</a></div>\n')


def write_mirror(folder, items=(1, 2, 3)):
    (folder / "item").mkdir(parents=True, exist_ok=True)
    (folder / "seller").mkdir(exist_ok=True)
    (folder / "index.html").write_text(
        "<html><head><title>Frost Market</title></head><body>\n<div class=\"rates\">BTC rate: $64,250</div>\n"
        "<h1>Frost Market</h1>\n<div class=\"grid\">\n" + "".join(_card(n) for n in items) + "</div></body></html>\n",
        encoding="utf-8")
    for number, (title, price) in ITEMS.items():
        page = folder / "item" / f"{number}.html"
        if number not in items:
            page.unlink(missing_ok=True)
            continue
        page.write_text(
            f"<html><head><title>{title} - Frost Market</title></head><body>\n"
            f"<div class=\"rates\">BTC rate: $64,250</div>\n<h1>{title}</h1>\n"
            f"<table><tr><th>Price</th><td>{price}</td></tr>"
            f"<tr><th>Vendor</th><td><a href=\"../seller/frostbite.html\">Frostbite</a></td></tr>\n"
            f"<tr><th>Ships from</th><td>Netherlands</td></tr><tr><th>Delivers to</th><td>Europe</td></tr></table>\n"
            f"<form><button>Buy now</button></form></body></html>\n", encoding="utf-8")
    fingerprint = " ".join(FINGERPRINT[i:i + 4] for i in range(0, 40, 4))
    (folder / "seller" / "frostbite.html").write_text(
        "<html><head><title>Frost Market</title></head><body>\n<h1>Seller profile: Frostbite</h1>\n"
        f"<p>Member since 2024. Feedback 99%.</p>\n<p>PGP fingerprint: {fingerprint}</p>\n</body></html>\n",
        encoding="utf-8")
    return folder


def _frost(tmp_path):
    site = write_mirror(tmp_path / "mirror")
    config = tmp_path / "ow.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\n[[markets]]\nname = "frost"\nsource = "{site}/index.html"\n')

    class Frost:
        data = tmp_path / "data"

        @staticmethod
        def run(*args):
            return onionwatch("--config", str(config), *args)

        @staticmethod
        def configure(extra: str):
            config.write_text(config.read_text(encoding="utf-8") + extra, encoding="utf-8")

    Frost.site = site
    return Frost


@pytest.fixture
def frost(tmp_path):
    """A hand-made mirror and a configuration watching it; ``run(*args)`` calls the CLI on it."""
    return _frost(tmp_path)


@pytest.fixture(scope="module")
def watched(tmp_path_factory):
    """The hand-made mirror after one run, for tests that only read."""
    frost = _frost(tmp_path_factory.mktemp("watched"))
    frost.first_run = frost.run("run")
    assert frost.first_run.returncode == 0, frost.first_run.stderr
    return frost


def _json_lines(result) -> list[dict]:
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def _observations(data_dir) -> list[dict]:
    import tantivy

    index = EmbeddedIndex(data_dir / "index")
    searcher = index.index.searcher()
    query = tantivy.Query.term_query(index.schema, "kind", "observation")
    hits = searcher.search(query, limit=1000).hits
    return [json.loads(bytes(searcher.doc(address)["doc"][0])) for _score, address in hits]


def test_1_removed_listings_are_not_shown_as_current_and_tables_show_last_seen(frost):
    assert frost.run("run").returncode == 0
    write_mirror(frost.site, items=(1, 2))  # the ketamine listing is taken down
    second = frost.run("run")
    assert second.returncode == 0, second.stderr

    current = _json_lines(frost.run("search", "", "--json"))
    assert sorted(hit["title"] for hit in current) == ["Cocaine 1g pure", "MDMA pills x10"]
    assert all(hit["status"] == "active" and hit["first_seen"] <= hit["last_seen"] for hit in current)
    (removed,) = _json_lines(frost.run("search", "status:removed", "--json"))
    assert removed["title"] == "Ketamine 2g" and removed["removed_at"] and removed["last_seen"]
    assert len(_json_lines(frost.run("search", "", "--all", "--json"))) == 3
    table = frost.run("search", "drug:ketamine", "--all").stdout
    assert "last seen" in table and "removed" in table and " UTC" in table


def test_2_listings_on_unchanged_pages_are_observed_again_and_vendors_stay_seen(frost):
    assert frost.run("run").returncode == 0
    first = {o["listing_id"]: o["captured_at"] for o in _observations(frost.data)}
    history = History(frost.data / "history.sqlite")
    vendor_before = history.vendor("Frostbite")[0]["last_seen"]
    history.close()
    second = frost.run("run")  # nothing changed on the market
    assert second.returncode == 0, second.stderr
    assert "0 new, 0 changed, 5 unchanged" in second.stdout
    assert "3 still listed on unchanged pages" in second.stdout
    again = {o["listing_id"]: o["captured_at"] for o in _observations(frost.data)}
    assert set(again) == set(first) and len(again) == 3
    assert all(again[i] > first[i] for i in first)  # observed in this run, not left at the first
    listings = _json_lines(frost.run("search", "", "--json"))
    assert all(hit["last_seen"] > hit["first_seen"] for hit in listings)
    history = History(frost.data / "history.sqlite")
    assert history.vendor("Frostbite")[0]["last_seen"] > vendor_before
    history.close()


def test_3_stats_keep_grams_and_pills_apart_exactly_with_names_as_written(watched):
    frost = watched
    rows = _json_lines(frost.run("stats", "--by", "vendor", "--json"))
    assert {(row["vendor"], row["unit"]) for row in rows} == {("Frostbite", "g"), ("Frostbite", "unit")}
    grams = next(row for row in rows if row["unit"] == "g")
    assert grams["observations"] == 2 and grams["exact"]
    assert grams["median_usd"] == pytest.approx((134.92 + 28.91) / 2, abs=0.01)  # exact: mean of the middle two
    table = frost.run("stats", "--by", "vendor").stdout
    assert "USD per" in table and "Frostbite" in table


def test_4_alerts_wait_for_a_sink_and_are_delivered_when_one_is_configured(frost):
    added = frost.run("watch", "add", "coke", "drug:coke")
    assert added.returncode == 0 and "no alert sink is configured" in added.stderr
    first = frost.run("run")
    assert first.returncode == 0 and "1 watchlist alert kept unsent" in first.stderr
    frost.configure('[alerts]\njsonl = "alerts.jsonl"\n')
    assert frost.run("run").returncode == 0
    (alert,) = [json.loads(line) for line in (frost.data / "alerts.jsonl").read_text(encoding="utf-8").splitlines()]
    assert alert["watchlist"] == "coke" and alert["listing"]["title"] == "Cocaine 1g pure"
    assert frost.run("run").returncode == 0  # once, never again
    assert len((frost.data / "alerts.jsonl").read_text(encoding="utf-8").splitlines()) == 1


def test_5_a_profile_heading_names_the_same_vendor_as_the_listings(watched):
    frost = watched
    (vendor,) = _json_lines(frost.run("vendor", "Frostbite", "--json"))
    assert vendor["name"] == "Frostbite" and vendor["pgp_fingerprints"] == [FINGERPRINT]
    assert frost.run("vendor", "Seller profile: Frostbite").returncode == 1
    assert vendor_name("Seller profile: Frostbite") == vendor_name("Frostbite's profile") == "Frostbite"
    assert vendor_name("Профиль продавца: Север") == "Север"
    assert vendor_name("Shop Keeper") == "Shop Keeper"  # a name that merely starts with a heading word


def test_6_one_writer_per_data_folder_with_a_clear_message(frost):
    import scheduler
    from onionwatch.config import load_config
    from onionwatch.datalock import DataFolderBusy

    with writer_lock(frost.data, "run"):
        for command in (["run"], ["index", "rebuild"], ["replay", "--market", "frost", "none.warc.gz"],
                        ["schedule", "run-now", "frost"]):
            refused = frost.run(*command)
            assert refused.returncode == 3, command
            assert f"another run is in progress, pid {os.getpid()}, since " in refused.stderr, command
            assert "Traceback" not in refused.stderr and len(refused.stderr.strip().splitlines()) == 1, command
        with pytest.raises(DataFolderBusy, match="another run is in progress"):
            scheduler.serve(load_config(str(frost.data.parent / "ow.toml")))
    assert not (frost.data / "captures").exists()  # nothing was crawled twice
    assert frost.run("run").returncode == 0  # released with the lock holder


def test_6_a_held_index_writer_is_one_line_not_a_lockbusy_traceback(tmp_path):
    index = EmbeddedIndex(tmp_path / "index")
    writer = index.index.writer()
    try:
        with pytest.raises(IndexBusy, match="being written by another process"):
            EmbeddedIndex(tmp_path / "index").upsert([{"listing_id": "a", "title": "x"}])
    finally:
        writer.rollback()
        del writer


def test_6_two_runs_at_once_one_refused(frost):
    outcomes = []
    threads = [threading.Thread(target=lambda: outcomes.append(frost.run("run"))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    codes = sorted(result.returncode for result in outcomes)
    assert codes == [0, 3]  # the second is refused at once, in one line
    assert all("Traceback" not in result.stderr and "LockBusy" not in result.stderr for result in outcomes)
    captures = list((frost.data / "captures").rglob("*.warc.gz"))
    assert len(captures) == codes.count(0)


def test_7_bitcoin_only_prices_convert_with_the_page_rate_and_keep_their_precision(watched):
    frost = watched
    hits = {hit["title"]: hit for hit in _json_lines(frost.run("search", "", "--json"))}
    cocaine = hits["Cocaine 1g pure"]
    assert cocaine["price"] == 0.0021 and cocaine["currency"] == "BTC"
    assert cocaine["price_usd"] == pytest.approx(134.92) and cocaine["price_usd_basis"].startswith("page:")
    table = frost.run("search", "drug:cocaine").stdout
    assert "0.0021" in table and "0.00 " not in table


def test_8_synonyms_russian_names_places_and_suggestions(watched):
    frost = watched
    for query, title in (("drug:кокаин", "Cocaine 1g pure"), ("drug:coke", "Cocaine 1g pure"),
                         ("ecstasy", "MDMA pills x10"), ("ships_from:Netherlands", None),
                         ("ships_to:Europe", None)):
        hits = _json_lines(frost.run("search", query, "--json"))
        assert hits, query
        if title:
            assert [hit["title"] for hit in hits] == [title], query
    assert all(hit["ships_to"] == ["EU"] for hit in _json_lines(frost.run("search", "ships_to:EU", "--json")))
    missed = frost.run("search", "drug:cocane")
    assert missed.returncode == 0 and "0 listings match" in missed.stdout and "drug:cocaine" in missed.stdout
    vocab = frost.run("vocab", "drug")
    assert vocab.returncode == 0 and any(line.strip().startswith("cocaine") and "кокаин" in line
                                         for line in vocab.stdout.splitlines())
    assert "Омск" in frost.run("vocab", "city").stdout


def test_9_readme_documents_index_and_search():
    readme = (os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + "/README.md")
    text = open(readme, encoding="utf-8").read()
    section = text[text.index("## Index and search"):]
    for needed in ("status:removed", "drug:кокаин", "onionwatch vocab", "ONIONWATCH_ES_URL", "backend = \"elasticsearch\""):
        assert needed in section, needed
    assert "## Watch your own mirror" in text


def test_10_tables_csv_pipes_progress_and_grammar(watched):
    frost, run = watched, watched.first_run
    assert "frost: crawling" in run.stderr and "frost: ok, 5 pages fetched, 3 listings found" in run.stderr
    one = frost.run("search", "drug:cocaine")
    assert one.stdout.startswith("1 listing matches;")
    rows = list(csv.DictReader(io.StringIO(frost.run("search", "", "--csv").stdout)))
    assert len(rows) == 3
    for field in ("listing_id", "url", "quantity", "unit", "ships_to", "status", "first_seen", "last_seen",
                  "capture_warc_file", "capture_offset", "capture_digest"):
        assert all(row[field] for row in rows), field
    assert rows[0]["capture_warc_file"].endswith(".warc.gz") and len(rows[0]["listing_id"]) == 32

    changes = frost.run("changes", "--since", "2000-01-01").stdout
    assert "{" not in changes and "new at 0.0021 BTC" in changes and " UTC" in changes
    vendor = frost.run("vendor", "Frostbite").stdout
    assert "first seen" in vendor and " UTC" in vendor and FINGERPRINT in vendor

    # the reader of a pipe goes away (| head): a quiet end, no BrokenPipeError traceback
    child = subprocess.Popen([sys.executable, "-m", "onionwatch.cli", "vocab"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=os.environ.copy())
    child.stdout.close()
    stderr = child.stderr.read().decode()
    child.wait(timeout=60)
    assert "BrokenPipe" not in stderr and "Traceback" not in stderr and child.returncode == 0


def test_10_progress_is_redrawn_in_place_on_a_terminal(frost, tmp_path):
    import pty

    main, secondary = pty.openpty()
    config = tmp_path / "ow.toml"
    child = subprocess.Popen([sys.executable, "-m", "onionwatch.cli", "--config", str(config), "run"],
                             stdout=subprocess.DEVNULL, stderr=secondary, env=os.environ.copy())
    os.close(secondary)
    seen = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    child.wait(timeout=120)
    os.close(main)
    text = seen.decode("utf-8", "replace")
    assert child.returncode == 0
    assert "\r\x1b[K" in text  # one line, redrawn
    assert "frost: crawling… " in text and "pages fetched" in text
    assert "frost: ok, 5 pages fetched, 3 listings found" in text
