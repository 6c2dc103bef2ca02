from __future__ import annotations

import pytest

from onionwatch.config import ConfigError, load_config


def test_defaults_need_no_file(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ONIONWATCH_CONFIG", raising=False)
    monkeypatch.delenv("ONIONWATCH_DATA", raising=False)
    config = load_config()
    assert {m.name for m in config.markets} >= {"northwind", "tortuga", "tayga"}
    assert config.index.backend == "embedded" and config.data_dir.is_absolute()


def test_file_markets_replace_the_samples(tmp_path):
    path = tmp_path / "ow.toml"
    path.write_text('data_dir = "d"\n[proxy]\nhttp = "http://127.0.0.1:8118"\n'
                    '[[markets]]\nname = "m"\nsource = "http://x.onion/"\nschedule = "interval:6h"\n')
    config = load_config(path)
    assert [m.name for m in config.markets] == ["m"]
    assert config.http_proxies == ("http://127.0.0.1:8118",)
    assert config.data_dir == (tmp_path / "d").resolve()


@pytest.mark.parametrize("text, message", [
    ("colour = 1", "unknown key"),
    ("[[markets]]\nname = 'a'", "needs 'name' and 'source'"),
    ("[index]\nbackend = 'solr'", "index.backend"),
    ("data_dir = ", "not valid TOML"),
])
def test_bad_files_say_what_is_wrong(tmp_path, text, message):
    path = tmp_path / "ow.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)
