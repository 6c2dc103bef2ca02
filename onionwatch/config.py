"""One TOML file configures onionwatch; every key has a default so the demo needs none.

Example (``onionwatch.toml``)::

    data_dir = "/var/lib/onionwatch"

    [index]
    backend = "embedded"

    [proxy]
    http = "http://127.0.0.1:8118"  # privoxy in front of Tor; required for .onion; or a list

    [[markets]]
    name = "northwind"
    source = "file:///srv/mirrors/northwind/index.html"
    schedule = "interval:6h"
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SAMPLES_DIR = PROJECT_ROOT / "samples"
DEFAULT_DATA_DIR = Path("onionwatch-data")
INDEX_BACKENDS = ("embedded", "elasticsearch", "opensearch")


class ConfigError(ValueError):
    """The configuration file is unusable; the message says which key and why."""


GATE_POLICIES = ("stop", "skip")


@dataclass(frozen=True)
class MarketSource:
    """Where a market's pages come from: ``file://`` or a path (a folder mirror),
    ``http(s)://`` (a local mirror, or a live .onion market through Tor), or
    ``warc:PATH`` (replay a capture file as if it were the site).

    ``cookies``: a Netscape cookies.txt exported from Tor Browser, or a header
    string ``name=value; name2=value2``. ``on_gate``: on a captcha or login
    page, ``stop`` the crawl (the default for live sites) or ``skip`` the page
    (the default for saved mirrors, which hold such pages as ordinary files).
    """

    name: str
    source: str
    schedule: str | None = None
    cookies: str | None = None
    on_gate: str | None = None

    @property
    def is_live(self) -> bool:
        return self.source.startswith(("http://", "https://"))

    @property
    def gate_policy(self) -> str:
        return self.on_gate or ("stop" if self.is_live else "skip")


@dataclass(frozen=True)
class IndexConfig:
    """``embedded`` (tantivy in the data folder), ``elasticsearch`` or ``opensearch`` (``url``: one URL,
    several separated by commas, or a list). Secrets are best left to the
    environment: ONIONWATCH_ES_API_KEY, or ONIONWATCH_ES_USER and ONIONWATCH_ES_PASSWORD."""

    backend: str = "embedded"
    url: str | list[str] | None = None
    api_key: str | None = None
    username: str | None = None
    password: str | None = None
    ca_certs: str | None = None
    prefix: str = "onionwatch"


@dataclass(frozen=True)
class CrawlLimits:
    max_pages: int = 5000
    max_depth: int = 8
    max_page_bytes: int = 20 * 1024 * 1024
    timeout_s: float = 60.0
    wall_clock_s: float = 3600.0
    retry_times: int = 3
    retry_base_delay_s: float = 2.0  # doubles with each retry


@dataclass(frozen=True)
class AlertConfig:
    """Where watchlist hits go. The SMTP password is best left to ONIONWATCH_SMTP_PASSWORD."""

    jsonl: str | None = None
    webhook: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "onionwatch@localhost"
    smtp_to: tuple[str, ...] = ()
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False


@dataclass(frozen=True)
class SchedulerConfig:
    misfire_grace_s: int = 3600  # a run missed by less than this (machine down) still happens, once
    shutdown_timeout_s: float = 300.0  # on SIGTERM, how long running markets may take to finish


@dataclass(frozen=True)
class Config:
    data_dir: Path = DEFAULT_DATA_DIR
    markets: tuple[MarketSource, ...] = ()
    index: IndexConfig = IndexConfig()
    http_proxies: tuple[str, ...] = ()
    limits: CrawlLimits = CrawlLimits()
    alerts: AlertConfig = AlertConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    source_file: Path | None = None

    @property
    def captures_dir(self) -> Path:
        return self.data_dir / "captures"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def state_db(self) -> Path:
        return self.data_dir / "state.sqlite"

    @property
    def runs_db(self) -> Path:
        return self.data_dir / "runs.sqlite"

    @property
    def watch_db(self) -> Path:
        return self.data_dir / "watchlists.sqlite"

    @property
    def jobs_db(self) -> Path:
        return self.data_dir / "jobs.sqlite"

    @property
    def history_db(self) -> Path:
        return self.data_dir / "history.sqlite"

    @property
    def rates_db(self) -> Path:
        return self.data_dir / "rates.sqlite"

    def market(self, name: str) -> MarketSource:
        for market in self.markets:
            if market.name == name:
                return market
        known = ", ".join(m.name for m in self.markets) or "none"
        raise ConfigError(f"no market named {name!r} in the configuration (known: {known})")


def normalise_source(source: str, base: Path, where: str) -> str:
    """A configured source as a URL the crawler takes; paths become file:// URLs."""
    if source.startswith(("http://", "https://", "file://")):
        return source
    if source.startswith("warc:"):
        path = (base / source[len("warc:"):]).resolve()
        if not path.is_file():
            raise ConfigError(f"{where}: WARC file not found: {path}")
        return f"warc:{path}"
    path = (base / source).resolve()
    if path.is_dir():
        path = path / "index.html"
    if not path.is_file():
        raise ConfigError(f"{where}: source {source!r} is neither a URL nor an existing page or folder")
    return path.as_uri()


