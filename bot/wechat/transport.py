"""One HTTP exchange with the WeChat API: a JSON body out, the answer back as a dict.

The transport under bot.wechat.api and bot.wechat.access_token: one aiohttp session, the base URL
(settings.wechat.api_base_url) and a timeout. Timeouts and dropped connections become
Unreachable (no connection: nothing was written) or AnswerLost (written, no answer: it may
have been processed); the answer's status and body are judged by bot.wechat.errors.decode_answer.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from yarl import URL

from bot.wechat.errors import (
    ERR_NETWORK,
    AnswerLost,
    Unreachable,
    clean,
    decode_answer,
    read_bounded,
)

CONNECT_TIMEOUT = 5.0  # seconds to open a connection; the request is not written before

JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}


def to_json(value: Any) -> bytes:
    """value as compact UTF-8 JSON (Chinese text as itself, not \\u escapes)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


class Transport:
    """The session, base URL and timeout every request of one WeChatAPI goes through."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, timeout: float) -> None:
        self._session = session
        self.base = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=min(CONNECT_TIMEOUT, timeout))
        self._urls: dict[tuple[str, str], URL] = {}

    async def request(self, method: str, path: str, url: URL, data: bytes | None) -> dict[str, Any]:
        """One HTTP exchange; the answer as a dict, or an exception for the transport's failures."""
        try:
            async with self._session.request(
                method,
                url,
                data=data,
                headers=JSON_HEADERS if data is not None else None,
                timeout=self._timeout,
                allow_redirects=False,
            ) as resp:
                raw = b"" if resp.status >= 500 else await read_bounded(resp)
                status = resp.status
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            reason = clean(f"{type(exc).__name__}: {exc}")
            raise Unreachable(ERR_NETWORK, reason, f"{path}: {reason}") from None
        except (aiohttp.ClientError, TimeoutError) as exc:  # written: it may have been processed
            reason = clean(f"{type(exc).__name__}: {exc}") or "no answer"
            raise AnswerLost(ERR_NETWORK, reason, f"{path}: {reason}") from None
        return decode_answer(path, status, raw)

    def url(self, path: str) -> URL:
        """base + path, without a query."""
        return URL(self.base + path)

    def token_url(self, path: str, token: str) -> URL:
        """base + path + ?access_token=token, built once per path and token, not per message."""
        url = self._urls.get((path, token))
        if url is None:
            if len(self._urls) >= 64:  # old tokens' URLs
                self._urls.clear()
            url = self._urls[(path, token)] = self.url(path).with_query(access_token=token)
        return url
