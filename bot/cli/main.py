"""The `neuraltalk` command: the group (group.py) with one module of commands per group of work.

Each command parses its flags and calls one function of the packages below; modules are
imported inside the commands so that `neuraltalk search` starts fast and does not load the web
server, the database layer or the WeChat SDK.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bot.cli import archive, broadcast, menu, qrcode, server, subscribers
from bot.cli.group import cli
from bot.config import example_text
from bot.errors import UserError
from bot.menu import EXAMPLE as MENU_EXAMPLE


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False), default="neuraltalk.yaml")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: str, force: bool) -> None:
    """Write a commented example configuration to PATH (default ./neuraltalk.yaml), and an
    example menu.yaml beside it."""
    target = Path(path)
    if target.exists() and not force:
        raise UserError(f"{target} already exists; use --force to overwrite it")
    target.write_text(example_text(), encoding="utf-8")
    (target.parent / "data").mkdir(exist_ok=True)  # the example's storage.url and index_dir
    click.echo(f"wrote {target}: edit it, or set NEURALTALK_<SECTION>_<KEY> variables")
    menu_file = target.parent / "menu.yaml"  # the example's wechat.menu_file
    if force or not menu_file.exists():
        menu_file.write_text(MENU_EXAMPLE, encoding="utf-8")
        click.echo(f"wrote {menu_file}: the account's menu, published by `neuraltalk menu push`")


for command in (
    archive.parse,
    archive.ingest,
    archive.search,
    server.serve,
    server.chat,
    server.mock_wechat,
    broadcast.broadcast,
    broadcast.campaigns,
    subscribers.subscribers,
    menu.menu,
    qrcode.qrcode,
):
    cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    """Entry point: `neuraltalk ...` (errors are the NeuralTalk group's: one line each)."""
    cli.main(args=sys.argv[1:] if argv is None else argv, prog_name="neuraltalk")


if __name__ == "__main__":
    main()
