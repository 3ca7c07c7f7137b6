"""The custom menu (自定义菜单) calls: create, read the current one, delete.

The menu is WeChat's own JSON (`{"button": [...]}`); errors the API gives for a menu it refuses
get a hint saying which rule was broken.
"""

from __future__ import annotations

from typing import Any

from bot.wechat.api import WeChatAPI
from bot.wechat.errors import FatalError

MENU_ERRORS = {
    40016: "the number of buttons (1 to 3)",
    40017: "a button's type",
    40018: "a button's name length (16 bytes)",
    40019: "a button's key length (128 bytes)",
    40020: "a button's url length (1024 bytes)",
    40023: "the number of sub-buttons (1 to 5)",
    40024: "a sub-button's type",
    40025: "a sub-button's name length (60 bytes)",
    40026: "a sub-button's key length",
    40027: "a sub-button's url length",
    40054: "a sub-button's url domain",
    40055: "a button's url domain",
}


async def create_menu(api: WeChatAPI, menu: dict[str, Any]) -> None:
    """Publish `menu`, replacing the account's current one (/cgi-bin/menu/create)."""
    try:
        await api.call("/cgi-bin/menu/create", menu)
    except FatalError as exc:
        rule = MENU_ERRORS.get(exc.errcode)
        if rule is None:
            raise
        raise FatalError(exc.errcode, exc.errmsg, f"WeChat refused the menu ({exc.errcode} "
                         f"{exc.errmsg}): check {rule} in the menu file") from None  # fmt: skip


async def current_menu(api: WeChatAPI) -> dict[str, Any]:
    """The account's menu as shown to followers (/cgi-bin/get_current_selfmenu_info): also one
    set in the admin console. `is_menu_open` 0 means none."""
    return await api.call("/cgi-bin/get_current_selfmenu_info", None, method="GET")


async def delete_menu(api: WeChatAPI) -> None:
    """Remove the account's menu (/cgi-bin/menu/delete)."""
    await api.call("/cgi-bin/menu/delete", None, method="GET")
