"""`neuraltalk broadcast` from flags to report: find the issue, dry-run, preview, ask, send.

bot/cli/broadcast.py builds the Request and calls run_broadcast(); the display (progress and the
end report) is bot/broadcast/view.py's.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from functools import partial
from typing import Any

import aiohttp
import click

from bot.archive import open_archive
from bot.broadcast import view
from bot.broadcast.broadcaster import Broadcaster, plan, texts_for
from bot.broadcast.compose import Composer
from bot.broadcast.plan import PlanCounts, plan_counts
from bot.broadcast.request import Request
from bot.config import Settings
from bot.credentials import api_from_settings, check_credentials
from bot.errors import UserError
from bot.shared import Shared, token_lock
from bot.store.campaigns import Campaign, CampaignCounts
from bot.store.schema import DeliveryStatus
from bot.store.store import Store
from bot.wechat.api import FatalError, RecipientError, WeChatAPI, WeChatError
from index.search import Archive, IssueSummary

STATUSES = tuple(DeliveryStatus)


GRACE = 5.0  # seconds the requests in flight get after Ctrl-C / SIGTERM


def open_issue(settings: Settings, date: str) -> tuple[Archive, IssueSummary]:
    """The archive and the ingested issue of that date; UserError naming the newest ones."""
    archive = open_archive(settings)
    summary = archive.issue(date)
    if summary is None:
        newest = ", ".join(i.date for i in archive.issues()[:5]) or "none"
        archive.close()
        raise UserError(
            f"no ingested issue {date!r}; the newest are: {newest} "
            "(run `neuraltalk ingest` if the issue is new)"
        )
    return archive, summary


@asynccontextmanager
async def wechat_api(
    settings: Settings, store: Store, concurrency: int
) -> AsyncIterator[WeChatAPI]:
    """The API client of a run; with redis.url its token renewals take the lock the webhook's
    processes take (bot.shared), so that one renewal cannot revoke another's fresh token."""
    connector = aiohttp.TCPConnector(limit=concurrency + 4)
    redis = settings.redis
    shared = Shared(redis.url, redis.prefix) if redis.url else None
    lock = partial(token_lock, shared) if shared is not None else None
    try:
        async with aiohttp.ClientSession(connector=connector) as session:
            yield api_from_settings(session, settings.wechat, store, token_lock=lock)
    finally:
        if shared is not None:
            await shared.close()


async def run_broadcast(settings: Settings, req: Request) -> int:
    archive, summary = open_issue(settings, req.issue)
    try:
        composer = Composer(archive, summary, settings.archive.issue_url)
        store = await Store.open(settings.storage.url)
        try:
            return await _run(settings, req, store, composer)
        finally:
            await store.close()
    finally:
        archive.close()


async def _run(settings: Settings, req: Request, store: Store, composer: Composer) -> int:
    if req.dry_run:
        await _dry_run(settings, store, composer, req)
        return 0
    check_credentials(settings.wechat)  # before anything is planned or asked
    if req.preview:
        try:
            return await _preview(settings, store, composer, req.preview)
        except (UserError, FatalError):  # already say what to fix
            raise
        except WeChatError as exc:
            url = settings.wechat.api_base_url
            raise UserError(f"preview not sent: the WeChat API at {url} failed: {exc}") from None
    campaign = await _campaign(store, composer, req)
    async with wechat_api(settings, store, req.concurrency) as api:
        counts = await store.campaign_counts(campaign.id)
        total = counts.by_status.get("pending", 0) + (counts.in_doubt if req.retry_in_doubt else 0)
        texts = await texts_for(store, campaign, composer)
        broadcaster = Broadcaster(store, api, campaign, texts, req)
        with view.Progress(total) as bar, _signals(broadcaster):
            report = await broadcaster.run(bar.update)
    view.report(report)
    return report.exit_code


async def _dry_run(settings: Settings, store: Store, composer: Composer, req: Request) -> None:
    """The plan and the texts; then whether a real run could send (credentials, the API)."""
    counts = await _count(store, composer, req)
    view.dry_run(req.issue, req.channel, req.account_type, counts)
    await _refused_for(store, req.issue)
    try:
        check_credentials(settings.wechat)
    except UserError as exc:
        click.echo(f"note: a real run would be refused: {exc}")
        return
    async with wechat_api(settings, store, 1) as api:
        await _reachable(api, settings)
    click.echo(f"the WeChat API at {settings.wechat.api_base_url} accepts the credentials")


async def _reachable(api: WeChatAPI, settings: Settings) -> None:
    """UserError in one line unless the API answers with a token for these credentials."""
    try:
        await api.access_token()
    except (UserError, FatalError):  # already say what to fix
        raise
    except WeChatError as exc:
        raise UserError(
            f"the WeChat API at wechat.api_base_url {settings.wechat.api_base_url} failed: {exc}"
        ) from None


async def _refused_for(store: Store, issue: str) -> None:
    """After a dry run: say so when a real run would be refused (a finished campaign)."""
    for other, _ in await store.list_campaigns():
        if other.issue == issue and other.status == "finished":
            click.echo(
                f"note: campaign #{other.id} for {issue} ({other.channel}) is finished: "
                "a real run would be refused (a finished campaign is never sent again)"
            )


