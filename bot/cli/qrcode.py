"""`neuraltalk qrcode [--topic T] [--out FILE]`: a permanent QR code that subscribes whoever
scans it, to topic T or to every issue."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from bot.cli.group import Context, pass_ctx


@click.command()
@click.option("--topic", help="Subscribe the scanner to this topic (default: every issue).")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The PNG to write (default: qrcode-topic-T.png or qrcode-subscribe.png).",
)
@pass_ctx
def qrcode(ctx: Context, topic: str | None, out: Path | None) -> None:
    """Make a permanent QR code (scene topic:T, or subscribe) and write it as a PNG."""
    from bot.account import make_qrcode

    code, path = asyncio.run(make_qrcode(ctx.settings, topic, out))
    click.echo(
        f"wrote {path}: scanning it subscribes to " + (f"「{topic}」" if topic else "every issue")
    )
    click.echo(f"scene:  {code.scene}")
    click.echo(f"ticket: {code.ticket}")
    click.echo(f"url:    {code.url}")
