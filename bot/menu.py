"""The account's custom menu (自定义菜单): the menu file, its validation, and how it is shown.

The file (wechat.menu_file, `menu.yaml` beside the configuration) is WeChat's own structure in
YAML: `button:` a list of 1 to 3 buttons, each either a `click` button with a `key` (the bot
answers it as if the follower had sent the key as text), a `view` button with a `url`, or a
`name` with `sub_button:` a list of 1 to 5 such buttons. Every rule WeChat applies to a menu is
checked here first, each broken one reported in one line naming the button.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.errors import UserError

MAX_BUTTONS = 3
MAX_SUB_BUTTONS = 5
MAX_NAME_BYTES = 16  # a top-level button: about 4 Chinese characters
MAX_SUB_NAME_BYTES = 60  # a sub-button
MAX_KEY_BYTES = 128
MAX_URL_BYTES = 1024
TYPES = ("click", "view")
FIELDS = ("name", "type", "key", "url", "sub_button")

EXAMPLE = """\
# The account's custom menu (自定义菜单), in WeChat's own structure: up to 3 buttons, each a
# `click` button with a `key`, a `view` button with a `url`, or a name with up to 5
# `sub_button`s. A click is answered as if the follower had sent its key as text (最新, 帮助,
# 订阅, 订阅 量化, or any keyword). `neuraltalk menu push` publishes it.
button:
  - name: 最新一期
    type: click
    key: 最新
  - name: 搜索帮助
    type: click
    key: 帮助
  - name: 订阅
    sub_button:
      - {name: 订阅新一期, type: click, key: 订阅}
      - {name: 订阅「量化」, type: click, key: 订阅 量化}
      - {name: 我的订阅, type: click, key: 我的订阅}
      - {name: 退订, type: click, key: 退订}
      - name: 往期全部
        type: view
        url: https://github.com/ysh329/awesome-embedded-ai
