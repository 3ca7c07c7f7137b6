"""The configuration's shape: one frozen Settings of sections (wechat, archive, storage, server,
broadcast, redis), each a frozen dataclass whose defaults are the built-in ones."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.errors import UserError

ENV_PREFIX = "NEURALTALK_"
DEFAULT_FILE = Path("neuraltalk.yaml")
OTHER_VARIABLES = ("NEURALTALK_CONFIG",)  # and NEURALTALK_TEST_*, the test suite's
DEFAULT_TOKEN = "neuraltalk"
PATH_KEYS = (
    ("archive", "issues_dir"),
    ("archive", "index_dir"),
    ("archive", "synonyms"),
    ("wechat", "menu_file"),
)
SQLITE_SCHEMES = ("sqlite", "sqlite+aiosqlite")
POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+asyncpg")


class ConfigError(UserError):
    """The configuration cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class WechatSettings:
    token: str = DEFAULT_TOKEN
    appid: str = ""
    secret: str = ""
    encoding_aes_key: str = ""
    api_base_url: str = "https://api.weixin.qq.com"
    account_type: str = "subscription"  # "subscription" or "service"
    timestamp_window: int = 300  # seconds; 0 turns the check off
    mode: str = ""  # plain, compatible or safe; empty: safe with encoding_aes_key, else plain
    menu_file: str = "menu.yaml"  # the account's custom menu, for `neuraltalk menu push`


@dataclass(frozen=True)
class ArchiveSettings:
    issues_dir: str = "issues"
    index_dir: str = "data/index"
    synonyms: str = ""  # a YAML file of extra synonyms; empty: the built-in table only
    issue_url: str = (
        "https://github.com/ysh329/awesome-embedded-ai/blob/master/embedded-ai-report/{date}.md"
    )


@dataclass(frozen=True)
class StorageSettings:
    url: str = "sqlite:///data/neuraltalk.db"


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = ""  # e.g. https://bot.example.com: absolute links; the default issue link
    workers: int = 1  # processes serving the port; more than 1 needs redis.url
    metrics_token: str = ""  # empty: /metrics answers loopback only; else a Bearer token


@dataclass(frozen=True)
class RedisSettings:
    url: str = ""  # redis://host:6379/0; empty: state in this process's memory
    prefix: str = "neuraltalk:"  # of every key, so that one Redis can serve several bots


@dataclass(frozen=True)
class BroadcastSettings:
    rate: float = 0.0  # messages per second; 0 means no limit
    concurrency: int = 20


@dataclass(frozen=True)
class Settings:
    wechat: WechatSettings = field(default_factory=WechatSettings)
    archive: ArchiveSettings = field(default_factory=ArchiveSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    broadcast: BroadcastSettings = field(default_factory=BroadcastSettings)
    redis: RedisSettings = field(default_factory=RedisSettings)
    source: str = "built-in defaults"

    def replace(self, **sections: Any) -> Settings:
        """A copy with some keys changed: replace(wechat={"token": "x"})."""
        changed = {
            name: dataclasses.replace(getattr(self, name), **values)
            for name, values in sections.items()
        }
        return dataclasses.replace(self, **changed)


SECTION_CLASSES = {
    "wechat": WechatSettings,
    "archive": ArchiveSettings,
    "storage": StorageSettings,
    "server": ServerSettings,
    "broadcast": BroadcastSettings,
    "redis": RedisSettings,
}
