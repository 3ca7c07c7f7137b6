"""Settings: file, NEURALTALK_CONFIG, ./neuraltalk.yaml, defaults, environment overrides, errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli.main import cli
from bot.config import ConfigError, check_workers, load_settings


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
        (": : :\n", {}, "bad.yaml:1:1: YAML syntax error"),
        ("wechat:\n  token: [x\nserver:\n  port: 1\n", {}, "bad.yaml:3:7: YAML syntax error"),
        ("{}", {"NEURALTALK_WECHAT_TOKN": "x"}, "NEURALTALK_WECHAT_TOKN; did you mean "),
        ("{}", {"NEURALTALK_STORAGE_URL": "postgresql://u:pw@h:port/db"}, "port must be a number"),
        ("{}", {"NEURALTALK_STORAGE_URL": "mysql://h/db"}, "storage.url must be sqlite:///"),
        ("{}", {"NEURALTALK_STORAGE_URL": "sqlite:///nowhere/x.db"}, "nowhere does not exist"),
        ("server:\n  public_url: bot.example.com\n", {}, "server.public_url must be http(s)://"),
        ("{}", {"NEURALTALK_SERVER_PUBLIC_URL": "ftp://h"}, "server.public_url must be http(s)"),
        ("{}", {"NEURALTALK_SERVER_PUBLIC_URL": "https://h/?a=1"}, "server.public_url must be"),
        ("{}", {"NEURALTALK_SERVER_PUBLIC_URL": "https://h:x/"}, "server.public_url must be"),
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


GITHUB_ISSUE = (
    "https://github.com/ysh329/awesome-embedded-ai/blob/master/embedded-ai-report/{date}.md"
)


def test_public_url_makes_our_own_page_the_default_issue_link(tmp_path: Path) -> None:
    assert load_settings(env={}).archive.issue_url == GITHUB_ISSUE  # unset: as before
    env = {"NEURALTALK_SERVER_PUBLIC_URL": "https://bot.example.com/"}
    settings = load_settings(env=env)
    assert settings.server.public_url == "https://bot.example.com"
    assert settings.archive.issue_url == "https://bot.example.com/issues/{date}"
    chosen = {**env, "NEURALTALK_ARCHIVE_ISSUE_URL": "https://example.org/{date}.md"}
    assert load_settings(env=chosen).archive.issue_url == "https://example.org/{date}.md"
    path = tmp_path / "conf.yaml"
    path.write_text("archive:\n  issue_url: https://example.org/{date}\n", encoding="utf-8")
    assert load_settings(path, env=env).archive.issue_url == "https://example.org/{date}"
    target = tmp_path / "init.yaml"  # the example `init` writes leaves issue_url to the default
    assert CliRunner().invoke(cli, ["init", str(target)]).exit_code == 0
    assert load_settings(target, env={}).archive.issue_url == GITHUB_ISSUE
    assert load_settings(target, env=env).archive.issue_url.startswith("https://bot.example.com/")


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
    assert settings.archive.issues_dir == str(tmp_path / "issues")  # relative to the file
    again = runner.invoke(cli, ["init", str(target)])
    assert again.exit_code != 0
    assert "already exists" in again.output


def test_an_unknown_variable_names_the_nearest_known_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as caught:
        load_settings(env={"NEURALTALK_SERVER_PROT": "80"})
    assert str(caught.value) == (
        "unknown environment variable NEURALTALK_SERVER_PROT; did you mean NEURALTALK_SERVER_PORT?"
    )
    other_uses = {"NEURALTALK_CONFIG": "", "NEURALTALK_TEST_PG_URL": "postgresql://x/y"}
    assert load_settings(env=other_uses).source == "built-in defaults"


def test_a_password_in_a_bad_url_is_not_shown() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env={"NEURALTALK_STORAGE_URL": "postgresql://u:secret@h:port/db"})
    assert "secret" not in str(caught.value) and "u:***@h" in str(caught.value)


def test_relative_paths_in_a_file_are_relative_to_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "conf"
    (folder / "db").mkdir(parents=True)
    path = folder / "neuraltalk.yaml"
    path.write_text(
        "archive:\n  issues_dir: issues\n  index_dir: idx\n  synonyms: syn.yaml\n"
        "storage:\n  url: sqlite:///db/nt.db\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    settings = load_settings("conf/neuraltalk.yaml", env={})
    assert settings.archive.issues_dir == str(Path("conf") / "issues")
    assert settings.archive.index_dir == str(Path("conf") / "idx")
    assert settings.archive.synonyms == str(Path("conf") / "syn.yaml")
    assert settings.storage.url == "sqlite:///conf/db/nt.db"
    absolute = load_settings(path, env={"NEURALTALK_ARCHIVE_INDEX_DIR": "here"})
    assert absolute.archive.issues_dir == str(folder / "issues")
    assert absolute.archive.index_dir == "here"  # a variable is relative to the current folder


def test_an_sqlite_file_needs_its_folder_but_the_default_data_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"the folder .*missing does not exist"):
        load_settings(env={"NEURALTALK_STORAGE_URL": f"sqlite:///{tmp_path}/missing/nt.db"})
    assert load_settings(env={}).storage.url == "sqlite:///data/neuraltalk.db"  # created on open


def test_init_creates_the_data_folder_its_example_names(tmp_path: Path) -> None:
    target = tmp_path / "neuraltalk.yaml"
    assert CliRunner().invoke(cli, ["init", str(target)]).exit_code == 0
    assert (tmp_path / "data").is_dir()
    settings = load_settings(target, env={})
    assert settings.storage.url == f"sqlite:///{tmp_path}/data/neuraltalk.db"


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "example.org", "::"])
def test_serve_beyond_loopback_needs_a_token_of_its_own(tmp_path: Path, host: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEURALTALK_")}
    command = [sys.executable, "-m", "bot.cli", "serve", "--host", host, "--port", "65000"]
    # a server that starts anyway never returns: the timeout ends it and fails the test
    done = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=20
    )
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith(f"error: server.host {host} is reachable by others")
    assert "set wechat.token (or NEURALTALK_WECHAT_TOKEN)" in done.stderr
    assert done.stderr.count("\n") == 1


def test_redis_and_workers_keys(tmp_path: Path) -> None:
    config = tmp_path / "neuraltalk.yaml"
    config.write_text("server:\n  workers: 3\nredis:\n  url: redis://127.0.0.1:6379/2\n")
    settings = load_settings(config, env={"NEURALTALK_REDIS_PREFIX": "bot2:"})
    assert settings.server.workers == 3 and settings.server.metrics_token == ""
    assert settings.redis.url == "redis://127.0.0.1:6379/2" and settings.redis.prefix == "bot2:"
    assert load_settings(None, env={}).redis.url == ""  # no Redis unless asked for
    check_workers(settings)
    with pytest.raises(ConfigError, match=r"server\.workers 3 needs redis\.url"):
        check_workers(settings.replace(redis={"url": ""}))
    bad = {"NEURALTALK_REDIS_URL": "http://u:secret@host/"}
    with pytest.raises(ConfigError, match=r"redis\.url must be") as refused:
        load_settings(None, env=bad)
    assert "secret" not in str(refused.value)
    with pytest.raises(ConfigError, match=r"server\.workers must be between 1 and 64"):
        load_settings(None, env={"NEURALTALK_SERVER_WORKERS": "0"})
