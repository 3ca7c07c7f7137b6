"""The async client of the WeChat API: access_token, customer-service and mass sends, tags.

Every call goes to `base_url` (settings.wechat.api_base_url), so tests and rehearsals can point it
at `neuraltalk mock-wechat`. Failures come out sorted into three exception classes:

- TransientError (-1 busy, 45011 per-minute quota, 45066 retried too fast, HTTP 5xx and 429,
  timeouts, dropped connections): retried here with exponential backoff and jitter, a bounded
  number of times, then raised.
- RecipientError (43004, 45015, 40003, 45047, 48002): this one follower cannot get it; not retried.
- FatalError (40013, 40125, 40164, 48001, 45009 and any unknown code): stop; its message says
  what to fix. It is a UserError, so the `neuraltalk` command prints it as one line.

Codes that are not WeChat's: ERR_HTTP (-2, an HTTP error status), ERR_NETWORK (-3, timeout or
dropped connection), ERR_BAD_ANSWER (-4, an answer that is not a JSON object or too large).

The access_token comes from POST /cgi-bin/stable_token, which returns the same token while it is
valid (so two processes do not invalidate each other's), falling back for good to GET
/cgi-bin/token when the server has no stable_token (HTTP 404 or 405). It is kept in a TokenStore
with its expiry and renewed 5 minutes before it runs out, one renewal at a time however many
senders wait (a lock and a second check). When the API refuses a token (40001, 40014, 42001),
it is renewed once with force_refresh and the call retried once. Retrying after a timeout may
deliver a customer-service message twice if WeChat had already taken it; mass sends are safe
(clientmsgid). Neither the secret nor the token is logged or put into an error message.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import aiohttp
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from bot.errors import UserError

log = logging.getLogger(__name__)

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
RENEW_MARGIN = timedelta(minutes=5)
MAX_ANSWER_BYTES = 2 * 1024 * 1024
TAG_BATCH = 50
JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}
_SECRET_RE = re.compile(r"(access_token|secret)=[^&\s'\"]*")


class WeChatError(Exception):
    """A failed API call; errcode is WeChat's code (or ERR_*), errmsg its message."""

    def __init__(self, errcode: int, errmsg: str, message: str | None = None) -> None:
        self.errcode = errcode
        self.errmsg = errmsg
        super().__init__(message or f"WeChat API error {errcode}: {errmsg}")


class TransientError(WeChatError):
    """Busy, rate-limited or unreachable: worth trying again later."""


class RecipientError(WeChatError):
    """This recipient cannot get the message (unfollowed, outside the window, bad openid...)."""


class FatalError(WeChatError, UserError):
    """Nothing more can be sent until a person fixes something; the message says what."""


class _NoSuchEndpoint(FatalError):
    """HTTP 404 or 405: the server does not have this path."""


class TokenStore(Protocol):
    """Where the access_token is kept with its expiry (bot.store.Store implements it too)."""

    async def load_token(self) -> tuple[str, datetime] | None: ...

    async def save_token(self, token: str, expires_at: datetime) -> None: ...


class MemoryTokenStore:
    """A TokenStore in memory, for tests and one-off commands."""

    def __init__(self) -> None:
        self.value: tuple[str, datetime] | None = None

    async def load_token(self) -> tuple[str, datetime] | None:
        return self.value

    async def save_token(self, token: str, expires_at: datetime) -> None:
        self.value = (token, expires_at)


@dataclass(frozen=True)
class RetryPolicy:
    """How transient errors are retried: attempts in all, and the backoff in seconds."""

    attempts: int = 5
    initial: float = 0.5
    maximum: float = 30.0
    jitter: float = 1.0


@dataclass(frozen=True)
class Tag:
    id: int
    name: str
    count: int


def _redact(text: str) -> str:
    return _SECRET_RE.sub(r"\1=***", text)


def _clean(text: Any) -> str:
    """An untrusted errmsg made safe to print: one line, bounded."""
    return _redact(" ".join(str(text).split()))[:200]


def _errcode(data: dict[str, Any]) -> int:
    code = data.get("errcode", 0)
    if isinstance(code, bool) or not isinstance(code, int):
        raise FatalError(ERR_BAD_ANSWER, f"errcode {code!r} is not a number")
    return code


