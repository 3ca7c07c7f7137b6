"""One frozen Settings object, read from a YAML file and NEURALTALK_<SECTION>_<KEY> variables.

Where the file comes from: `--config PATH`, else NEURALTALK_CONFIG, else ./neuraltalk.yaml if
present, else the built-in defaults below. Every key can be overridden by an environment
variable, e.g. NEURALTALK_WECHAT_TOKEN or NEURALTALK_SERVER_PORT.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from bot.errors import UserError

ENV_PREFIX = "NEURALTALK_"
DEFAULT_FILE = Path("neuraltalk.yaml")


class ConfigError(UserError):
    """The configuration cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class WechatSettings:
    token: str = "neuraltalk"
    appid: str = ""
    secret: str = ""
    encoding_aes_key: str = ""
    api_base_url: str = "https://api.weixin.qq.com"
    account_type: str = "subscription"  # "subscription" or "service"
    timestamp_window: int = 300  # seconds; 0 turns the check off
    mode: str = ""  # plain, compatible or safe; empty: safe with encoding_aes_key, else plain


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
    source: str = "built-in defaults"

    def replace(self, **sections: Any) -> Settings:
        """A copy with some keys changed: replace(wechat={"token": "x"})."""
        changed = {
            name: dataclasses.replace(getattr(self, name), **values)
            for name, values in sections.items()
        }
        return dataclasses.replace(self, **changed)


_SECTION_CLASSES = {
    "wechat": WechatSettings,
    "archive": ArchiveSettings,
    "storage": StorageSettings,
    "server": ServerSettings,
    "broadcast": BroadcastSettings,
}


def _coerce(section: str, key: str, value: Any, target: type) -> Any:
    try:
        if target is int:
            return int(value)
        if target is float:
            return float(value)
        return "" if value is None else str(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"configuration key {section}.{key} must be a number ({target.__name__}), got {value!r}"
        ) from None


def _section(name: str, raw: Mapping[str, Any], env: Mapping[str, str]) -> Any:
    cls = _SECTION_CLASSES[name]
    known = {f.name: f for f in fields(cls)}
    unknown = set(raw) - set(known)
    if unknown:
        raise ConfigError(
            f"unknown configuration key {name}.{sorted(unknown)[0]}; known keys: "
            + ", ".join(f"{name}.{k}" for k in known)
        )
    values: dict[str, Any] = {}
    for key, f in known.items():
        target = type(f.default)
        if key in raw:
            values[key] = _coerce(name, key, raw[key], target)
        env_value = env.get(f"{ENV_PREFIX}{name.upper()}_{key.upper()}")
        if env_value is not None:
            values[key] = _coerce(name, key, env_value, target)
    return cls(**values)


def _validate(settings: Settings) -> None:
    if settings.wechat.account_type not in ("subscription", "service"):
        raise ConfigError(
            "wechat.account_type must be 'subscription' or 'service', "
            f"got {settings.wechat.account_type!r}"
        )
    key = settings.wechat.encoding_aes_key
    if key and len(key) != 43:
        raise ConfigError("wechat.encoding_aes_key must be the 43 characters WeChat shows")
    if key and not settings.wechat.appid:
        raise ConfigError("set wechat.appid: safe mode (wechat.encoding_aes_key) checks it")
    mode = settings.wechat.mode
    if mode not in ("", "plain", "compatible", "safe"):
        raise ConfigError(f"wechat.mode must be plain, compatible or safe, got {mode!r}")
    if mode in ("compatible", "safe") and not key:
        raise ConfigError(f"wechat.mode {mode} needs wechat.encoding_aes_key (43 characters)")
    if not 0 < settings.server.port < 65536:
        raise ConfigError(f"server.port must be between 1 and 65535, got {settings.server.port}")
    if settings.broadcast.concurrency < 1:
        raise ConfigError("broadcast.concurrency must be at least 1")


def load_settings(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read the settings; raise ConfigError with a one-line reason when they are unusable."""
    env = os.environ if env is None else env
    if path is None and env.get(f"{ENV_PREFIX}CONFIG"):
        path = env[f"{ENV_PREFIX}CONFIG"]
    if path is None and DEFAULT_FILE.is_file():
        path = DEFAULT_FILE
    raw: dict[str, Any] = {}
    source = "built-in defaults"
    if path is not None:
        p = Path(path)
        try:
            loaded = yaml.safe_load(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"configuration file {p} does not exist") from None
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            reason = str(exc).splitlines()[0]
            raise ConfigError(f"cannot read configuration file {p}: {reason}") from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"configuration file {p} must hold a mapping of sections")
        raw = loaded
        source = str(p)
    unknown = set(raw) - set(_SECTION_CLASSES)
    if unknown:
        raise ConfigError(
            f"unknown configuration section {sorted(unknown)[0]!r} in {source}; "
            f"known sections: {', '.join(_SECTION_CLASSES)}"
        )
    sections = {}
    for name in _SECTION_CLASSES:
        section_raw = raw.get(name) or {}
        if not isinstance(section_raw, dict):
            raise ConfigError(f"configuration section {name} must be a mapping of keys")
        sections[name] = _section(name, section_raw, env)
    settings = Settings(**sections, source=source)
    _validate(settings)
    return settings


EXAMPLE = """\
# NeuralTalk configuration. Every key can also be set by an environment variable
# NEURALTALK_<SECTION>_<KEY>, e.g. NEURALTALK_WECHAT_TOKEN; the variable wins.

wechat:
  # The Token you entered in the WeChat admin console (服务器配置).
  token: neuraltalk
  # AppID and AppSecret of the official account (for the API: broadcast).
  appid: ""
  secret: ""
  # EncodingAESKey (43 characters) for safe mode; empty: plain mode only.
  encoding_aes_key: ""
  # Where the WeChat API lives; point it at `neuraltalk mock-wechat` to rehearse.
  api_base_url: https://api.weixin.qq.com
  # subscription (订阅号: one mass send a day, to a tag) or service (服务号: openid lists).
  account_type: subscription
  # Reject requests whose timestamp is further than this from now, in seconds; 0 = off.
  timestamp_window: 300
  # plain, compatible or safe (安全模式: plaintext requests refused); empty: safe when
  # encoding_aes_key is set, else plain.
  mode: ""

archive:
  # Markdown issues of the newsletter, one file per issue, named by date.
  issues_dir: issues
  # Where the search index is kept.
  index_dir: data/index
  # Extra synonyms (YAML: a list of word groups); empty: the built-in table only.
  synonyms: ""
  # The link to a whole issue in broadcasts; {date} is the issue's date.
  issue_url: https://github.com/ysh329/awesome-embedded-ai/blob/master/embedded-ai-report/{date}.md

storage:
  # sqlite:///path/to/file.db (default) or postgresql://user@host:5432/dbname
  url: sqlite:///data/neuraltalk.db

server:
  host: 127.0.0.1
  port: 8080

broadcast:
  # Messages per second (0: no limit) and sends in flight at once.
  rate: 0
  concurrency: 20
"""
