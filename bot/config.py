"""One frozen Settings object, read from a YAML file and NEURALTALK_<SECTION>_<KEY> variables.

Where the file comes from: `--config PATH`, else NEURALTALK_CONFIG, else ./neuraltalk.yaml if
present, else the built-in defaults below. Every key can be overridden by an environment
variable, e.g. NEURALTALK_WECHAT_TOKEN or NEURALTALK_SERVER_PORT.

It fails loudly, in one line: an unknown key or NEURALTALK_* variable (naming the nearest known
one), a YAML syntax error (file:line:column), a malformed storage.url, an SQLite file in a folder
that does not exist. Relative paths written in a file are relative to that file's folder.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

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
_PASSWORD = re.compile(r"(://[^:/@]*:)[^@/]*@")


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


_SECTION_CLASSES = {
    "wechat": WechatSettings,
    "archive": ArchiveSettings,
    "storage": StorageSettings,
    "server": ServerSettings,
    "broadcast": BroadcastSettings,
    "redis": RedisSettings,
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
    if not 1 <= settings.server.workers <= 64:
        raise ConfigError(f"server.workers must be between 1 and 64, got {settings.server.workers}")
    _check_storage_url(settings.storage.url)
    _check_public_url(settings.server.public_url)
    _check_redis_url(settings.redis.url)


def _check_redis_url(url: str) -> None:
    if url and urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        shown = _PASSWORD.sub(r"\1***@", url)
        raise ConfigError(
            "redis.url must be redis://host:6379/0 (rediss:// with TLS, unix:///path), "
            f"got {shown!r}"
        )


def _check_public_url(url: str) -> None:
    """server.public_url is where readers reach this server: http(s)://host[:port][/path]."""
    if not url:
        return
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
    except ValueError:
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(
            f"server.public_url must be http(s)://host[:port][/path], like "
            f"https://bot.example.com, got {url!r}"
        )


def _public_issue_url(
    settings: Settings, raw: Mapping[str, Any], env: Mapping[str, str]
) -> Settings:
    """server.public_url without its trailing slash; with it set and archive.issue_url not set
    (in the file or the environment), issues link to our own pages: {public_url}/issues/{date}."""
    public = settings.server.public_url.rstrip("/")
    if not public:
        return settings
    archive_raw = raw.get("archive") or {}
    chosen = "issue_url" in archive_raw or f"{ENV_PREFIX}ARCHIVE_ISSUE_URL" in env
    archive = {} if chosen else {"issue_url": public + "/issues/{date}"}
    return settings.replace(server={"public_url": public}, archive=archive)


def _check_storage_url(url: str) -> None:
    """One line for a storage.url that cannot work; the SQLite file's folder must exist (only
    the default data/ is created by the store)."""
    scheme, sep, rest = url.partition("://")
    shown = _PASSWORD.sub(r"\1***@", url)
    if not sep or scheme not in SQLITE_SCHEMES + POSTGRES_SCHEMES:
        raise ConfigError(
            "storage.url must be sqlite:///path/to/file.db or postgresql://user@host:5432/db, "
            f"got {shown!r}"
        )
    if scheme in POSTGRES_SCHEMES:
        try:
            port = urlsplit(url).port
        except ValueError:
            port = -1
        if port == -1:
            raise ConfigError(f"storage.url {shown!r}: the port must be a number up to 65535")
        return
    database = rest[1:].partition("?")[0] if rest.startswith("/") else ""
    if not database or database == ":memory:":
        raise ConfigError(f"storage.url {shown!r} needs a file: sqlite:///data/neuraltalk.db")
    folder = Path(database).parent
    if url != StorageSettings.url and not folder.is_dir():
        raise ConfigError(
            f"storage.url {shown!r}: the folder {folder} does not exist; "
            "create it, or point storage.url at an existing folder"
        )


def _check_environment(env: Mapping[str, str]) -> None:
    """An unknown NEURALTALK_* variable is an error naming the nearest known one."""
    known = [f"{ENV_PREFIX}{s.upper()}_{f.name.upper()}" for s, c in _SECTION_CLASSES.items()
             for f in fields(c)] + list(OTHER_VARIABLES)  # fmt: skip
    for name in sorted(env):
        if not name.startswith(ENV_PREFIX) or name in known:
            continue
        if name.startswith(f"{ENV_PREFIX}TEST_"):
            continue
        nearest = difflib.get_close_matches(name, known, n=1, cutoff=0.0)[0]
        raise ConfigError(f"unknown environment variable {name}; did you mean {nearest}?")


def _relative_to(folder: Path, raw: dict[str, Any]) -> None:
    """Paths written in a configuration file are relative to the file's folder."""
    for section, key in PATH_KEYS:
        values = raw.get(section)
        if not isinstance(values, dict):
            continue
        value = values.get(key)
        if isinstance(value, str) and value and not Path(value).is_absolute():
            values[key] = str(folder / value)
    storage = raw.get("storage")
    url = storage.get("url") if isinstance(storage, dict) else None
    if isinstance(url, str) and isinstance(storage, dict):
        scheme, sep, rest = url.partition(":///")
        if sep and scheme in SQLITE_SCHEMES and rest and not rest.startswith(("/", ":memory:")):
            storage["url"] = f"{scheme}:///{folder / rest}"


def check_public_token(settings: Settings) -> None:
    """ConfigError when the server would listen beyond loopback with the example's token."""
    host = settings.server.host
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and settings.wechat.token == DEFAULT_TOKEN:
        raise ConfigError(
            f"server.host {host} is reachable by others, and wechat.token is still the default "
            f"{DEFAULT_TOKEN!r}: set wechat.token (or NEURALTALK_WECHAT_TOKEN) to the Token of "
            "the WeChat admin console"
        )


def check_workers(settings: Settings) -> None:
    """ConfigError when several workers would each keep their own memory (no redis.url)."""
    if settings.server.workers > 1 and not settings.redis.url:
        raise ConfigError(
            f"server.workers {settings.server.workers} needs redis.url (NEURALTALK_REDIS_URL): "
            "without it each worker keeps its own retries, pages and replay memory, so "
            "WeChat's retries and 更多 would go wrong; set redis.url or use 1 worker"
        )


def load_settings(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read the settings; raise ConfigError with a one-line reason when they are unusable."""
    env = os.environ if env is None else env
    _check_environment(env)
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
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            where = f"{p}:{mark.line + 1}:{mark.column + 1}" if mark else str(p)
            raise ConfigError(f"{where}: YAML syntax error: {exc.problem or exc}") from None
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            reason = str(exc).splitlines()[0]
            raise ConfigError(f"cannot read configuration file {p}: {reason}") from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"configuration file {p} must hold a mapping of sections")
        raw = loaded
        source = str(p)
        _relative_to(p.parent, raw)
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
    return _public_issue_url(settings, raw, env)


EXAMPLE = Path(__file__).with_name("example.yaml").read_text(encoding="utf-8")
