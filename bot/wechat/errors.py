"""WeChat API errors sorted into what to do about them, and the reading of untrusted answers.

- TransientError (-1 busy, 45011 per-minute quota, 45066 retried too fast, HTTP 5xx and 429):
  WeChat did not take the request; worth retrying with backoff (bot.wechat.api does).
  Unreachable (a TransientError): no connection, so the request was never written.
  AnswerLost (a TransientError): the request was written, the answer never came; it may have
  been processed, so only idempotent calls are retried.
- RecipientError (43004, 45015, 40003, 45047, 48002): this one follower cannot get it.
- FatalError (40013, 40125, 40164, 48001, 45009 and any unknown code): stop; its message says
  what to fix in one line, so the `neuraltalk` command prints it as it is.

Codes that are not WeChat's: ERR_HTTP (-2, an HTTP error status), ERR_NETWORK (-3, timeout or
dropped connection), ERR_BAD_ANSWER (-4, an answer that is not a JSON object or too large).
Error messages never carry the secret or the access_token.
"""

from __future__ import annotations

import json
import re
from typing import Any

import aiohttp

ERR_HTTP, ERR_NETWORK, ERR_BAD_ANSWER = -2, -3, -4
TOKEN_ERRORS = frozenset({40001, 40014, 42001})
TRANSIENT_ERRORS = frozenset({-1, 45011, 45066})
RECIPIENT_ERRORS = frozenset({43004, 45015, 40003, 45047, 48002})
MASS_EXISTS = 45065
TAG_EXISTS = 45157
FATAL_HINTS = {
    40013: "the AppID is wrong: check wechat.appid",
    40125: "the AppSecret is wrong: check wechat.secret (reset it in the admin console if needed)",
    40164: "this machine's IP is not whitelisted: add it to the IP whitelist (IP白名单) "
    "in the admin console, 设置与开发 → 基本配置",
    48001: "the account has no such API (unverified or personal account); "
    "followers can still pull new issues by sending 最新",
    45009: "the account's daily quota for this API is used up: stop for today, resume tomorrow",
    45002: "the message is too long for WeChat: shorten it",
}
MAX_ANSWER_BYTES = 2 * 1024 * 1024
_SECRET_RE = re.compile(r"(access_token|secret)=[^&\s'\"]*")


class WeChatError(Exception):
    """A failed API call; errcode is WeChat's code (or ERR_*), errmsg its message."""

    def __init__(self, errcode: int, errmsg: str, message: str | None = None) -> None:
        self.errcode = errcode
        self.errmsg = errmsg
        super().__init__(message or f"WeChat API error {errcode}: {errmsg}")


class TransientError(WeChatError):
    """Busy, rate-limited or unreachable: worth trying again later."""


class Unreachable(TransientError):
    """The request was never written: no connection (refused, DNS, connect timeout)."""


class AnswerLost(TransientError):
    """The request was written but no answer came (read timeout, connection dropped).

    WeChat may have processed it: a customer-service send must not be sent again blindly.
    """


class RecipientError(WeChatError):
    """This recipient cannot get the message (unfollowed, outside the window, bad openid...)."""


class FatalError(WeChatError):
    """Nothing more can be sent until a person fixes something; the message says what."""


class NoSuchEndpoint(FatalError):
    """HTTP 404 or 405: the server does not have this path."""


def redact(text: str) -> str:
    return _SECRET_RE.sub(r"\1=***", text)


def clean(text: Any) -> str:
    """An untrusted errmsg made safe to print: one line, bounded."""
    return redact(" ".join(str(text).split()))[:200]


def errcode_of(data: dict[str, Any]) -> int:
    code = data.get("errcode", 0)
    if isinstance(code, bool) or not isinstance(code, int):
        raise FatalError(ERR_BAD_ANSWER, f"errcode {code!r} is not a number")
    return code


def raise_for(path: str, data: dict[str, Any], accept: frozenset[int]) -> None:
    """Raise the exception class that fits a non-zero errcode, unless it is accepted."""
    code = errcode_of(data)
    if code == 0 or code in accept:
        return
    errmsg = clean(data.get("errmsg", ""))
    if code in TRANSIENT_ERRORS:
        raise TransientError(code, errmsg)
    if code in RECIPIENT_ERRORS:
        raise RecipientError(code, errmsg)
    hint = FATAL_HINTS.get(code, "an unexpected error: look it up in WeChat's API documentation")
    raise FatalError(code, errmsg, f"WeChat {path} answered {code} ({errmsg}): {hint}")


async def read_bounded(resp: aiohttp.ClientResponse) -> bytes:
    """The answer's body, at most MAX_ANSWER_BYTES (read at once when its length is given)."""
    length = resp.content_length
    if length is not None:
        if length > MAX_ANSWER_BYTES:
            raise FatalError(ERR_BAD_ANSWER, f"answer of {length} bytes is too large")
        return await resp.read()
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_chunked(65536):
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise FatalError(ERR_BAD_ANSWER, f"answer over {MAX_ANSWER_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def decode_answer(path: str, status: int, raw: bytes) -> dict[str, Any]:
    if status >= 500 or status == 429:
        raise TransientError(ERR_HTTP, f"HTTP {status}")
    if status in (404, 405):
        raise NoSuchEndpoint(ERR_HTTP, f"HTTP {status}", f"WeChat API has no {path}")
    if status != 200:
        raise FatalError(
            ERR_HTTP, f"HTTP {status}", f"{path} answered HTTP {status}: check wechat.api_base_url"
        )
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        data = None
    if not isinstance(data, dict):
        raise FatalError(
            ERR_BAD_ANSWER,
            "not a JSON object",
            f"{path} did not answer a JSON object: check wechat.api_base_url",
        )
    return data
