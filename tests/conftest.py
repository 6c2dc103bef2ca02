from __future__ import annotations

import shutil
import threading
from functools import partial
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


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture
def http_mirror():
    """Serve a folder on 127.0.0.1 (a local HTTP mirror); yields a function folder -> base URL."""
    servers = []

    def serve(folder: Path) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(folder)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

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
