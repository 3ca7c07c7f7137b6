"""`neuraltalk menu push|show|delete`: the account's custom menu (自定义菜单), wechat.menu_file."""

from __future__ import annotations

import asyncio

import click

from bot.cli.group import Context, pass_ctx


@click.group()
def menu() -> None:
    """The account's custom menu: publish wechat.menu_file, show or delete the current one."""


@menu.command()
@pass_ctx
def push(ctx: Context) -> None:
    """Validate wechat.menu_file (menu.yaml) and publish it as the account's menu."""
    from bot.account import menu_path, push_menu

    sent = asyncio.run(push_menu(ctx.settings))
    click.echo(f"published {menu_path(ctx.settings)}: {sent.summary()}")
    for line in sent.lines():
        click.echo(f"  {line}")
    click.echo("followers see it the next time they open the account (WeChat may take 5 minutes)")


@menu.command()
@pass_ctx
def show(ctx: Context) -> None:
    """Print the account's current menu, as followers see it."""
    from bot.account import show_menu

    current = asyncio.run(show_menu(ctx.settings))
    if current is None:
        click.echo("the account has no menu: `neuraltalk menu push` publishes wechat.menu_file")
        return
    for line in current.lines():
        click.echo(line)


@menu.command()
@pass_ctx
def delete(ctx: Context) -> None:
    """Remove the account's menu."""
    from bot.account import delete_menu

    asyncio.run(delete_menu(ctx.settings))
    click.echo("deleted the account's menu; `neuraltalk menu push` publishes it again")
