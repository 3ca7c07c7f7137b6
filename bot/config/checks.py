"""Checks of a loaded Settings: values that cannot work are a ConfigError in one line, saying
which key to set and how (passwords in URLs are never shown)."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from urllib.parse import urlsplit

from bot.config.settings import (
    DEFAULT_TOKEN,
    POSTGRES_SCHEMES,
    SQLITE_SCHEMES,
    ConfigError,
    Settings,
    StorageSettings,
)

_PASSWORD = re.compile(r"(://[^:/@]*:)[^@/]*@")


def validate(settings: Settings) -> None:
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
