"""A fake WeChat API server over real HTTP, for tests and for rehearsing a broadcast.

`neuraltalk mock-wechat [--port N]` runs it on loopback and prints every message it receives;
point wechat.api_base_url at it. Tests use `serve_mock()` (a free loopback port) or
`create_mock_app()`. It answers /cgi-bin/token, /cgi-bin/stable_token, message/custom/send,
message/mass/send, message/mass/sendall, message/mass/preview, tags/get, tags/create,
tags/members/batchtagging, batchuntagging, user/tag/get, menu/create, menu/get,
get_current_selfmenu_info, menu/delete and qrcode/create as WeChat does, checks the
access_token (40001 unknown, 42001 expired), keeps clientmsgid idempotent (45065 with the
earlier msg_id) and logs every message per openid (a mass send to a tag is logged once per
member). Any appid and secret are accepted.

Control endpoints, so that another process can drive it:
    GET  /_mock/log?openid=&channel=&offset=&limit=   {"total": N, "records": [...]}
    GET  /_mock/stats       calls per path, token_calls, messages, per_openid counts
    GET  /_mock/requests    the last raw request bodies (UTF-8 text)
    GET|POST /_mock/faults  read or change the faults (POST a partial JSON object of Faults)
    POST /_mock/reset       forget everything; the body, if any, is the new faults
The faults are the fields of bot.fake_wechat.model.Faults.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from bot.errors import UserError
from bot.eventloop import new_event_loop
from bot.fake_wechat.model import DROP, Faults, Record
from bot.fake_wechat.state import MockWeChat

__all__ = ["MOCK_KEY", "Faults", "MockWeChat", "Record", "create_mock_app", "run", "serve_mock"]


async def _cgi(request: web.Request) -> web.StreamResponse:
    """Every /cgi-bin call, answered by the fake's state."""
    outcome = await request.app[MOCK_KEY].call(request.path, request.query, await request.read())
    if isinstance(outcome, dict):
        return web.json_response(outcome, dumps=_dumps)
    if outcome == DROP and request.transport is not None:
        request.transport.abort()
    return web.Response(status=outcome or 200)


async def _log(request: web.Request) -> web.Response:
    q = request.query
    records = request.app[MOCK_KEY].log
    if "openid" in q:
        records = [r for r in records if r.openid == q["openid"]]
    if "channel" in q:
        records = [r for r in records if r.channel == q["channel"]]
    try:
        offset, limit = int(q.get("offset", 0)), int(q.get("limit", len(records)))
    except ValueError:
        return web.json_response({"error": "offset and limit must be numbers"}, status=400)
    chosen = [r.as_json() for r in records[offset : offset + limit]]
    return web.json_response({"total": len(records), "records": chosen}, dumps=_dumps)


async def _stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[MOCK_KEY].stats(), dumps=_dumps)


async def _requests(request: web.Request) -> web.Response:
    sent = request.app[MOCK_KEY].requests
    bodies = [{"path": p, "body": b.decode("utf-8", "replace")} for p, b in sent]
    return web.json_response({"requests": bodies}, dumps=_dumps)


async def _faults(request: web.Request) -> web.Response:
    mock = request.app[MOCK_KEY]
    if request.method == "POST":
        try:
            mock.set_faults(Faults.parse(await request.json(), mock.faults))
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
    return web.json_response(dataclasses.asdict(mock.faults), dumps=_dumps)


async def _reset(request: web.Request) -> web.Response:
    try:
        faults = Faults.parse(await request.json()) if await request.read() else None
    except ValueError as exc:
        return web.json_response({"error": str(exc)}, status=400)
    request.app[MOCK_KEY].reset(faults)
    return web.json_response({"reset": True})


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)


MOCK_KEY = web.AppKey("mock_wechat", MockWeChat)


def create_mock_app(
    faults: Faults | dict[str, Any] | None = None, echo: bool = False
) -> web.Application:
    """The fake as an aiohttp application; its state is app[MOCK_KEY]."""
    if isinstance(faults, dict):
        faults = Faults.parse(faults)
    mock = MockWeChat(faults, echo=echo)
    app = web.Application(client_max_size=4 * 1024 * 1024)
    app[MOCK_KEY] = mock
    app.router.add_route("*", "/cgi-bin/{tail:.*}", _cgi)
    app.router.add_get("/_mock/log", _log)
    app.router.add_get("/_mock/stats", _stats)
    app.router.add_get("/_mock/requests", _requests)
    app.router.add_route("*", "/_mock/faults", _faults)
    app.router.add_post("/_mock/reset", _reset)
    return app


@asynccontextmanager
async def serve_mock(
    faults: Faults | dict[str, Any] | None = None, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[MockWeChat]:
    """Run the fake on a free loopback port: `async with serve_mock() as mock: mock.url`."""
    app = create_mock_app(faults)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    mock = app[MOCK_KEY]
    mock.url = f"http://{host}:{runner.addresses[0][1]}"
    try:
        yield mock
    finally:
        await runner.cleanup()


def run(host: str = "127.0.0.1", port: int = 8900) -> None:
    """`neuraltalk mock-wechat`: serve until Ctrl+C, printing every message received."""
    url = f"http://{host}:{port}"
    banner = (
        f"fake WeChat API on {url} (any appid and secret are accepted); Ctrl+C to stop\n"
        f"point the bot at it: wechat.api_base_url: {url} in neuraltalk.yaml,\n"
        f"  or NEURALTALK_WECHAT_API_BASE_URL={url}\n"
        f"log: {url}/_mock/log   faults: POST {url}/_mock/faults"
    )
    app = create_mock_app(echo=True)
    try:  # run_app prints the banner once the socket is bound
        web.run_app(
            app,
            host=host,
            port=port,
            access_log=None,
            print=lambda _: print(banner, flush=True),
            loop=new_event_loop(),
        )
    except OSError as exc:
        raise UserError(
            f"cannot listen on {host}:{port}: {exc.strerror}; try another --port"
        ) from None
