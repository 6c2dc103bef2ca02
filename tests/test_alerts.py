"""Watchlist hits reach every sink exactly once; a sink that fails gets them on the next run."""
from __future__ import annotations

import json
import socket
import threading
from dataclasses import replace
from email import message_from_bytes
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller

from helpers import onionwatch, site_dir
from index import open_index
from onionwatch.config import AlertConfig, MarketSource
from onionwatch.monitor import Monitor


class Webhook:
    """An HTTP receiver on 127.0.0.1 that records alert bodies, or refuses them while ``down``."""

    def __init__(self):
        self.bodies: list[dict] = []
        self.down = False
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.down:
                    self.send_response(503)
                else:
                    receiver.bodies.append(json.loads(body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Mailbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def receivers():
    webhook, mailbox = Webhook(), Mailbox()
    with socket.socket() as probe:  # a free port: aiosmtpd's controller cannot take port 0
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    smtp = Controller(mailbox, hostname="127.0.0.1", port=port)
    smtp.start()
    yield webhook, mailbox, port
    smtp.stop()
    webhook.close()


def test_each_hit_is_alerted_once_on_every_sink(make_config, receivers, tmp_path):
    webhook, mailbox, smtp_port = receivers
    market = MarketSource("tayga", (site_dir("tayga") / "index.html").as_uri())
    alerts = AlertConfig(jsonl="alerts.jsonl", webhook=webhook.url, smtp_host="127.0.0.1", smtp_port=smtp_port,
                         smtp_from="onionwatch@unit.test", smtp_to=("analyst@unit.test",))
    config = replace(make_config(market), alerts=alerts)
    monitor = Monitor(config, open_index(config))
    monitor.watchlists.add("almaty", "city:Алматы")
    monitor.watchlists.add("meph", "drug:mephedrone")

    webhook.down = True  # the first run cannot reach the webhook
    monitor.run(market)
    expected_hits = {("almaty", "Мефедрон VHQ кристаллы"), ("almaty", "Шишки Amnesia Haze"),
                     ("almaty", "Альфа PVP кристалл VHQ"), ("meph", "Мефедрон VHQ кристаллы"),
                     ("meph", "Мефедрон мука")}
    jsonl = [json.loads(line) for line in (config.data_dir / "alerts.jsonl").read_text().splitlines()]
    assert {(a["watchlist"], a["listing"]["title"]) for a in jsonl} == expected_hits and len(jsonl) == 5
    assert len(mailbox.messages) == 5 and webhook.bodies == []
    recipients, message = mailbox.messages[0]
    assert recipients == ["analyst@unit.test"]
    assert str(make_header(decode_header(message["Subject"]))).startswith("[onionwatch] ")

    webhook.down = False
    (config.data_dir / "state.sqlite").unlink()  # pages read again: the same listings are written again
    report = monitor.run(market)
    assert report.written_ids  # the run did touch the watched listings...
    assert {(a["watchlist"], a["listing"]["title"]) for a in webhook.bodies} == expected_hits  # ...late delivery
    assert len(webhook.bodies) == 5
    assert len((config.data_dir / "alerts.jsonl").read_text().splitlines()) == 5  # never repeated
    assert len(mailbox.messages) == 5
    assert [r["alerts"] for r in monitor.runs.recent()] == [0, 5]
    monitor.close()


def test_watch_commands(tmp_path):
    env = {"ONIONWATCH_DATA": str(tmp_path)}
    assert onionwatch("watch", "add", "kz", "city:Алматы OR city:Астана", env=env).returncode == 0
    assert "kz: city:Алматы OR city:Астана" in onionwatch("watch", "list", env=env).stdout
    bad = onionwatch("watch", "add", "broken", "city:(", env=env)
    assert bad.returncode == 2 and "^" in bad.stderr
    assert onionwatch("watch", "remove", "kz", env=env).returncode == 0
    assert onionwatch("watch", "remove", "kz", env=env).returncode == 1
