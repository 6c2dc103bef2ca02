from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from golden import site_dir
from onionwatch.config import Config, MarketSource


@pytest.fixture
def make_config(tmp_path):
    def make(*markets: MarketSource) -> Config:
        return Config(data_dir=tmp_path / "data", markets=tuple(markets))

    return make


@dataclass
class LocalSite:
    url: str
    requests: list[str] = field(default_factory=list)  # "METHOD path", in arrival order


@pytest.fixture
def http_mirror():
    """Serve a folder on 127.0.0.1 (a local HTTP mirror) and record every request it gets."""
    servers = []

    def serve(folder: Path) -> LocalSite:
        site = LocalSite("")

        class Handler(SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(folder), **kwargs)

            def log_message(self, format, *args):
                site.requests.append(f"{self.command} {self.path}")

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        site.url = f"http://127.0.0.1:{server.server_address[1]}/"
        return site

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def copied_site(tmp_path):
    def copy(market: str) -> Path:
        target = tmp_path / "mirror" / market
        shutil.copytree(site_dir(market), target)
        return target

    return copy
