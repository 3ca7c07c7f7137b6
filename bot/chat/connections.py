"""Bounded connections: at most `limit` at once, and none held open without sending requests.

aiohttp has no header read timeout: a socket that sends half a request line is kept forever,
and a few hundred of them exhaust the descriptors (EMFILE). Guard wraps each connection's
protocol: a connection that has no request in progress and completed none in the last
`idle_timeout` seconds is closed; at the limit, the oldest such idle connection makes room for
the new one (or, if every connection is busy, the new one is refused). The body's own timeout
is the handler's (bot.chat.app). EMFILE from accept() is one warning a minute, not a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.web import BaseRequest, StreamResponse

log = logging.getLogger(__name__)

LIMIT = 1000
SPARE_FDS = 64  # descriptors kept for the store, the index, logs and the API client


def default_limit() -> int:
    """LIMIT, or fewer when the process may not open that many files (ulimit -n)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return LIMIT
    return max(16, min(LIMIT, soft - SPARE_FDS))


Handle = Callable[[BaseRequest], Awaitable[StreamResponse]]
IDLE_TIMEOUT = 5.0  # seconds to send a request's headers (and between keep-alive requests)


class Connection(asyncio.Protocol):
    """One client connection: aiohttp's protocol inside, and what the guard watches."""

    def __init__(self, guard: Guard, inner: asyncio.Protocol) -> None:
        self.guard = guard
        self.inner = inner
        self.transport: asyncio.BaseTransport | None = None
        self.busy = 0  # requests in progress
        self.served = 0  # requests whose headers arrived
        self._seen = -1
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.inner.connection_made(transport)
        self.guard.opened(self)
        self._timer = asyncio.get_running_loop().call_later(self.guard.idle_timeout, self.check)

    def check(self) -> None:
        """Close the connection if it did nothing useful since the last check."""
        if self.idle():
            log.debug("closing a connection that sent no request in %s s", self.guard.idle_timeout)
            self.close()
            return
        self._seen = self.served
        self._timer = asyncio.get_running_loop().call_later(self.guard.idle_timeout, self.check)

    def idle(self) -> bool:
        return self.busy == 0 and self.served == self._seen

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self.guard.closed(self)
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()


class Guard:
    """The connections of one server; `wrap` is its protocol factory's filter."""

    def __init__(self, limit: int | None = None, idle_timeout: float = IDLE_TIMEOUT) -> None:
        self.limit = default_limit() if limit is None else limit
        self.idle_timeout = idle_timeout
        self._open: dict[asyncio.BaseTransport, Connection] = {}  # oldest first
        self._refused_logged = 0.0

    def __len__(self) -> int:
        return len(self._open)

    def wrap(self, inner: asyncio.Protocol) -> Connection:
        return Connection(self, inner)

    def opened(self, conn: Connection) -> None:
        if len(self._open) >= self.limit:
            oldest_idle = next((c for c in self._open.values() if c.busy == 0), None)
            if oldest_idle is None:
                self._warn(f"{len(self._open)} connections, all busy: a new one refused")
                conn.close()
                return
            oldest_idle.close()
            self._open.pop(oldest_idle.transport, None)  # type: ignore[arg-type]
        assert conn.transport is not None
        self._open[conn.transport] = conn

    def closed(self, conn: Connection) -> None:
        if conn.transport is not None:
            self._open.pop(conn.transport, None)

    def counting(self, handle: Handle) -> Handle:
        """The server's request handler `handle`, marking each request in progress on its
        connection (its headers complete) while it runs. Around the whole application rather
        than as its middleware: a middleware costs every request several times as much."""
        connections = self._open

        async def counted(request: BaseRequest) -> StreamResponse:
            conn = connections.get(request.transport) if request.transport is not None else None
            if conn is None:
                return await handle(request)
            conn.busy += 1
            conn.served += 1
            try:
                return await handle(request)
            finally:
                conn.busy -= 1

        return counted

    def _warn(self, text: str) -> None:
        now = time.monotonic()
        if now - self._refused_logged > 60:
            self._refused_logged = now
            log.warning("%s", text)


def quiet_emfile(loop: asyncio.AbstractEventLoop) -> None:
    """asyncio logs a traceback for every accept() that fails with EMFILE; one warning a
    minute instead (it keeps serving the connections it has and retries accepting)."""
    default = loop.get_exception_handler()
    last = [0.0]

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, OSError) and exc.errno in (23, 24):  # ENFILE, EMFILE
            if time.monotonic() - last[0] > 60:
                last[0] = time.monotonic()
                log.warning("out of file descriptors (%s): not accepting for a moment", exc)
            return
        if default is not None:
            default(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)
