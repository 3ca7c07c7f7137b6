"""GET /metrics: the Prometheus text format of bot.metrics, to loopback or a Bearer token.

Without server.metrics_token only loopback may read it (a Prometheus on the same host, or a
tunnel); with it, anyone sending `Authorization: Bearer <token>`, and no one else. A reverse
proxy on the same host makes every request look local: set the token there, or do not forward
/metrics.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.metrics import CONTENT_TYPE, Metrics

Handler = Callable[[web.Request], Awaitable[web.Response]]


def loopback(remote: str | None) -> bool:
    try:
        return remote is not None and ipaddress.ip_address(remote).is_loopback
    except ValueError:
        return False


def allowed(request: web.Request, token: str) -> bool:
    if not token:
        return loopback(request.remote)
    given = request.headers.get("Authorization", "").encode("utf-8", "replace")
    return hmac.compare_digest(given, f"Bearer {token}".encode())


def metrics_page(metrics: Metrics, token: str) -> Handler:
    """The /metrics handler."""

    async def handle(request: web.Request) -> web.Response:
        if not allowed(request, token):
            why = "a wrong token" if token else "not from loopback (set server.metrics_token)"
            return web.Response(status=403, text=f"/metrics refused: {why}\n")
        return web.Response(body=metrics.exposition(), headers={"Content-Type": CONTENT_TYPE})

    return handle
