"""`neuraltalk serve`: run the webhook on server.host:server.port until interrupted."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.chat.app import create_app
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


def run(settings: Settings, debug: bool = False, hint: bool = False) -> None:
    """Serve until Ctrl-C; the archive and store are opened once, at start-up."""
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not debug:
        logging.getLogger("alembic").setLevel(logging.WARNING)  # migration chatter at start-up
    host, port = settings.server.host, settings.server.port
    mode = "safe mode available" if settings.wechat.encoding_aes_key else "plain mode"

    def announce(_: str) -> None:
        print(f"neuraltalk webhook on http://{host}:{port}/wechat ({mode}); Ctrl-C stops it")
        print(f"health: http://{host}:{port}/healthz")
        if hint:
            print(chat_hint(settings))

    web.run_app(
        create_app(settings),
        host=host,
        port=port,
        print=announce,
        access_log=log if debug else None,
    )
