from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from engine_fixtures import engine  # noqa: F401  (one real search engine for the session, started on first use)
from helpers import site_dir
from onionwatch.config import Config, MarketSource


@pytest.fixture
def make_config(tmp_path):
    def make(*markets: MarketSource) -> Config:
        return Config(data_dir=tmp_path / "data", markets=tuple(markets))

    return make


@dataclass
class LocalSite:
    url: str
    requests: list[str] = field(default_factory=list)  # "METHOD path status", as answered
    arrivals: list[str] = field(default_factory=list)  # "METHOD path", as received, answered or not


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients that hang up early (timeouts, size limits) are what some tests are about


def _start(handler_class) -> tuple[ThreadingHTTPServer, str]:
    server = _Server(("127.0.0.1", 0), handler_class)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


@pytest.fixture
def local_servers():
    """Servers a test starts on 127.0.0.1, all stopped when it ends."""
    servers: list[ThreadingHTTPServer] = []
    yield servers
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def http_mirror(local_servers):
    """Serve a folder on 127.0.0.1 (a local HTTP mirror) and record every request it gets.

    ``routes`` maps a path to a function taking the request handler, for pages
    that misbehave (slow, huge, redirecting); ``cookie`` is one the server
    demands, answering its login page to requests without it.
    """
    def serve(folder: Path, routes: dict | None = None, cookie: str | None = None) -> LocalSite:
        site = LocalSite("")

        class Handler(SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(folder), **kwargs)

            def do_GET(self):
                site.arrivals.append(f"GET {self.path}")
                if cookie and cookie not in (self.headers.get("Cookie") or ""):
                    self.path = "/login.html"
                if routes and self.path in routes:
                    return routes[self.path](self)
                return super().do_GET()

            def log_request(self, code="-", size="-"):
                site.requests.append(f"{self.command} {self.path} {int(code)}")

        server, site.url = _start(Handler)
        local_servers.append(server)
        return site

    return serve


@pytest.fixture
def recording_proxy(local_servers):
    """An HTTP proxy on 127.0.0.1 that answers every URL from one folder and records it:
    it stands in for privoxy and Tor, serving a fake .onion market."""

    def serve(folder: Path) -> LocalSite:
        site = LocalSite("")

        class Handler(SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(folder), **kwargs)

            def do_GET(self):
                site.requests.append(self.path)  # a proxy gets absolute URLs
                self.path = urlsplit(self.path).path
                return super().do_GET()

            def log_message(self, format, *args):
                pass

        server, site.url = _start(Handler)
        local_servers.append(server)
        return site

    return serve


@pytest.fixture
def copied_site(tmp_path):
    def copy(market: str) -> Path:
        target = tmp_path / "mirror" / market
        shutil.copytree(site_dir(market), target)
        return target

    return copy