def _raise_for(path: str, data: dict[str, Any], accept: frozenset[int]) -> None:
    """Raise the exception class that fits a non-zero errcode, unless it is accepted."""
    code = _errcode(data)
    if code == 0 or code in accept:
        return
    errmsg = _clean(data.get("errmsg", ""))
    if code in TRANSIENT_ERRORS:
        raise TransientError(code, errmsg)
    if code in RECIPIENT_ERRORS:
        raise RecipientError(code, errmsg)
    hint = FATAL_HINTS.get(code, "an unexpected error: look it up in WeChat's API documentation")
    raise FatalError(code, errmsg, f"WeChat {path} answered {code} ({errmsg}): {hint}")


async def _read_bounded(resp: aiohttp.ClientResponse) -> bytes:
    if (resp.content_length or 0) > MAX_ANSWER_BYTES:
        raise FatalError(ERR_BAD_ANSWER, f"answer of {resp.content_length} bytes is too large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_chunked(65536):
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise FatalError(ERR_BAD_ANSWER, f"answer over {MAX_ANSWER_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _decode(path: str, status: int, raw: bytes) -> dict[str, Any]:
    if status >= 500 or status == 429:
        raise TransientError(ERR_HTTP, f"HTTP {status}")
    if status in (404, 405):
        raise _NoSuchEndpoint(ERR_HTTP, f"HTTP {status}", f"WeChat API has no {path}")
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


class WeChatAPI:
    """One official account's API over one aiohttp session; safe to share between tasks."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        appid: str,
        secret: str,
        token_store: TokenStore,
        *,
        retry: RetryPolicy | None = None,
        timeout: float = 15.0,
    ) -> None:
        self._session = session
        self._base = base_url.rstrip("/")
        self._appid = appid
        self._secret = secret
        self._store = token_store
        self._retry = retry or RetryPolicy()
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._lock = asyncio.Lock()
        self._token: str | None = None
        self._renew_at = datetime.min.replace(tzinfo=UTC)
        self._use_stable = True

    def __repr__(self) -> str:  # never show the secret or the token
        return f"WeChatAPI({self._base!r}, appid={self._appid!r})"

    # --- HTTP ---------------------------------------------------------------------------

    async def _request(
        self, method: str, path: str, params: dict[str, str], body: dict[str, Any] | None
    ) -> dict[str, Any]:
        """One HTTP exchange; the answer as a dict, or an exception for the transport's failures."""
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        try:
            async with self._session.request(
                method,
                self._base + path,
                params=params,
                data=data,
                headers=JSON_HEADERS if data is not None else None,
                timeout=self._timeout,
                allow_redirects=False,
            ) as resp:
                raw = b"" if resp.status >= 500 else await _read_bounded(resp)
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            reason = _clean(f"{type(exc).__name__}: {exc}")
            raise TransientError(ERR_NETWORK, reason, f"{path}: {reason}") from None
        return _decode(path, status, raw)

    # --- the access_token ---------------------------------------------------------------

    def _fresh(self, expires_at: datetime) -> bool:
        return expires_at - RENEW_MARGIN > datetime.now(UTC)

    def _adopt(self, token: str, expires_at: datetime) -> None:
        """Use token until 5 minutes before it expires, or half its time left if less.

        (stable_token may hand back the same token near its end; halving the wait keeps
        that from turning into one token call per message.)
        """
        now = datetime.now(UTC)
        left = expires_at - now
        self._token, self._renew_at = token, now + max(left - RENEW_MARGIN, left / 2)

    async def access_token(self) -> str:
        """A token not yet due for renewal; fetched (or read from the store) only when needed."""
        token = self._token
        if token is not None and datetime.now(UTC) < self._renew_at:
            return token
        async with self._lock:
            if self._token is None or datetime.now(UTC) >= self._renew_at:
                stored = await self._store.load_token()
                if stored is not None and stored[0] != token and self._fresh(stored[1]):
                    self._adopt(*stored)
                else:
                    await self._fetch_token(force=False)
            assert self._token is not None
            return self._token

    async def _renew_refused(self, refused: str) -> str:
        """The API refused `refused`: renew it, once however many senders saw the refusal."""
        async with self._lock:
            if self._token is not None and self._token != refused:
                return self._token
            stored = await self._store.load_token()
            if stored is not None and stored[0] != refused and self._fresh(stored[1]):
                self._adopt(*stored)
            else:
                await self._fetch_token(force=True)
            assert self._token is not None
            return self._token

    async def _fetch_token(self, force: bool) -> None:
        path = "/cgi-bin/stable_token"
        data: dict[str, Any] | None = None
        if self._use_stable:
            body = {
                "grant_type": "client_credential",
                "appid": self._appid,
                "secret": self._secret,
                "force_refresh": force,
            }
            try:
                data = await self._request("POST", path, {}, body)
            except _NoSuchEndpoint:
                log.info("no /cgi-bin/stable_token at %s: using /cgi-bin/token", self._base)
                self._use_stable = False
        if data is None:
            path = "/cgi-bin/token"
            params = {"grant_type": "client_credential", "appid": self._appid}
            data = await self._request("GET", path, params | {"secret": self._secret}, None)
        _raise_for(path, data, frozenset())
        token, expires_in = data.get("access_token"), data.get("expires_in")
        if not isinstance(token, str) or not token or not isinstance(expires_in, int):
            raise FatalError(ERR_BAD_ANSWER, "no access_token", f"{path} gave no usable token")
        expires_at = datetime.now(UTC) + timedelta(seconds=expires_in)
        await self._store.save_token(token, expires_at)
        self._adopt(token, expires_at)
        log.info("access_token renewed (force=%s), valid for %d s", force, expires_in)

    # --- calls --------------------------------------------------------------------------

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning("WeChat API attempt %d failed (%s); retrying", state.attempt_number, exc)

    async def _call(
        self,
        path: str,
        body: dict[str, Any] | None,
        method: str = "POST",
        accept: frozenset[int] = frozenset(),
    ) -> dict[str, Any]:
        """Call path with the token; transient failures retried with backoff and jitter."""
        policy = self._retry
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(policy.attempts),
            wait=wait_exponential(multiplier=policy.initial, max=policy.maximum)
            + wait_random(0, policy.jitter),
            retry=retry_if_exception_type(TransientError),
            before_sleep=self._log_retry,
            reraise=True,
        ):
            with attempt:
                return await self._call_once(path, body, method, accept)
        raise AssertionError("unreachable: tenacity re-raises the last error")

    async def _call_once(
        self, path: str, body: dict[str, Any] | None, method: str, accept: frozenset[int]
    ) -> dict[str, Any]:
        token = await self.access_token()
        data = await self._request(method, path, {"access_token": token}, body)
        if _errcode(data) in TOKEN_ERRORS:
            token = await self._renew_refused(token)
            data = await self._request(method, path, {"access_token": token}, body)
            code = _errcode(data)
            if code in TOKEN_ERRORS:
                raise FatalError(
                    code,
                    _clean(data.get("errmsg", "")),
                    f"WeChat refused the access_token right after renewing it ({code}): another "
                    "program may be renewing this account's token; let only one do it",
                )
        _raise_for(path, data, accept)
        return data

    # --- messages -----------------------------------------------------------------------

    async def send_text(self, openid: str, content: str) -> None:
        """A customer-service text message to one follower inside the 48-hour window."""
        body = {"touser": openid, "msgtype": "text", "text": {"content": content}}
        await self._call("/cgi-bin/message/custom/send", body)

    async def mass_send(self, openids: Sequence[str], content: str, clientmsgid: str) -> str:
        """A mass send to 2..10,000 openids (service accounts); returns its msg_id.

        A send with this clientmsgid that already exists (45065) counts as done: its msg_id
        is returned, so retrying or resuming cannot reach anyone twice.
        """
        if not 2 <= len(openids) <= 10000:
            raise ValueError(f"mass_send needs 2 to 10,000 openids, got {len(openids)}")
        body = {"touser": list(openids), **_mass_text(content, clientmsgid)}
        data = await self._call("/cgi-bin/message/mass/send", body, accept=frozenset({MASS_EXISTS}))
        return str(data.get("msg_id", ""))

    async def mass_sendall(self, tag_id: int, content: str, clientmsgid: str) -> str:
        """A mass send to everyone with one tag (subscription accounts); returns its msg_id."""
        body = {
            "filter": {"is_to_all": False, "tag_id": tag_id},
            **_mass_text(content, clientmsgid),
        }
        path = "/cgi-bin/message/mass/sendall"
        data = await self._call(path, body, accept=frozenset({MASS_EXISTS}))
        return str(data.get("msg_id", ""))

    async def mass_preview(self, openid: str, content: str) -> None:
        """The mass-send preview to one follower (the editor's own openid)."""
        body = {"touser": openid, "msgtype": "text", "text": {"content": content}}
        await self._call("/cgi-bin/message/mass/preview", body)

    # --- tags ---------------------------------------------------------------------------

    async def tags(self) -> list[Tag]:
        data = await self._call("/cgi-bin/tags/get", None, method="GET")
        raw = data.get("tags")
        tags = raw if isinstance(raw, list) else []
        return [
            Tag(int(t["id"]), str(t["name"]), int(t.get("count", 0)))
            for t in tags
            if isinstance(t, dict) and "id" in t and "name" in t
        ]

    async def create_tag(self, name: str) -> int:
        return _tag_id(await self._call("/cgi-bin/tags/create", {"tag": {"name": name}}))

    async def get_or_create_tag(self, name: str) -> int:
        """The id of the tag called `name`, created when the account has none."""
        for tag in await self.tags():
            if tag.name == name:
                return tag.id
        body = {"tag": {"name": name}}
        data = await self._call("/cgi-bin/tags/create", body, accept=frozenset({TAG_EXISTS}))
        if _errcode(data) != TAG_EXISTS:
            return _tag_id(data)
        for tag in await self.tags():  # created meanwhile by someone else
            if tag.name == name:
                return tag.id
        raise FatalError(TAG_EXISTS, "tag exists", f"tag {name!r} exists but is not listed")

    async def tag_users(self, tag_id: int, openids: Iterable[str]) -> None:
        """Put openids under the tag, 50 per call."""
        await self._batch("/cgi-bin/tags/members/batchtagging", tag_id, openids)

    async def untag_users(self, tag_id: int, openids: Iterable[str]) -> None:
        """Take openids out of the tag, 50 per call."""
        await self._batch("/cgi-bin/tags/members/batchuntagging", tag_id, openids)

    async def _batch(self, path: str, tag_id: int, openids: Iterable[str]) -> None:
        chunk: list[str] = []
        for openid in openids:
            chunk.append(openid)
            if len(chunk) == TAG_BATCH:
                await self._call(path, {"openid_list": chunk, "tagid": tag_id})
                chunk = []
        if chunk:
            await self._call(path, {"openid_list": chunk, "tagid": tag_id})

    async def tag_members(self, tag_id: int) -> AsyncIterator[str]:
        """Every openid under the tag, page by page (10,000 a page)."""
        next_openid = ""
        while True:
            data = await self._call(
                "/cgi-bin/user/tag/get", {"tagid": tag_id, "next_openid": next_openid}
            )
            page = data.get("data")
            openids = page.get("openid") if isinstance(page, dict) else None
            if not isinstance(openids, list) or not openids:
                return
            for openid in openids:
                yield str(openid)
            following = data.get("next_openid")
            if not isinstance(following, str) or not following or following == next_openid:
                return
            next_openid = following


def _mass_text(content: str, clientmsgid: str) -> dict[str, Any]:
    if not clientmsgid or len(clientmsgid.encode()) > 64:
        raise ValueError("clientmsgid must be 1 to 64 bytes")
    return {"msgtype": "text", "text": {"content": content}, "clientmsgid": clientmsgid}


def _tag_id(data: dict[str, Any]) -> int:
    tag = data.get("tag")
    if not isinstance(tag, dict) or not isinstance(tag.get("id"), int):
        raise FatalError(ERR_BAD_ANSWER, "no tag id", "/cgi-bin/tags/create gave no tag id")
    return int(tag["id"])