"""


class MenuError(UserError):
    """The menu file cannot be published; the message names the file and the button."""


@dataclass(frozen=True)
class Button:
    """One button: click (key), view (url), a parent of sub_buttons, or another type shown."""

    name: str
    type: str = ""
    value: str = ""  # the key of a click, the url of a view
    sub_buttons: tuple[Button, ...] = ()

    def to_wechat(self) -> dict[str, Any]:
        if self.sub_buttons:
            return {"name": self.name, "sub_button": [b.to_wechat() for b in self.sub_buttons]}
        field = "key" if self.type == "click" else "url"
        return {"type": self.type, "name": self.name, field: self.value}


@dataclass(frozen=True)
class Menu:
    buttons: tuple[Button, ...]

    def to_wechat(self) -> dict[str, Any]:
        """The body of /cgi-bin/menu/create."""
        return {"button": [b.to_wechat() for b in self.buttons]}

    def lines(self) -> list[str]:
        """The menu as a person reads it: one line a button, sub-buttons indented."""
        out: list[str] = []
        for button in self.buttons:
            if button.sub_buttons:
                out.append(f"{button.name}")
                out.extend("  " + _line(sub) for sub in button.sub_buttons)
            else:
                out.append(_line(button))
        return out

    def summary(self) -> str:
        subs = sum(len(b.sub_buttons) for b in self.buttons)
        names = " · ".join(b.name for b in self.buttons)
        return f"{names} ({len(self.buttons)} buttons, {subs} sub-buttons)"


def _line(button: Button) -> str:
    what = f"{button.type} {button.value}".strip() or "(no action)"
    return f"{button.name}  → {what}"


def _bytes(text: str) -> int:
    return len(text.encode("utf-8"))


def _text(where: str, raw: dict[str, Any], field: str, limit: int) -> str:
    value = raw.get(field)
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise MenuError(f"{where}: `{field}` is missing or empty")
    value = value.strip()
    if _bytes(value) > limit:
        raise MenuError(
            f"{where}: `{field}` is {_bytes(value)} bytes; WeChat allows at most {limit} "
            f"(a Chinese character is 3 bytes): shorten it"
        )
    return value


def _button(where: str, raw: Any, top: bool) -> Button:
    """One button of the file (a top-level one if `top`), checked; MenuError names it."""
    if not isinstance(raw, dict):
        raise MenuError(f"{where}: must be a mapping with name and type (got {raw!r:.40})")
    unknown = [k for k in raw if k not in FIELDS]
    if unknown:
        raise MenuError(f"{where}: unknown field `{unknown[0]}`; known: {', '.join(FIELDS)}")
    name = _text(where, raw, "name", MAX_NAME_BYTES if top else MAX_SUB_NAME_BYTES)
    where = f"{where} 「{name}」"
    if "sub_button" in raw:
        return _parent(where, name, raw, top)
    kind = raw.get("type")
    if kind not in TYPES:
        raise MenuError(
            f"{where}: `type` must be click (with a key) or view (with a url), got {kind!r}"
        )
    wrong = "url" if kind == "click" else "key"
    if wrong in raw:
        raise MenuError(f"{where}: a {kind} button has no `{wrong}`")
    if kind == "click":
        return Button(name, kind, _text(where, raw, "key", MAX_KEY_BYTES))
    url = _text(where, raw, "url", MAX_URL_BYTES)
    if not url.startswith(("http://", "https://")):
        raise MenuError(f"{where}: `url` must start with http:// or https://, got {url!r:.60}")
    return Button(name, kind, url)


def _parent(where: str, name: str, raw: dict[str, Any], top: bool) -> Button:
    """A button that opens sub-buttons: only at the top, with 1 to 5 of them and no action."""
    if not top:
        raise MenuError(f"{where}: a sub-button cannot have sub_buttons of its own")
    others = [k for k in ("type", "key", "url") if k in raw]
    if others:
        raise MenuError(f"{where}: a button with sub_button has no `{others[0]}`")
    subs = _one_to(raw["sub_button"], MAX_SUB_BUTTONS, where, "sub-buttons")
    children = (_button(f"{where}, sub-button {i}", s, top=False) for i, s in enumerate(subs, 1))
    return Button(name, sub_buttons=tuple(children))


def _one_to(value: Any, most: int, where: str, noun: str) -> list[Any]:
    """`value` as a list of 1 to `most` items; MenuError saying how many there are."""
    if not isinstance(value, list) or not 1 <= len(value) <= most:
        count = len(value) if isinstance(value, list) else "no list of"
        raise MenuError(f"{where}: {count} {noun}; WeChat allows 1 to {most}")
    return value


def parse_menu(data: Any, source: str = "menu") -> Menu:
    """A Menu from the file's data; MenuError (one line) for the first rule it breaks."""
    if not isinstance(data, dict) or "button" not in data:
        raise MenuError(f"{source}: must hold `button:`, a list of 1 to {MAX_BUTTONS} buttons")
    unknown = [k for k in data if k != "button"]
    if unknown:
        raise MenuError(f"{source}: unknown key `{unknown[0]}`; the menu has only `button:`")
    buttons = _one_to(data["button"], MAX_BUTTONS, source, "buttons")
    return Menu(tuple(_button(f"{source}: button {i}", b, True) for i, b in enumerate(buttons, 1)))


def load_menu(path: Path) -> Menu:
    """The menu file, validated; MenuError for a missing file, bad YAML or a broken rule."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MenuError(
            f"menu file {path} does not exist: `neuraltalk init` writes an example, "
            "or set wechat.menu_file"
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise MenuError(f"{where}: YAML syntax error: {exc.problem or exc}") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise MenuError(f"cannot read menu file {path}: {str(exc).splitlines()[0]}") from None
    return parse_menu(data, str(path))


def _shown_button(raw: Any) -> Button | None:
    """A button of the account's current menu as WeChat lists it (either API's shape)."""
    if not isinstance(raw, dict):
        return None
    subs = raw.get("sub_button")
    if isinstance(subs, dict):  # get_current_selfmenu_info: {"list": [...]}
        subs = subs.get("list")
    if isinstance(subs, list) and subs:
        children = tuple(b for b in map(_shown_button, subs) if b is not None)
        return Button(str(raw.get("name", "")), sub_buttons=children)
    kind = str(raw.get("type", ""))
    value = raw.get("key") or raw.get("url") or raw.get("value") or ""
    return Button(str(raw.get("name", "")), kind, str(value))


def current_menu(answer: dict[str, Any]) -> Menu | None:
    """The menu in an answer of /cgi-bin/get_current_selfmenu_info (or menu/get); None: none."""
    if answer.get("is_menu_open", 1) == 0:
        return None
    info = answer.get("selfmenu_info") or answer.get("menu") or {}
    raw = info.get("button") if isinstance(info, dict) else None
    buttons = tuple(b for b in map(_shown_button, raw or []) if b is not None)
    return Menu(buttons) if buttons else None