def sample_markets() -> tuple[MarketSource, ...]:
    """The bundled fictional market mirrors, crawled when no markets are configured."""
    markets = []
    for site in sorted(SAMPLES_DIR.glob("*/site/index.html")):
        markets.append(MarketSource(name=site.parent.parent.name, source=site.as_uri()))
    return tuple(markets)


def load_config(path: str | os.PathLike | None = None) -> Config:
    """Load ``path``, else ``$ONIONWATCH_CONFIG``, else ``./onionwatch.toml`` if present, else defaults.

    ``$ONIONWATCH_DATA`` overrides the data folder either way, so tests and
    one-off runs can point at a scratch folder.
    """
    chosen = path or os.environ.get("ONIONWATCH_CONFIG")
    if chosen is None and Path("onionwatch.toml").is_file():
        chosen = "onionwatch.toml"
    raw: dict = {}
    if chosen is not None:
        try:
            raw = tomllib.loads(Path(chosen).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"configuration file not found: {chosen}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{chosen}: not valid TOML: {exc}") from None
    config = _from_dict(raw, Path(chosen) if chosen else None)
    env_data = os.environ.get("ONIONWATCH_DATA")
    # Absolute, so capture paths recorded in the index stay valid from any folder.
    return replace(config, data_dir=Path(env_data or config.data_dir).resolve())


def _from_dict(raw: dict, source_file: Path | None) -> Config:
    where = str(source_file) if source_file else "configuration"
    unknown = set(raw) - {"data_dir", "markets", "index", "proxy", "limits", "alerts", "scheduler"}
    if unknown:
        raise ConfigError(f"{where}: unknown key(s): {', '.join(sorted(unknown))}")
    markets = []
    for position, entry in enumerate(raw.get("markets", [])):
        if not isinstance(entry, dict) or "name" not in entry or "source" not in entry:
            raise ConfigError(f"{where}: markets[{position}] needs 'name' and 'source'")
        extra = set(entry) - {"name", "source", "schedule", "cookies", "on_gate"}
        if extra:
            raise ConfigError(f"{where}: markets[{position}] unknown key(s): {', '.join(sorted(extra))}")
        if entry.get("on_gate") not in (None, *GATE_POLICIES):
            raise ConfigError(f"{where}: markets[{position}].on_gate must be 'stop' or 'skip'")
        base = source_file.parent if source_file else Path.cwd()
        entry = {**entry, "source": normalise_source(entry["source"], base, f"{where}: markets[{position}]")}
        if entry.get("cookies") and "=" not in entry["cookies"]:
            entry["cookies"] = str((base / entry["cookies"]).resolve())
        markets.append(MarketSource(**entry))
    names = [m.name for m in markets]
    if len(names) != len(set(names)):
        raise ConfigError(f"{where}: market names must be unique")
    index_raw = raw.get("index", {})
    backend = index_raw.get("backend", "embedded")
    if backend not in INDEX_BACKENDS:
        raise ConfigError(f"{where}: index.backend must be one of {', '.join(INDEX_BACKENDS)}, not {backend!r}")
    try:
        index = IndexConfig(**index_raw)
    except TypeError as exc:
        raise ConfigError(f"{where}: [index]: {exc}") from None
    if backend != "embedded" and not (index.url or os.environ.get("ONIONWATCH_ES_URL")):
        raise ConfigError(f"{where}: index.backend = {backend!r} needs [index] url (or ONIONWATCH_ES_URL)")
    if backend == "opensearch" and (index.api_key or os.environ.get("ONIONWATCH_ES_API_KEY")):
        raise ConfigError(f"{where}: OpenSearch has no API keys: give [index] username and password instead")
    sections = {}
    for key, kind in (("limits", CrawlLimits), ("alerts", AlertConfig), ("scheduler", SchedulerConfig)):
        values = dict(raw.get(key, {}))
        if "smtp_to" in values:
            values["smtp_to"] = tuple([values["smtp_to"]] if isinstance(values["smtp_to"], str) else values["smtp_to"])
        try:
            sections[key] = kind(**values)
        except TypeError as exc:
            raise ConfigError(f"{where}: [{key}]: {exc}") from None
    proxies = raw.get("proxy", {}).get("http") or ()
    proxies = (proxies,) if isinstance(proxies, str) else tuple(proxies)
    data_dir = Path(raw["data_dir"]) if "data_dir" in raw else DEFAULT_DATA_DIR
    if source_file is not None and not data_dir.is_absolute():
        data_dir = source_file.parent / data_dir
    return Config(
        data_dir=data_dir,
        markets=tuple(markets) or sample_markets(),
        index=index,
        http_proxies=proxies,
        limits=sections["limits"],
        alerts=sections["alerts"],
        scheduler=sections["scheduler"],
        source_file=source_file,
    )
