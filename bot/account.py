"""The account's side on WeChat that the editor sets up: the custom menu and the QR codes.

`neuraltalk menu push|show|delete` and `neuraltalk qrcode` call these. Each opens the API client
once (credentials checked first, the access_token kept in the store like the broadcast's, the
rehearsal database when rehearsing) and makes its calls.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp

from bot.config import Settings
from bot.credentials import api_from_settings, check_credentials
from bot.errors import UserError
from bot.menu import Menu, current_menu, load_menu
from bot.rehearsal import storage_settings
from bot.scenes import scene_str
from bot.store.store import Store
from bot.wechat import menu as wechat_menu
from bot.wechat.api import WeChatAPI
from bot.wechat.qrcode import QRCode, permanent_qrcode, write_png


@asynccontextmanager
async def account_api(settings: Settings) -> AsyncIterator[WeChatAPI]:
    """The API client for settings.wechat, its token kept in the store."""
    check_credentials(settings.wechat)
    store = await Store.open(storage_settings(settings).storage.url)
    try:
        async with aiohttp.ClientSession() as session:
            yield api_from_settings(session, settings.wechat, store)
    finally:
        await store.close()


def menu_path(settings: Settings) -> Path:
    return Path(settings.wechat.menu_file)


async def push_menu(settings: Settings) -> Menu:
    """Validate wechat.menu_file (before any call), then publish it; returns what was sent."""
    menu = load_menu(menu_path(settings))
    async with account_api(settings) as api:
        await wechat_menu.create_menu(api, menu.to_wechat())
    return menu


async def show_menu(settings: Settings) -> Menu | None:
    """The account's current menu; None when it has none."""
    async with account_api(settings) as api:
        return current_menu(await wechat_menu.current_menu(api))


async def delete_menu(settings: Settings) -> None:
    async with account_api(settings) as api:
        await wechat_menu.delete_menu(api)


def default_png(topic: str | None) -> Path:
    """qrcode-subscribe.png, or qrcode-topic-量化.png for a topic."""
    return Path(f"qrcode-topic-{topic.strip()}.png" if topic else "qrcode-subscribe.png")


async def make_qrcode(
    settings: Settings, topic: str | None, out: Path | None
) -> tuple[QRCode, Path]:
    """A permanent QR code subscribing to `topic` (None: every issue), written as a PNG."""
    scene = scene_str(topic)
    path = out or default_png(topic)
    if not path.parent.is_dir():
        raise UserError(f"cannot write {path}: the folder {path.parent} does not exist")
    async with account_api(settings) as api:
        code = await permanent_qrcode(api, scene)
    try:
        write_png(code, path)
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    return code, path
