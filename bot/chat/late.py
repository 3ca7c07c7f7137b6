"""Late replies: a reply that missed WeChat's deadline, sent by customer-service message.

The follower just wrote, so their 48-hour window is open (PLATFORM.md). The webhook answered
`success`; the reply's task goes on, and when it ends its text is sent once with the WeChat
API client (bot.wechat.api). Retries of the same message are answered `success` meanwhile,
so the follower never gets the reply twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import aiohttp

from bot.chat.sessions import TTLCache
from bot.config import WechatSettings
from bot.credentials import api_from_settings, check_credentials
from bot.errors import UserError
from bot.wechat.access_token import SharedLock, TokenStore
from bot.wechat.api import WeChatAPI

log = logging.getLogger(__name__)

REMEMBER = 10 * 60.0  # WeChat's retries are over within about 15 s
CLOSE_WAIT = 5.0


class LateReplies:
    """Follows replies that missed the deadline and sends each, once, when it is ready."""

    def __init__(self) -> None:
        self._keys: TTLCache[str, bool] = TTLCache(50_000, REMEMBER)
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None
        self.api: WeChatAPI | None = None

    async def open(
        self, wechat: WechatSettings, tokens: TokenStore | None, token_lock: SharedLock | None
    ) -> None:
        """The API client, when settings can send (wechat.appid/secret, or a fake API)."""
        if tokens is None or not wechat.appid:
            return
        try:
            check_credentials(wechat)
        except UserError as exc:
            log.info("late replies will not be sent: %s", exc)
            return
        self._session = aiohttp.ClientSession()
        self.api = api_from_settings(self._session, wechat, tokens, token_lock=token_lock)

    def pending(self, key: str) -> bool:
        return self._keys.get(key) is not None

    def follow(self, key: str, openid: str, reply: asyncio.Future[str | None]) -> None:
        if self.pending(key):
            return
        self._keys.put(key, True)
        task = asyncio.create_task(self._send(key, openid, reply))
        self._tasks.add(task)  # kept, so that it is not collected before it ends
        task.add_done_callback(self._tasks.discard)

    async def _send(self, key: str, openid: str, reply: asyncio.Future[str | None]) -> None:
        try:
            text = await reply
        except Exception as exc:
            log.warning("late reply to %s failed, nothing sent: %s", key, exc)
            return
        if text is None:
            return
        if self.api is None:
            log.warning("late reply to %s not sent: no WeChat API (wechat.appid/secret)", key)
            return
        try:
            await self.api.send_text(openid, text)
        except Exception as exc:
            log.warning("late reply to %s not sent by customer service: %s", key, exc)
            return
        log.info("late reply to %s sent by customer-service message", key)

    async def close(self) -> None:
        """Let the late replies under way finish (a few seconds at most), then stop."""
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=CLOSE_WAIT)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._session is not None:
            await self._session.close()
