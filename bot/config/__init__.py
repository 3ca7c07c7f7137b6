"""The configuration: one frozen Settings from a YAML file and NEURALTALK_<SECTION>_<KEY>
variables (load.py), its sections (settings.py) and its checks (checks.py). It fails loudly,
in one line, before anything starts."""

from pathlib import Path

from bot.config.checks import check_public_token, check_workers
from bot.config.load import load_settings
from bot.config.settings import (
    DEFAULT_TOKEN,
    ArchiveSettings,
    BroadcastSettings,
    ConfigError,
    RedisSettings,
    ServerSettings,
    Settings,
    StorageSettings,
    WechatSettings,
)


def example_text() -> str:
    """The commented example configuration that `neuraltalk init` writes."""
    return Path(__file__).with_name("example.yaml").read_text(encoding="utf-8")


__all__ = [
    "DEFAULT_TOKEN",
    "ArchiveSettings",
    "BroadcastSettings",
    "ConfigError",
    "RedisSettings",
    "ServerSettings",
    "Settings",
    "StorageSettings",
    "WechatSettings",
    "check_public_token",
    "check_workers",
    "example_text",
    "load_settings",
]
