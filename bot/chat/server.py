"""`neuraltalk serve`: run the webhook on server.host:server.port until interrupted.

The connections go through bot.chat.connections.Guard (a limit, idle sockets closed, EMFILE
quiet); serve() is the same for the command and for tests. With server.workers above 1,
bot.chat.workers runs several of these processes on the port (SO_REUSEPORT).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from bot import eventloop
from bot.chat.app import CONNECTIONS, Pages, create_app
from bot.chat.connections import quiet_emfile
from bot.chat.verify import mode_of
from bot.config import Settings

log = logging.getLogger(__name__)


def chat_hint(settings: Settings) -> str:
    """How to talk to this server from another terminal."""
    host = settings.server.host
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    config = "" if settings.source == "built-in defaults" else f" --config {settings.source}"
    url = f"http://{host}:{settings.server.port}/wechat"
    return f"chat with it from another terminal: .venv/bin/neuraltalk{config} chat --url {url}"


@contextlib.asynccontextmanager
async def serve(
    app: web.Application,
    host: str,
    port: int,
    access_log: logging.Logger | None = None,
    reuse_port: bool = False,
) -> AsyncIterator[int]:
    """Serve `app` on host:port (0: a free port) under its connection guard; yields the port.
    reuse_port: share the port with other processes (SO_REUSEPORT), as workers do."""
    # lingering_time: how long an unread body is drained after an early answer (408, 413)
    runner = web.AppRunner(app, access_log=access_log, lingering_time=1.0)
    await runner.setup()
    loop = asyncio.get_running_loop()
    quiet_emfile(loop)
    guard = app[CONNECTIONS]
    handler = runner.server
    assert handler is not None  # set by setup()
    handler.request_handler = guard.counting(handler.request_handler)  # before any connection
    server = await loop.create_server(
        lambda: guard.wrap(handler()), host, port, backlog=512, reuse_port=reuse_port or None
    )
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await runner.cleanup()


async def serve_forever(
    settings: Settings,
    debug: bool,
    announce: Callable[[], None],
    pages: Pages | None = None,
    reuse_port: bool = False,
) -> None:
    """Serve until SIGINT or SIGTERM (docker stop), then close cleanly. `pages`: more routes on
    the same application (the web archive)."""
    host, port = settings.server.host, settings.server.port
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    app = create_app(settings, pages=pages)
    async with serve(app, host, port, log if debug else None, reuse_port):
        announce()
        await stop.wait()


def setup_logging(debug: bool, name: str = "") -> None:
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO,
        format=f"%(asctime)s %(levelname)s {name}%(name)s: %(message)s",
    )
    if not debug:
        logging.getLogger("alembic").setLevel(logging.WARNING)  # migration chatter at start-up


def announcement(
    settings: Settings, hint: bool, workers: int = 1, pages: bool = False
) -> Callable[[], None]:
    """What is printed once the server listens."""
    host, port = settings.server.host, settings.server.port
    mode = mode_of(settings.wechat)
    how = f"{mode} mode" + (f", {workers} workers" if workers > 1 else "")

    def announce() -> None:
        print(f"neuraltalk webhook on http://{host}:{port}/wechat ({how}); Ctrl-C stops it")
        print(f"health: http://{host}:{port}/healthz; metrics: http://{host}:{port}/metrics")
        if pages:
            print(f"archive pages: http://{host}:{port}/")
        if hint:
            print(chat_hint(settings))
        sys.stdout.flush()

    return announce


def run(
    settings: Settings, debug: bool = False, hint: bool = False, pages: Pages | None = None
) -> None:
    """Serve until Ctrl-C; the archive and store are opened once, at start-up. `pages`: more
    routes on the same application (the web archive). With server.workers above 1 the
    processes of bot.chat.workers serve instead."""
    if settings.server.workers > 1:
        from bot.chat import workers

        workers.run(settings, debug, hint, pages)
        return
    setup_logging(debug)
    announce = announcement(settings, hint, pages=pages is not None)
    with contextlib.suppress(KeyboardInterrupt):
        eventloop.run(serve_forever(settings, debug, announce, pages))
