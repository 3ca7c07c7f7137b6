"""Loading the settings: the YAML file, then NEURALTALK_<SECTION>_<KEY> variables over it.

Where the file comes from: `--config PATH`, else NEURALTALK_CONFIG, else ./neuraltalk.yaml if
present, else the built-in defaults. An unknown key or NEURALTALK_* variable names the nearest
known one; a YAML syntax error names file:line:column; relative paths written in a file are
relative to that file's folder.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

import yaml

from bot.config.checks import validate
from bot.config.settings import (
    DEFAULT_FILE,
    ENV_PREFIX,
    OTHER_VARIABLES,
    PATH_KEYS,
    SECTION_CLASSES,
    SQLITE_SCHEMES,
    ConfigError,
    Settings,
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
    unknown = set(raw) - set(SECTION_CLASSES)
    if unknown:
        raise ConfigError(
            f"unknown configuration section {sorted(unknown)[0]!r} in {source}; "
            f"known sections: {', '.join(SECTION_CLASSES)}"
        )
    sections = {}
    for name in SECTION_CLASSES:
        section_raw = raw.get(name) or {}
        if not isinstance(section_raw, dict):
            raise ConfigError(f"configuration section {name} must be a mapping of keys")
        sections[name] = _section(name, section_raw, env)
    settings = Settings(**sections, source=source)
    validate(settings)
    return _public_issue_url(settings, raw, env)


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
    cls = SECTION_CLASSES[name]
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


def _check_environment(env: Mapping[str, str]) -> None:
    """An unknown NEURALTALK_* variable is an error naming the nearest known one."""
    known = [f"{ENV_PREFIX}{s.upper()}_{f.name.upper()}" for s, c in SECTION_CLASSES.items()
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
