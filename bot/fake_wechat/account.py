"""The fake WeChat API's account setup: the custom menu and permanent QR codes.

MockAccount answers menu/create, menu/get, get_current_selfmenu_info, menu/delete and
qrcode/create as WeChat does (the menu's limits and error codes included; a permanent QR code
keeps its ticket for the same scene), and notes each change in the fake's log (channel `menu`
or `qrcode`, no openid). bot.fake_wechat.state routes those calls here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from bot.fake_wechat.model import Answer, err, ok

QR_ACTIONS = ("QR_SCENE", "QR_STR_SCENE", "QR_LIMIT_SCENE", "QR_LIMIT_STR_SCENE")
LIMITS = {  # (count code, type code, name code, name bytes) for buttons and sub-buttons
    True: (40016, 40017, 40018, 16),
    False: (40023, 40024, 40025, 60),
}


def _button_error(button: Any, top: bool) -> Answer | None:
    """WeChat's error for a button it would refuse, else None."""
    _, type_code, name_code, name_bytes = LIMITS[top]
    if not isinstance(button, dict):
        return err(type_code, "invalid button type")
    name = button.get("name")
    if not isinstance(name, str) or not name or len(name.encode()) > name_bytes:
        return err(name_code, "invalid button name size")
    subs = button.get("sub_button")
    if top and subs is not None:
        if not isinstance(subs, list) or not 1 <= len(subs) <= 5:
            return err(40023, "invalid sub button size")
        return next((e for s in subs if (e := _button_error(s, False))), None)
    kind = button.get("type")
    if kind == "click":
        key = button.get("key")
        ok_key = isinstance(key, str) and 0 < len(key.encode()) <= 128
        return None if ok_key else err(40019 if top else 40026, "invalid button key size")
    if kind == "view":
        url = button.get("url")
        ok_url = isinstance(url, str) and 0 < len(url.encode()) <= 1024
        return None if ok_url else err(40020 if top else 40027, "invalid button url size")
    return err(type_code, "invalid button type")


class MockAccount:
    """The fake account's menu (None: none) and its permanent QR codes by scene."""

    def __init__(self, note: Callable[[str, str], None]) -> None:
        self.menu: dict[str, Any] | None = None
        self.qrcodes: dict[str, dict[str, Any]] = {}  # scene -> {"ticket", "url"}
        self._note = note  # (channel, content) into the fake's log

    def menu_create(self, body: Answer) -> Answer:
        buttons = body.get("button")
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
            return err(40016, "invalid button size")
        problem = next((e for b in buttons if (e := _button_error(b, True))), None)
        if problem is not None:
            return problem
        self.menu = {"button": buttons}
        self._note("menu", "create " + json.dumps(self.menu, ensure_ascii=False))
        return ok()

    def menu_get(self, body: Answer) -> Answer:
        if self.menu is None:
            return err(46003, "menu no exist")
        return {"menu": {**self.menu, "menuid": 208396938}}

    def selfmenu_info(self, body: Answer) -> Answer:
        if self.menu is None:
            return {"is_menu_open": 0}
        buttons = []
        for button in self.menu["button"]:
            if "sub_button" in button:  # this call lists sub-buttons under "list"
                button = {"name": button["name"], "sub_button": {"list": button["sub_button"]}}
            buttons.append(button)
        return {"is_menu_open": 1, "selfmenu_info": {"button": buttons}}

    def menu_delete(self, body: Answer) -> Answer:
        self.menu = None
        self._note("menu", "delete")
        return ok()

    def qrcode_create(self, body: Answer) -> Answer:
        action = body.get("action_name")
        info = body.get("action_info")
        scene = info.get("scene") if isinstance(info, dict) else None
        if action not in QR_ACTIONS or not isinstance(scene, dict):
            return err(40053, "invalid action info")
        value = scene.get("scene_str") if "STR" in str(action) else scene.get("scene_id")
        if (isinstance(value, str) and not 1 <= len(value) <= 64) or value in (None, ""):
            return err(40053, "invalid scene")
        key = f"{action}:{value}"
        if key not in self.qrcodes or "LIMIT" not in str(action):
            digest = hashlib.sha1(f"{key}:{len(self.qrcodes)}".encode()).hexdigest()[:16]
            url = f"http://weixin.qq.com/q/{digest}"
            self.qrcodes[key] = {"ticket": f"gQmock{digest}==", "url": url}
            self._note("qrcode", f"{action} {value} -> {self.qrcodes[key]['url']}")
        answer = dict(self.qrcodes[key])
        if "LIMIT" not in str(action):
            answer["expire_seconds"] = int(body.get("expire_seconds") or 60)
        return answer

    def routes(self) -> dict[str, Callable[[Answer], Answer]]:
        return {
            "/cgi-bin/menu/create": self.menu_create,
            "/cgi-bin/menu/get": self.menu_get,
            "/cgi-bin/get_current_selfmenu_info": self.selfmenu_info,
            "/cgi-bin/menu/delete": self.menu_delete,
            "/cgi-bin/qrcode/create": self.qrcode_create,
        }
