"""`neuraltalk subscribers [--json]`, `subscribers add OPENID [--topic T]` and `subscribers
remove OPENID [--topic T]`: the store's side of the subscription service."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

import click
from rich import box
from rich.console import Console
from rich.table import Table

from bot.cli.group import Context, pass_ctx
from bot.config import Settings
from bot.errors import UserError

if TYPE_CHECKING:  # imported when a command runs, so that `neuraltalk search` starts fast
    from bot.store.store import Store
    from bot.store.subscribers import Subscriber

T = TypeVar("T")
TABLE_ROWS = 1000  # the table shows this many; --json lists everyone
TIME = "%Y-%m-%d %H:%M"  # both times of the subscribers table, in UTC


def _with_store(settings: Settings, work: Callable[[Store], Awaitable[T]]) -> T:
    """Open the store of storage.url (a rehearsal's own, see rehearsal.py), run `work(store)`."""
    from bot.rehearsal import storage_settings
    from bot.store.store import Store

    settings = storage_settings(settings)

    async def run() -> T:
        store = await Store.open(settings.storage.url)
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(run())


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def subscriber_json(sub: Subscriber) -> dict[str, object]:
    """One subscriber as `neuraltalk subscribers --json` prints it."""
    return {
        "openid": sub.openid,
        "status": sub.status,
        "all_issues": sub.all_issues,
        "topics": list(sub.topics),
        "subscribed_at": _iso(sub.subscribed_at),
        "last_interaction": _iso(sub.last_interaction),
    }


def subscribers_command(settings: Settings, as_json: bool) -> int:
    """List subscribers and the counts; --json streams them, page by page."""

    async def work(store: Store) -> int:
        if as_json:
            await _print_json(store)
        else:
            await _print_table(store)
        return 0

    return _with_store(settings, work)


async def _print_json(store: Store) -> None:
    click.echo('{"subscribers": [', nl=False)
    first = True
    async for page in store.subscriber_pages(page_size=1000):
        for sub in page:
            separator = "\n  " if first else ",\n  "
            click.echo(separator + json.dumps(subscriber_json(sub), ensure_ascii=False), nl=False)
            first = False
    counts = await store.subscriber_counts()
    summary = {
        "active": counts.active,
        "unsubscribed": counts.unsubscribed,
        "topics": counts.topics,
    }
    click.echo(("]" if first else "\n]") + ', "counts": ' + json.dumps(summary, ensure_ascii=False))
    click.echo("}")


async def _print_table(store: Store) -> None:
    console = Console()
    if not console.is_terminal:
        console.width = 120  # a pipe or a file: no need to squeeze into 80 columns
    counts = await store.subscriber_counts()
    if counts.active + counts.unsubscribed == 0:
        console.print("no subscribers yet: add one with `neuraltalk subscribers add OPENID`")
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, caption="times in UTC")
    for name in ("openid", "status", "all", "topics", "since", "last seen"):
        table.add_column(name, no_wrap=name != "topics")
    shown = 0
    async for page in store.subscriber_pages(page_size=TABLE_ROWS):
        for sub in page[: TABLE_ROWS - shown]:
            table.add_row(
                sub.openid,
                sub.status,
                "yes" if sub.all_issues else "no",
                ", ".join(sub.topics),
                f"{sub.subscribed_at:{TIME}}",
                "-" if sub.last_interaction is None else f"{sub.last_interaction:{TIME}}",
            )
            shown += 1
        if shown >= TABLE_ROWS:
            break
    console.print(table)
    total = counts.active + counts.unsubscribed
    if shown < total:
        console.print(f"showing {shown} of {total}; `neuraltalk subscribers --json` lists all")
    topics = ", ".join(f"{topic} {n}" for topic, n in counts.topics.items()) or "none"
    console.print(f"{counts.active} active, {counts.unsubscribed} unsubscribed; topics: {topics}")


def subscribers_add_command(settings: Settings, openid: str, topic: str | None) -> int:
    """Subscribe OPENID to every issue, or to --topic; say what changed."""
    from bot.store.store import check_openid, normalize_topic

    check_openid(openid)
    wanted = "every issue" if topic is None else f"topic {normalize_topic(topic)}"

    async def work(store: Store) -> bool:
        return bool(await store.subscribe(openid, topic))

    if _with_store(settings, work):
        click.echo(f"subscribed {openid} to {wanted}")
    else:
        click.echo(f"{openid} already subscribes to {wanted}; nothing changed")
    return 0


def subscribers_remove_command(settings: Settings, openid: str, topic: str | None = None) -> int:
    """Unsubscribe OPENID from every issue and every topic, or from --topic; say what changed."""
    from bot.store.store import check_openid, normalize_topic

    check_openid(openid)
    wanted = None if topic is None else normalize_topic(topic)

    async def work(store: Store) -> tuple[Subscriber | None, bool]:
        before = await store.subscriber(openid)
        if before is None or before.status != "active":
            return before, False
        if wanted is not None:
            return before, bool(await store.unsubscribe(openid, wanted))
        await store.unsubscribe_all(openid)
        return before, True

    before, changed = _with_store(settings, work)
    if before is None:
        raise UserError(f"no subscriber {openid}; `neuraltalk subscribers` lists them")
    if before.status != "active":
        click.echo(f"{openid} is already unsubscribed; nothing changed")
        return 0
    if wanted is not None:
        if changed:
            click.echo(f"unsubscribed {openid} from topic {wanted}")
        else:
            click.echo(f"{openid} does not subscribe to topic {wanted}; nothing changed")
        return 0
    left = (["every issue"] if before.all_issues else []) + [f"topic {t}" for t in before.topics]
    click.echo(f"unsubscribed {openid} from {', '.join(left)}")
    return 0


# --- the commands ---------------------------------------------------------------------------


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print every subscriber as JSON.")
@click.pass_context
def subscribers(click_ctx: click.Context, as_json: bool) -> None:
    """List subscribers and topics (or add/remove one)."""
    if click_ctx.invoked_subcommand is None:
        sys.exit(subscribers_command(click_ctx.obj.settings, as_json=as_json))


@subscribers.command("add")
@click.argument("openid")
@click.option("--topic", help="Subscribe to this topic only.")
@pass_ctx
def subscribers_add(ctx: Context, openid: str, topic: str | None) -> None:
    """Subscribe OPENID (to every issue, or to --topic)."""
    sys.exit(subscribers_add_command(ctx.settings, openid, topic=topic))


@subscribers.command("remove")
@click.argument("openid")
@click.option("--topic", help="Unsubscribe from this topic only.")
@pass_ctx
def subscribers_remove(ctx: Context, openid: str, topic: str | None) -> None:
    """Unsubscribe OPENID from everything (or from --topic only)."""
    sys.exit(subscribers_remove_command(ctx.settings, openid, topic=topic))
