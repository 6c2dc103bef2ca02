"""price_usd from the best evidence, with the rate it used; nothing when no rate is known."""
from __future__ import annotations

import json
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from extract.measures import Money
from extract.model import RawListing
from extract.normalise import dead_drop_type, is_placeholder, normalise
from extract.places import country_code, country_codes
from extract.rates import RatesStore, page_rates, to_usd, update_rates

FIXTURE = "date,currency,usd_per_unit,source\n2024-03-01,KZT,0.00222,fixture\n2024-03-05,KZT,0.00220,fixture\n" \
          "2024-03-01,XMR,130.5,fixture\n"


@pytest.fixture
def store(tmp_path):
    csv_file = tmp_path / "rates.csv"
    csv_file.write_text(FIXTURE)
    rates = RatesStore(tmp_path / "rates.sqlite")
    assert rates.import_csv(csv_file) == 3
    yield rates
    rates.close()


def no_page_rates():
    return {}


def test_page_rates_beat_the_store(store):
    shown = lambda: page_rates("Курс: 1 BTC = 6 120 000 ₽ · 1 USD = 92,40 ₽ · 1 USD = 505 ₸")  # noqa: E731
    conversion = to_usd(25000, "KZT", date(2024, 3, 4), shown, store)
    assert conversion.usd == pytest.approx(49.50) and conversion.basis.startswith("page:")
    assert to_usd(0.01, "BTC", date(2024, 3, 4), shown, store).usd == pytest.approx(662.34, abs=0.01)


def test_store_uses_the_nearest_earlier_rate_and_says_so(store):
    conversion = to_usd(10000, "KZT", date(2024, 3, 4), no_page_rates, store)
    assert conversion.usd == 22.2 and "2024-03-01" in conversion.basis
    assert to_usd(10000, "KZT", date(2024, 3, 9), no_page_rates, store).usd == 22.0


def test_no_rate_means_no_price_usd(store):
    assert to_usd(10000, "KZT", date(2024, 2, 1), no_page_rates, store) is None  # before any record
    assert to_usd(10000, "UZS", date(2024, 3, 4), no_page_rates, store) is None  # never recorded


def test_fiat_falls_back_to_ecb_reference_rates(store):
    conversion = to_usd(100, "EUR", date(2020, 1, 2), no_page_rates, store)
    assert conversion.usd == pytest.approx(111.93) and "ECB" in conversion.basis
    assert to_usd(100, "RUB", date(2026, 1, 5), no_page_rates, None) is None  # ECB stopped RUB in 2022


def test_bad_rate_files_are_refused_with_the_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("date,currency,usd_per_unit\n2024-03-01,KZT,-1\n")
    rates = RatesStore(tmp_path / "r.sqlite")
    with pytest.raises(ValueError, match="bad.csv:2"):
        rates.import_csv(bad)


def test_update_fetches_crypto_and_fiat_from_the_configured_apis(tmp_path):
    answers = {"/crypto": {"bitcoin": {"usd": 64250.0}, "monero": {"usd": 165.4}},
               "/fiat": {"result": "success", "rates": {"USD": 1, "KZT": 505.0, "RUB": 92.4}}}

    class Api(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps(answers[self.path.split("?")[0]]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    rates = RatesStore(tmp_path / "r.sqlite")
    try:
        stored = update_rates(rates, date(2026, 11, 28), base + "/crypto?ids={ids}", base + "/fiat")
    finally:
        server.shutdown()
    assert stored == 4
    assert rates.lookup("KZT", date(2026, 11, 29))[0] == pytest.approx(1 / 505)
    assert rates.lookup("BTC", date(2026, 11, 28))[0] == 64250.0


def test_normalise_records_units_codes_and_flags(store):
    raw = RawListing(title="Гашиш Ice-o-lator 2 г", prices=[Money(16500, "KZT")], ships_from="Казахстан",
                     ships_to="Европа, Россия", dead_drop="Тип клада: прикоп")
    listing = normalise(raw, no_page_rates, date(2024, 3, 4), store)
    assert (listing.drug, listing.drug_class, listing.quantity, listing.unit) == ("hashish", "cannabis", 2, "g")
    assert (listing.ships_from, listing.ships_to, listing.dead_drop) == ("KZ", ["EU", "RU"], "buried")
    assert listing.price_usd == pytest.approx(36.63) and listing.usd_per_base_unit == pytest.approx(18.315)
    assert listing.placeholder_price is False
    parked = normalise(RawListing(title="DO NOT BUY - holding listing", prices=[Money(99999, "USD")]),
                       no_page_rates, date(2024, 3, 4), store)
    assert parked.placeholder_price is True


@pytest.mark.parametrize("shown, code", [
    ("Netherlands", "NL"), ("World Wide", "WW"), ("Worldwide", "WW"), ("Europe", "EU"), ("UK", "GB"),
    ("United States of America", "US"), ("Antarctica(c)", "AQ"), ("Германия", "DE"), ("Atlantis", None),
])
def test_country_names_to_codes(shown, code):
    assert country_code(shown) == code


def test_country_lists_keep_order_and_drop_unknown():
    assert country_codes("United States, Worldwide, Atlantis, US") == ["US", "WW"]


@pytest.mark.parametrize("shown, kind", [("магнит", "magnet"), ("Магнитом", "magnet"), ("прикоп", "buried"),
                                         ("Тайник", "cache"), ("закладка в подъезде", "other"), ("", None)])
def test_dead_drop_types(shown, kind):
    assert dead_drop_type(shown) == kind


@pytest.mark.parametrize("title, price_usd, price, flagged", [
    ("Don't buy - holding", 5.0, 5.0, True), ("Cocaine 1g", 99999.0, 99999.0, True),
    ("Cocaine 1g", 80.0, 80.0, False), ("Bulk 1kg", 38000.0, 38000.0, False),
])
def test_placeholder_prices(title, price_usd, price, flagged):
    assert is_placeholder(title, price_usd, price) is flagged
