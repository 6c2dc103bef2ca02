"""History between runs, vendors across markets, rebuilding the index, and crash safety."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from helpers import expected, onionwatch, site_dir
from index.embedded import EmbeddedIndex
from index.history import History


def listing(listing_id, vendor, price, title="x"):
    return {"listing_id": listing_id, "vendor": vendor, "title": title, "price": price, "currency": "USD",
            "price_usd": price}


def test_runs_record_new_removed_price_changes_and_vanished_vendors(tmp_path):
    history = History(tmp_path / "h.sqlite")
    first = history.record_run("m1", "2024-03-01T00:00:00", [listing("a", "Alpha", 10), listing("b", "Alpha", 20),
                                                             listing("c", "Beta", 30)], present={"a", "b", "c"})
    assert [c["kind"] for c in first] == ["new_listing"] * 3
    second = history.record_run("m1", "2024-03-08T00:00:00", [listing("c", "Beta", 33)], present={"c"})
    kinds = sorted((c["kind"], c.get("listing_id") or c.get("vendor")) for c in second)
    assert kinds == [("price_change", "c"), ("removed_listing", "a"), ("removed_listing", "b"),
                     ("vendor_vanished", "Alpha")]
    change = next(c for c in second if c["kind"] == "price_change")
    assert change["detail"]["old"] == 30 and change["detail"]["new"] == 33
    # A crawl that did not see the whole market calls nothing gone.
    assert history.record_run("m1", "2024-03-09T00:00:00", [listing("c", "Beta", 33)], present=None) == []
    assert [c["kind"] for c in history.changes("2024-03-08")] == [c["kind"] for c in second]
    history.close()


def test_vendors_are_linked_across_markets_by_key_or_address(tmp_path):
    history = History(tmp_path / "h.sqlite")
    key = "B2F132DCF2A457CCF8ED4BDDAC10C7D38CA75482"
    address = {"chain": "BTC", "address": "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"}
    history.record_run("northwind", "2024-03-01", [], None, [{"name": "NordicSnow", "pgp_fingerprints": [key]}])
    history.record_run("tortuga", "2024-04-01", [], None, [{"name": "SnowNordic", "pgp_fingerprints": [key]}])
    history.record_run("tayga", "2024-04-02", [], None, [{"name": "Север", "crypto_addresses": [address]}])
    history.record_run("northwind", "2024-04-03", [], None, [{"name": "NordicSnow", "crypto_addresses": [address]}])
    (vendor,) = history.vendor("nordicsnow")
    assert vendor["first_seen"] == "2024-03-01" and vendor["last_seen"] == "2024-04-03"
    assert vendor["pgp_fingerprints"] == [key] and vendor["crypto_addresses"] == [address]
    assert vendor["linked"] == [{"market": "tayga", "name": "Север"}, {"market": "tortuga", "name": "SnowNordic"}]
    history.close()


def test_cli_reports_changes_between_runs_and_rebuilds_the_index(tmp_path, copied_site):
    site = copied_site("northwind")
    config = tmp_path / "ow.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\n[[markets]]\nname = "northwind"\nsource = "{site}"\n')
    run = lambda *args: onionwatch("--config", str(config), *args)  # noqa: E731
    assert run("run").returncode == 0

    page = site / "listing" / "1002.html"
    page.write_text(page.read_text(encoding="utf-8").replace("USD 65.00", "USD 59.00"), encoding="utf-8")
    for removed in ("listing/3002.html", "vendor/BrownTide.html"):
        (site / removed).unlink()
    opioids = site / "category" / "opioids.html"
    text = opioids.read_text(encoding="utf-8")
    start = text.index('<div class="listing-row">', text.index("Heroin") - 400)
    opioids.write_text(text[:start] + text[text.index("</div>\n      </div>", text.index("Heroin")) + 14:],
                       encoding="utf-8")
    assert run("run").returncode == 0

    changes = [json.loads(line) for line in run("changes", "--since", "2000-01-01", "--json").stdout.splitlines()]
    kinds = [(c["kind"], c.get("title") or c.get("vendor")) for c in changes if c["kind"] != "new_listing"]
    assert ("price_change", "Speed Paste 60% 10g") in kinds
    assert ("removed_listing", "Heroin #4 Afghan 2g") in kinds
    assert ("vendor_vanished", "BrownTide") in kinds

    csv_out = run("stats", "--by", "drug", "--csv").stdout.splitlines()
    assert csv_out[0] == "month,drug,unit,observations,median_usd,q1_usd,q3_usd,mean_usd,exact,error_bound"
    assert len(csv_out) > 5

    before = run("search", "", "--all", "--limit", "100", "--json").stdout.splitlines()
    removed_before = run("search", "status:removed", "--limit", "100", "--json").stdout.splitlines()
    rebuilt = run("index", "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    after = run("search", "", "--all", "--limit", "100", "--json").stdout.splitlines()
    assert len(after) == len(before) == len(expected("northwind")["listings"])
    assert {json.loads(h)["listing_id"] for h in after} == {json.loads(h)["listing_id"] for h in before}
    # the lifecycle survives a rebuild: what the market removed stays removed
    removed_after = run("search", "status:removed", "--limit", "100", "--json").stdout.splitlines()
    assert {json.loads(h)["title"] for h in removed_after} == {json.loads(h)["title"] for h in removed_before}
    assert "Heroin #4 Afghan 2g" in {json.loads(h)["title"] for h in removed_after}


WRITER = textwrap.dedent("""
    import sys, time
    from index.embedded import EmbeddedIndex
    index = EmbeddedIndex(sys.argv[1])
    index.upsert({"listing_id": f"a{i}", "title": f"first batch {i}", "market": "m"} for i in range(500))
    def second():
        for i in range(1000):
            if i == 600:
                print("midway", flush=True)
                time.sleep(60)
            yield {"listing_id": f"b{i}", "title": f"second batch {i}", "market": "m"}
    index.upsert(second())
""")


def test_a_writer_killed_mid_batch_leaves_a_readable_index_and_a_replay_completes_it(tmp_path):
    path = tmp_path / "index"
    child = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True,
                             cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        assert child.stdout.readline().strip() == "midway"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    index = EmbeddedIndex(path)
    assert index.count() == 500  # the last commit, nothing of the batch in flight
    assert index.search("first batch 42").total >= 1
    index.upsert({"listing_id": f"b{i}", "title": f"second batch {i}", "market": "m"} for i in range(1000))
    assert index.count() == 1500
