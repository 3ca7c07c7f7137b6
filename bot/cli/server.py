"""`neuraltalk serve`, `neuraltalk chat` and `neuraltalk mock-wechat`: the servers and the
terminal chat (each imports its module only when it runs)."""

from __future__ import annotations

import sys

import click

from bot.cli.group import Context, pass_ctx
from bot.config import check_public_token, check_workers


@click.command()
@click.option("--host", help="Overrides server.host.")
@click.option("--port", type=int, help="Overrides server.port.")
@click.option("--workers", type=click.IntRange(1, 64), help="Overrides server.workers.")
@click.option("--hint", is_flag=True, hidden=True, help="Print how to chat with the server.")
@pass_ctx
def serve(
    ctx: Context, host: str | None, port: int | None, workers: int | None, hint: bool
) -> None:
    """Run the WeChat webhook server and the web archive (--workers N: N processes on the
    port, with redis.url)."""
    from bot import web as web_archive
    from bot.chat import server as serve_module

    settings = ctx.settings
    s = settings.server
    settings = settings.replace(
        server={"host": host or s.host, "port": port or s.port, "workers": workers or s.workers}
    )
    check_public_token(settings)
    check_workers(settings)
    serve_module.run(settings, debug=ctx.debug, hint=hint, pages=web_archive.mount)


@click.command()
@click.option("--openid", default="editor-trial", show_default=True, help="Who the bot sees.")
@click.option("--url", help="A running server's /wechat URL; default: an in-process app.")
@pass_ctx
def chat(ctx: Context, openid: str, url: str | None) -> None:
    """Talk to the bot in the terminal as a follower would."""
    from bot.chat import console as chat_module

    sys.exit(chat_module.run(ctx.settings, openid=openid, url=url))


@click.command("mock-wechat")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=8900, show_default=True, help="Port to listen on.")
@pass_ctx
def mock_wechat(ctx: Context, host: str, port: int) -> None:
    """Run a fake WeChat API on loopback that prints every message it receives."""
    from bot.fake_wechat import server as mock

    mock.run(host=host, port=port)
