"""`neuraltalk broadcast ISSUE` and `neuraltalk campaigns`: the broadcast's side.

The flags become one bot.broadcast.request.Request, handed to bot.broadcast.run.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from bot import eventloop
from bot.cli.group import Context, pass_ctx


@click.command()
@click.argument("issue")
@click.option(
    "--channel",
    type=click.Choice(["auto", "custom", "mass"]),
    default="auto",
    show_default=True,
    help="custom: one message each; mass: WeChat's mass send; auto: custom, else mass.",
)
@click.option("--dry-run", is_flag=True, help="Show recipients and texts; send nothing.")
@click.option("--preview", metavar="OPENID", help="Send to this one openid only.")
@click.option("--yes", is_flag=True, help="Do not ask before sending.")
@click.option("--rate", type=float, help="Messages per second (0: no limit).")
@click.option("--concurrency", type=click.IntRange(1, 1000), help="Sends in flight at once.")
@click.option(
    "--retry-in-doubt", is_flag=True, help="Re-send the deliveries in doubt (maybe delivered)."
)
@click.option(
    "--forget-in-doubt", is_flag=True, help="Count the deliveries in doubt as delivered; finish."
)
@pass_ctx
def broadcast(ctx: Context, issue: str, **flags: Any) -> None:
    """Send an ingested issue to its subscribers.

    Exit codes: 0 finished; 1 stopped on an error, work left; 3 all sent but some in doubt;
    130 interrupted (Ctrl-C), 143 terminated (SIGTERM). Running it again resumes.
    """
    from bot.broadcast.request import Request
    from bot.broadcast.run import run_broadcast
    from bot.rehearsal import storage_settings

    settings = storage_settings(ctx.settings)  # a rehearsal's own database, see rehearsal.py
    request = Request.of(settings, issue, **flags)
    sys.exit(eventloop.run(run_broadcast(settings, request)))


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the campaigns as JSON.")
@pass_ctx
def campaigns(ctx: Context, as_json: bool) -> None:
    """List broadcast campaigns with status and counts."""
    from bot.broadcast.run import run_campaigns
    from bot.broadcast.view import campaigns_table
    from bot.rehearsal import storage_settings

    rows = eventloop.run(run_campaigns(storage_settings(ctx.settings)))
    if as_json:
        click.echo(json.dumps({"campaigns": rows}, ensure_ascii=False, indent=2))
    elif rows:
        campaigns_table(rows)
    else:
        click.echo("no campaigns yet: `neuraltalk broadcast ISSUE` starts one")
