"""Settings: file, NEURALTALK_CONFIG, ./neuraltalk.yaml, defaults, environment overrides, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli.main import cli
from bot.config import ConfigError, load_settings


def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(env={})
    assert settings.source == "built-in defaults"
    assert settings.wechat.api_base_url == "https://api.weixin.qq.com"
    assert settings.wechat.timestamp_window == 300
    assert settings.storage.url == "sqlite:///data/neuraltalk.db"
    assert (settings.server.host, settings.server.port) == ("127.0.0.1", 8080)


def test_file_then_environment_wins(tmp_path: Path) -> None:
    path = tmp_path / "conf.yaml"
    path.write_text("wechat:\n  token: from-file\nserver:\n  port: 9000\n", encoding="utf-8")
    env = {"NEURALTALK_WECHAT_TOKEN": "from-env", "NEURALTALK_WECHAT_TIMESTAMP_WINDOW": "0"}
    settings = load_settings(path, env=env)
    assert settings.wechat.token == "from-env"
    assert settings.wechat.timestamp_window == 0
    assert settings.server.port == 9000


def test_neuraltalk_config_variable_then_local_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("neuraltalk.yaml").write_text("server:\n  port: 7001\n", encoding="utf-8")
    other = tmp_path / "other.yaml"
    other.write_text("server:\n  port: 7002\n", encoding="utf-8")
    assert load_settings(env={}).server.port == 7001
    assert load_settings(env={"NEURALTALK_CONFIG": str(other)}).server.port == 7002


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ("wechat:\n  tokn: x\n", {}, "unknown configuration key wechat.tokn"),
        ("webhook:\n  port: 1\n", {}, "unknown configuration section 'webhook'"),
        ("server: [1, 2]\n", {}, "section server must be a mapping"),
        ("{}", {"NEURALTALK_SERVER_PORT": "eighty"}, "server.port must be a number"),
        ("wechat:\n  account_type: personal\n", {}, "wechat.account_type must be"),
        ("wechat:\n  encoding_aes_key: short\n", {}, "43 characters"),
        (": : :\n", {}, "cannot read configuration file"),
    ],
)
def test_bad_configuration_is_one_line(
    tmp_path: Path, text: str, env: dict[str, str], message: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env=env)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.yaml", env={})


def test_init_writes_an_example_that_loads(tmp_path: Path) -> None:
    target = tmp_path / "neuraltalk.yaml"
    runner = CliRunner()
    result = runner.invoke(cli, ["init", str(target)])
    assert result.exit_code == 0, result.output
    settings = load_settings(target, env={})
    assert settings.wechat.account_type == "subscription"
    assert settings.archive.issues_dir == "issues"
    again = runner.invoke(cli, ["init", str(target)])
    assert again.exit_code != 0
    assert "already exists" in again.output
