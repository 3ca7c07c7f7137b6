"""The async client of the WeChat API: the token, customer-service and mass sends.

Every call goes to `base_url` (settings.wechat.api_base_url), so tests and rehearsals can point it
at `neuraltalk mock-wechat`. Failures are raised as bot.wechat.errors' classes (re-exported
here): TransientError after a bounded number of retries with exponential backoff and jitter,
RecipientError at once (not retried), FatalError at once with what to fix.

The access_token is access_token.py's (TokenStore and MemoryTokenStore re-exported here). When
the API refuses a token (40001, 40014, 42001), it is renewed once with force_refresh and the
call retried with the new one. Only what WeChat provably did not take is retried: a
customer-service send whose answer was lost raises AnswerLost at once (it may have been
delivered); mass sends are safe to retry (clientmsgid). Neither the secret nor the
token is logged or put into an error message.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from yarl import URL

from bot.wechat.access_token import AccessToken, MemoryTokenStore, SharedLock, TokenStore
from bot.wechat.errors import (
    ERR_BAD_ANSWER,
    ERR_HTTP,
    ERR_NETWORK,
    MASS_EXISTS,
    TOKEN_ERRORS,
    AnswerLost,
    FatalError,
    RecipientError,
    TransientError,
    Unreachable,
    WeChatError,
    clean,
    errcode_of,
    raise_for,
)
from bot.wechat.transport import Transport, to_json

__all__ = [
    "ERR_BAD_ANSWER",
    "ERR_HTTP",
    "ERR_NETWORK",
    "AnswerLost",
    "FatalError",
    "MemoryTokenStore",
    "RecipientError",
    "RetryPolicy",
    "TokenStore",
    "TransientError",
    "Unreachable",
    "WeChatAPI",
    "WeChatError",
]

log = logging.getLogger(__name__)

UNREACHABLE_ATTEMPTS = 3  # connection refused: a short bounded retry, then stop


@dataclass(frozen=True)
class RetryPolicy:
    """How transient errors are retried: attempts in all, and the backoff in seconds."""

    attempts: int = 5
    initial: float = 0.5
    maximum: float = 30.0
    jitter: float = 1.0


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
        token_lock: SharedLock | None = None,
    ) -> None:
        self._http = Transport(session, base_url, timeout)
        self._appid = appid
        self._token = AccessToken(self._http, appid, secret, token_store, token_lock)
        self._retry = retry or RetryPolicy()

    def __repr__(self) -> str:  # never show the secret or the token
        return f"WeChatAPI({self._http.base!r}, appid={self._appid!r})"

    async def access_token(self) -> str:
        """A token not yet due for renewal (see bot.wechat.access_token.AccessToken).

        An unreachable API is retried briefly, then a FatalError naming wechat.api_base_url.
        """
        for attempt in range(1, UNREACHABLE_ATTEMPTS + 1):
            try:
                return await self._token.get()
            except Unreachable as exc:
                if attempt == UNREACHABLE_ATTEMPTS:
                    raise self._unreachable(exc) from None
                await asyncio.sleep(0.5 * attempt)
        raise AssertionError("unreachable")

    # --- calls --------------------------------------------------------------------------

    async def call(
        self,
        path: str,
        body: dict[str, Any] | bytes | None,
        method: str = "POST",
        accept: frozenset[int] = frozenset(),
        idempotent: bool = True,
    ) -> dict[str, Any]:
        """Call path with the token; what WeChat provably did not take is retried with backoff.

        Unreachable (nothing written) is retried briefly, then a FatalError naming
        wechat.api_base_url. AnswerLost (written, no answer) is retried only when the call is
        idempotent; a customer-service send raises it at once (it may have been delivered).
        A plain loop rather than tenacity: tenacity costs about 55 µs a call, a sixth of a
        send's CPU time, and a broadcast makes a call per recipient.
        """
        data = to_json(body) if isinstance(body, dict) else body
        policy = self._retry
        for attempt in range(1, policy.attempts + 1):
            try:
                return await self._call_once(path, data, method, accept)
            except Unreachable as exc:
                if attempt >= min(policy.attempts, UNREACHABLE_ATTEMPTS):
                    raise self._unreachable(exc) from None
                delay = min(policy.initial, 0.5) * attempt
            except TransientError as exc:
                if attempt >= policy.attempts or (isinstance(exc, AnswerLost) and not idempotent):
                    raise
                backoff = min(policy.maximum, policy.initial * 2 ** (attempt - 1))
                delay = backoff + random.uniform(0, policy.jitter)
            log.warning("%s failed; retry %d in %.2f s", path, attempt, delay)
            await asyncio.sleep(delay)
        raise ValueError("RetryPolicy.attempts must be at least 1")

    def _unreachable(self, exc: Unreachable) -> FatalError:
        """The one line for an API that cannot be reached: where it was looked for, and why."""
        base = self._http.base
        host = URL(base).host or ""
        hint = (
            " (is `neuraltalk mock-wechat` running?)"
            if host in ("127.0.0.1", "localhost", "::1")
            else ": check the address and the network"
        )
        return FatalError(
            exc.errcode,
            exc.errmsg,
            f"cannot reach the WeChat API at wechat.api_base_url {base}: {exc.errmsg}{hint}",
        )

    async def _call_once(
        self, path: str, data: bytes | None, method: str, accept: frozenset[int]
    ) -> dict[str, Any]:
        """One call; a refused token is renewed (once for all senders) and the call retried.

        A refusal of a token fetched before this call saw a refusal is expected (it expired
        while requests were on their way): the call is retried with the current token. Only a
        refusal of a token fetched after that means another program renews it.
        """
        refused_at = -1  # the token generation when this call saw a refusal
        for _ in range(3):
            token = await self._token.get()
            generation = self._token.generation
            answer = await self._http.request(method, path, self._http.token_url(path, token), data)
            code = errcode_of(answer)
            if code not in TOKEN_ERRORS:
                break
            if 0 <= refused_at < generation:  # renewed after our refusal, and refused again
                raise FatalError(
                    code,
                    clean(answer.get("errmsg", "")),
                    f"WeChat refused the access_token right after renewing it ({code}): another "
                    "program may be renewing this account's token; let only one do it",
                )
            refused_at = self._token.generation
            await self._token.renew_refused(token)
        raise_for(path, answer, accept)
        return answer

    # --- messages -----------------------------------------------------------------------

    async def send_text(self, openid: str, content: str) -> None:
        """A customer-service text message to one follower inside the 48-hour window."""
        body = b'{"touser":%s,"msgtype":"text","text":{"content":%s}}' % (
            to_json(openid),
            _json_text(content),
        )
        await self.call("/cgi-bin/message/custom/send", body, idempotent=False)

    async def mass_send(self, openids: Sequence[str], content: str, clientmsgid: str) -> str:
        """A mass send to 2..10,000 openids (service accounts); returns its msg_id.

        A send with this clientmsgid that already exists (45065) counts as done: its msg_id
        is returned, so retrying or resuming cannot reach anyone twice.
        """
        if not 2 <= len(openids) <= 10000:
            raise ValueError(f"mass_send needs 2 to 10,000 openids, got {len(openids)}")
        body = {"touser": list(openids), **_mass_text(content, clientmsgid)}
        data = await self.call("/cgi-bin/message/mass/send", body, accept=frozenset({MASS_EXISTS}))
        return str(data.get("msg_id", ""))

    async def mass_sendall(self, tag_id: int, content: str, clientmsgid: str) -> str:
        """A mass send to everyone with one tag (subscription accounts); returns its msg_id."""
        body = {
            "filter": {"is_to_all": False, "tag_id": tag_id},
            **_mass_text(content, clientmsgid),
        }
        path = "/cgi-bin/message/mass/sendall"
        data = await self.call(path, body, accept=frozenset({MASS_EXISTS}))
        return str(data.get("msg_id", ""))

    async def mass_preview(self, openid: str, content: str) -> None:
        """The mass-send preview to one follower (the editor's own openid)."""
        body = {"touser": openid, "msgtype": "text", "text": {"content": content}}
        await self.call("/cgi-bin/message/mass/preview", body, idempotent=False)


@functools.lru_cache(maxsize=16)
def _json_text(content: str) -> bytes:
    """A message text as JSON, encoded once for all its recipients (a broadcast has few)."""
    return to_json(content)


def _mass_text(content: str, clientmsgid: str) -> dict[str, Any]:
    if not clientmsgid or len(clientmsgid.encode()) > 64:
        raise ValueError("clientmsgid must be 1 to 64 bytes")
    return {"msgtype": "text", "text": {"content": content}, "clientmsgid": clientmsgid}