@contextmanager
def _signals(broadcaster: Broadcaster) -> Iterator[None]:
    """First SIGINT/SIGTERM: start nothing new, let what is in flight finish (GRACE s at most);
    a second one: exit at once."""
    loop = asyncio.get_running_loop()

    def on_signal(sig: signal.Signals) -> None:
        code = 143 if sig == signal.SIGTERM else 130
        if broadcaster.report.interrupted:
            _say(
                f"\ninterrupted again ({sig.name}): exiting now; the requests that were in "
                "flight are in doubt (run the same command to see them)"
            )
            os._exit(code)
        _say(
            f"\ninterrupted ({sig.name}): sending nothing new; waiting at most {GRACE:.0f} s "
            "for the requests in flight, then the report (press Ctrl-C again to exit at once)"
        )
        broadcaster.interrupt(sig.name)
        loop.call_later(GRACE, broadcaster.abort)

    sigs = (signal.SIGINT, signal.SIGTERM)
    for sig in sigs:
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        yield
    finally:
        for sig in sigs:
            loop.remove_signal_handler(sig)


def _say(line: str) -> None:
    """A line on stderr, if anyone still reads it (a signal is obeyed either way)."""
    with contextlib.suppress(OSError):
        click.echo(line, err=True)


def _ask(question: str, yes: bool) -> None:
    """Ask on a terminal; without one, refuse unless --yes."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise UserError("no terminal to ask for confirmation: pass --yes to send")
    if not click.confirm(question, default=False):
        raise click.exceptions.Abort()


async def _count(store: Store, composer: Composer, req: Request) -> PlanCounts:
    pages = store.subscriber_pages(active_only=True, page_size=1000)
    return await plan_counts(pages, composer, req.channel, req.account_type, datetime.now(UTC))


async def _campaign(store: Store, composer: Composer, req: Request) -> Campaign:
    """The campaign to run: an unfinished one resumed, or a new one planned after asking."""
    issue = composer.issue.date
    for other, counts in await store.list_campaigns():
        if other.issue != issue:
            continue
        if other.status == "finished":
            when = f"{other.finished_at:%Y-%m-%d %H:%M} UTC" if other.finished_at else "earlier"
            raise UserError(
                f"campaign #{other.id} for {issue} ({other.channel}) finished on {when}: "
                "a finished campaign is never sent again"
            )
        if other.channel != req.channel:
            raise UserError(
                f"campaign #{other.id} for {issue} was started on channel {other.channel} and is "
                f"not finished: resume it with --channel {other.channel}"
            )
        if other.planned_at is None:  # stopped while planning: planning again is safe
            _ask(f"Finish planning campaign #{other.id} for {issue} and send it?", req.yes)
            await plan(store, other, composer, req.account_type)
            return other
        if await store.end_dead_lease(other.id):  # killed: its 'sending' are in doubt
            counts = await store.campaign_counts(other.id)
        view.resume(other, counts, req.retry_in_doubt)
        _ask(f"Resume campaign #{other.id}?", req.yes)
        return other
    planned = await _count(store, composer, req)
    view.plan(issue, req.channel, planned)
    if planned.recipients == 0:
        raise UserError(f"nobody to send {issue} to on channel {req.channel}: nothing was recorded")
    _ask(f"Send {issue} to {planned.recipients} recipients?", req.yes)
    campaign = await store.campaign_for(issue, req.channel)
    await plan(store, campaign, composer, req.account_type)
    return campaign


async def _preview(settings: Settings, store: Store, composer: Composer, openid: str) -> int:
    """The full text to one openid by customer-service message, else by mass preview."""
    text = composer.full().text
    async with wechat_api(settings, store, 1) as api:
        how = "customer-service message"
        try:
            await api.send_text(openid, text)
        except RecipientError as exc:
            if exc.errcode != 45015:
                await store.record_preview(openid, composer.issue.date, exc.errcode, str(exc))
                raise UserError(f"preview to {openid} not sent: {exc}") from None
            how = "mass-send preview (outside the 48-hour window)"
            try:
                await api.mass_preview(openid, text)
            except RecipientError as again:
                await store.record_preview(openid, composer.issue.date, again.errcode, str(again))
                raise UserError(f"preview to {openid} not sent: {again}") from None
    await store.record_preview(openid, composer.issue.date, None)
    click.echo(
        f"preview of {composer.issue.date} sent to {openid} by {how} ({len(text.encode())} bytes)"
    )
    return 0


def campaign_row(
    campaign: Campaign, counts: CampaignCounts, jobs: list[dict[str, Any]]
) -> dict[str, Any]:
    """One campaign as `neuraltalk campaigns --json` shows it."""
    c = campaign
    return {
        "id": c.id,
        "issue": c.issue,
        "channel": c.channel,
        "status": c.status,
        "created_at": c.created_at.isoformat(),
        "finished_at": c.finished_at.isoformat() if c.finished_at else None,
        "counts": {k: counts.by_status.get(k, 0) for k in STATUSES},
        "in_doubt": counts.in_doubt,
        "in_doubt_resent": counts.resent,
        "in_doubt_forgotten": counts.forgotten,
        "sent": counts.by_status.get("sent", 0),
        "pending": counts.by_status.get("pending", 0),
        "failed": counts.by_status.get("failed", 0),
        "skipped": counts.by_status.get("skipped", 0),
        "failed_by_code": {str(k): n for k, n in counts.failed_by_errcode.items()},
        "stop_reason": c.stop_reason,
        "mass": {
            "batches": len(jobs),
            "recipients": sum(j["recipients"] for j in jobs),
            "msg_ids": [j["msg_id"] for j in jobs if j["msg_id"]],
            "status": c.mass_status,
            "total": c.mass_total,
            "filter_count": c.mass_filter,
            "sent": c.mass_sent,
            "errors": c.mass_errors,
        },
    }


async def run_campaigns(settings: Settings) -> list[dict[str, Any]]:
    store = await Store.open(settings.storage.url)
    try:
        listed = await store.list_campaigns()
        return [campaign_row(c, n, await store.mass_jobs(c.id)) for c, n in listed]
    finally:
        await store.close()
