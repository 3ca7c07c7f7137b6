"""The WeChat API's access_token: where it is kept, and its renewal, one at a time.

The token comes from POST /cgi-bin/stable_token, which returns the same token while it is
valid (so two processes do not invalidate each other's), falling back for good to GET
/cgi-bin/token when the server has no stable_token (HTTP 404 or 405). It is kept in a TokenStore
with its expiry and renewed 5 minutes before it runs out, one renewal at a time however many
senders wait (a lock and a second check); `shared_lock`, when given, is held around a renewal
too, so that processes on several hosts renew one at a time (the second finds the first's
token in the store). A token the API refused is renewed with
force_refresh, once however many senders saw the refusal. Neither the secret nor the token is
logged or put into an error message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from bot.wechat.errors import ERR_BAD_ANSWER, FatalError, NoSuchEndpoint, raise_for
from bot.wechat.transport import Transport, to_json

log = logging.getLogger(__name__)

RENEW_MARGIN = timedelta(minutes=5)


class TokenStore(Protocol):
    """Where the access_token is kept with its expiry (bot.store.store.Store implements it too)."""

    async def load_token(self) -> tuple[str, datetime] | None: ...

    async def save_token(self, token: str, expires_at: datetime) -> None: ...


SharedLock = Callable[[], AbstractAsyncContextManager[Any]]


def _no_lock() -> AbstractAsyncContextManager[Any]:
    return contextlib.nullcontext()


class MemoryTokenStore:
    """A TokenStore in memory, for tests and one-off commands."""

    def __init__(self) -> None:
        self.value: tuple[str, datetime] | None = None

    async def load_token(self) -> tuple[str, datetime] | None:
        return self.value

    async def save_token(self, token: str, expires_at: datetime) -> None:
        self.value = (token, expires_at)


class AccessToken:
    """One account's access_token over one Transport; safe to share between tasks."""

    def __init__(
        self,
        http: Transport,
        appid: str,
        secret: str,
        store: TokenStore,
        shared_lock: SharedLock | None = None,
    ) -> None:
        self._http = http
        self._appid = appid
        self._secret = secret
        self._store = store
        self._lock = asyncio.Lock()
        self._shared_lock = shared_lock or _no_lock
        self._token: str | None = None
        self._renew_at = datetime.min.replace(tzinfo=UTC)
        self._use_stable = True
        self.generation = 0  # how many tokens this process has adopted

    def __repr__(self) -> str:  # never show the secret or the token
        return f"AccessToken(appid={self._appid!r})"

    async def get(self) -> str:
        """A token not yet due for renewal; fetched (or read from the store) only when needed."""
        token = self._token
        if token is not None and datetime.now(UTC) < self._renew_at:
            return token
        async with self._lock:
            if self._token is None or datetime.now(UTC) >= self._renew_at:
                await self._replace(token, force=False)
            assert self._token is not None
            return self._token

    async def renew_refused(self, refused: str) -> str:
        """The API refused `refused`: renew it, once however many senders saw the refusal."""
        async with self._lock:
            if self._token is None or self._token == refused:
                await self._replace(refused, force=True)
            assert self._token is not None
            return self._token

    async def _replace(self, old: str | None, force: bool) -> None:
        """Take the store's token when another process renewed `old` already, else fetch one."""
        async with self._shared_lock():
            stored = await self._stored()
            if stored is not None and stored[0] != old and self._fresh(stored[1]):
                self._adopt(*stored)
            else:
                await self._fetch(force=force)

    async def _stored(self) -> tuple[str, datetime] | None:
        """The store's token; a naive expiry (SQLite keeps no time zone) is taken as UTC."""
        stored = await self._store.load_token()
        if stored is None or stored[1].tzinfo is not None:
            return stored
        return stored[0], stored[1].replace(tzinfo=UTC)

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
        self.generation += 1

    async def _fetch(self, force: bool) -> None:
        """A new token from the API, saved in the store and adopted."""
        path, data = await self._ask(force)
        raise_for(path, data, frozenset())
        token, expires_in = data.get("access_token"), data.get("expires_in")
        if not isinstance(token, str) or not token or not isinstance(expires_in, int):
            raise FatalError(ERR_BAD_ANSWER, "no access_token", f"{path} gave no usable token")
        expires_at = datetime.now(UTC) + timedelta(seconds=expires_in)
        await self._store.save_token(token, expires_at)
        self._adopt(token, expires_at)
        log.info("access_token renewed (force=%s), valid for %d s", force, expires_in)

    async def _ask(self, force: bool) -> tuple[str, dict[str, Any]]:
        """The path asked and its answer: stable_token, or /cgi-bin/token where there is none."""
        if self._use_stable:
            path = "/cgi-bin/stable_token"
            body = {
                "grant_type": "client_credential",
                "appid": self._appid,
                "secret": self._secret,
                "force_refresh": force,
            }
            try:
                return path, await self._http.request(
                    "POST", path, self._http.url(path), to_json(body)
                )
            except NoSuchEndpoint:
                log.info("no /cgi-bin/stable_token at %s: using /cgi-bin/token", self._http.base)
                self._use_stable = False
        path = "/cgi-bin/token"
        params = {"grant_type": "client_credential", "appid": self._appid}
        url = self._http.url(path).with_query(params | {"secret": self._secret})
        return path, await self._http.request("GET", path, url, None)
