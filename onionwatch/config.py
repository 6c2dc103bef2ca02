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
import re
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SAMPLES_DIR = PROJECT_ROOT / "samples"
DEFAULT_DATA_DIR = Path("onionwatch-data")
INDEX_BACKENDS = ("embedded", "elasticsearch", "opensearch")


class ConfigError(ValueError):
    """The configuration file is unusable; the message says which key and why."""


GATE_POLICIES = ("stop", "skip")
# A market name becomes a folder name under the capture store: a safe slug, never a path.
MARKET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def check_market_name(name: object, where: str = "market") -> str:
    """``name`` if it is a safe slug (letters, digits, ``_ . -``; no slash, no leading dot), else ConfigError."""
    if not isinstance(name, str) or not MARKET_NAME.fullmatch(name):
        raise ConfigError(f"{where}: market name {name!r} must be letters, digits, '_', '.' or '-' "
                          "(at most 64, not starting with '.'), since it names a folder")
    return name


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
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{chosen}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
        except (IsADirectoryError, PermissionError) as exc:
            raise ConfigError(f"{chosen}: cannot read the configuration file ({exc.strerror})") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{chosen}: not valid TOML: {exc}") from None
    config = _from_dict(raw, Path(chosen) if chosen else None)
    env_data = os.environ.get("ONIONWATCH_DATA")
    # Absolute, so capture paths recorded in the index stay valid from any folder.
    return replace(config, data_dir=Path(env_data or config.data_dir).resolve())


def _section(raw: dict, key: str, where: str) -> dict:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: [{key}] must be a table (a [{key}] section), not {type(value).__name__}")
    return value


def _typed(kind, values: dict, section: str, where: str):
    """A section's dataclass from its values: unknown keys and wrongly typed values are one-line errors."""
    known = {f.name: f for f in fields(kind)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(f"{where}: unknown key {section}.{unknown[0]} (known: {', '.join(known)})")
    checked = {}
    for key, value in values.items():
        default = known[key].default
        label = f"{where}: {section}.{key}"
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise ConfigError(f"{label} must be true or false, not {value!r}")
        elif isinstance(default, (int, float)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"{label} must be a number, not {value!r}")
            if isinstance(default, int) and not isinstance(value, int):
                raise ConfigError(f"{label} must be a whole number, not {value!r}")
            if value < 0 or (value == 0 and not key.startswith("retry")):
                raise ConfigError(f"{label} must be more than 0, not {value!r}")
        elif isinstance(default, tuple):
            if isinstance(value, str):
                value = (value,)
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{label} must be a string or a list of strings, not {value!r}")
            value = tuple(value)
        elif "list[str]" in str(known[key].type) and isinstance(value, list):
            if not value or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{label} must be a string or a list of strings, not {value!r}")
        elif value is not None and not isinstance(value, str):
            raise ConfigError(f"{label} must be a string, not {value!r}")
        checked[key] = value
    return kind(**checked)


_PROXY_URL = re.compile(r"https?://[^\s/:@]+(?::\d{1,5})?/?")


def _proxies(raw: dict, where: str) -> tuple[str, ...]:
    section = _section(raw, "proxy", where)
    unknown = sorted(set(section) - {"http"})
    if unknown:
        raise ConfigError(f"{where}: unknown key proxy.{unknown[0]} (known: http); "
                          "a misspelt proxy would send the crawl direct")
    proxies = section.get("http") or ()
    proxies = (proxies,) if isinstance(proxies, str) else proxies
    if not isinstance(proxies, (list, tuple)):
        raise ConfigError(f"{where}: proxy.http must be a URL or a list of URLs, not {proxies!r}")
    for proxy in proxies:
        if not isinstance(proxy, str) or not _PROXY_URL.fullmatch(proxy.strip()):
            raise ConfigError(f"{where}: proxy.http {proxy!r} is not a proxy URL like http://127.0.0.1:8118")
    return tuple(p.strip() for p in proxies)


def _from_dict(raw: dict, source_file: Path | None) -> Config:
    where = str(source_file) if source_file else "configuration"
    unknown = set(raw) - {"data_dir", "markets", "index", "proxy", "limits", "alerts", "scheduler"}
    if unknown:
        raise ConfigError(f"{where}: unknown key(s): {', '.join(sorted(unknown))}")
    markets = []
    if not isinstance(raw.get("markets", []), list):
        raise ConfigError(f"{where}: markets must be a list of [[markets]] tables")
    for position, entry in enumerate(raw.get("markets", [])):
        if not isinstance(entry, dict) or "name" not in entry or "source" not in entry:
            raise ConfigError(f"{where}: markets[{position}] needs 'name' and 'source'")
        extra = set(entry) - {"name", "source", "schedule", "cookies", "on_gate"}
        if extra:
            raise ConfigError(f"{where}: markets[{position}] unknown key(s): {', '.join(sorted(extra))}")
        check_market_name(entry["name"], f"{where}: markets[{position}]")
        for key in ("source", "schedule", "cookies", "on_gate"):
            if entry.get(key) is not None and not isinstance(entry[key], str):
                raise ConfigError(f"{where}: markets[{position}].{key} must be a string, not {entry[key]!r}")
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
    index_raw = _section(raw, "index", where)
    backend = index_raw.get("backend", "embedded")
    if backend not in INDEX_BACKENDS:
        raise ConfigError(f"{where}: index.backend must be one of {', '.join(INDEX_BACKENDS)}, not {backend!r}")
    index = _typed(IndexConfig, index_raw, "index", where)
    if backend != "embedded" and not (index.url or os.environ.get("ONIONWATCH_ES_URL")):
        raise ConfigError(f"{where}: index.backend = {backend!r} needs [index] url (or ONIONWATCH_ES_URL)")
    if backend == "opensearch" and (index.api_key or os.environ.get("ONIONWATCH_ES_API_KEY")):
        raise ConfigError(f"{where}: OpenSearch has no API keys: give [index] username and password instead")
    sections = {}
    for key, kind in (("limits", CrawlLimits), ("alerts", AlertConfig), ("scheduler", SchedulerConfig)):
        sections[key] = _typed(kind, _section(raw, key, where), key, where)
    proxies = _proxies(raw, where)
    if "data_dir" in raw and (not isinstance(raw["data_dir"], str) or not raw["data_dir"].strip()):
        raise ConfigError(f"{where}: data_dir must be a folder path in quotes, not {raw['data_dir']!r}")
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
