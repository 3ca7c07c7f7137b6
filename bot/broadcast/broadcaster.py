"""Campaigns: plan who gets what, send in batches, resume after a stop or a crash.

A campaign is one issue's broadcast, a row in the database with one delivery row per recipient
(pending → sending → sent / failed / skipped). It is planned once, streaming the subscribers
page by page (never all in memory); each delivery names its text (the whole issue, or a
digest's topics), composed again from the index by every run. Then the custom lane
(bot/broadcast/custom.py) and the mass lane (bot/broadcast/mass.py) send what is pending.
One process at a time works on a campaign: it holds the campaign's lease in the database
(a second one refuses), and every claim is an atomic pending → sending update anyway.

Re-running the same command resumes: deliveries left 'sending' on the custom lane (a kill, or
an answer lost on the way back) are in doubt (WeChat may have taken them): reported, re-sent
only with --retry-in-doubt, or counted as delivered with --forget-in-doubt. Mass
batches left 'sending' are simply sent again: their clientmsgid makes that safe. A campaign is
finished when nothing is pending or sending; a finished campaign is never sent again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.broadcast.compose import Composer
from bot.broadcast.custom import CustomLane
from bot.broadcast.mass import MassLane
from bot.broadcast.plan import route, text_for
from bot.broadcast.request import Job, Request, Tally
from bot.errors import UserError
from bot.store.campaigns import Campaign, CampaignCounts, lease_owner_name
from bot.store.deliveries import PlannedDelivery
from bot.store.store import Store
from bot.wechat.api import FatalError, WeChatAPI

LEASE_SECONDS = 30.0
PLAN_PAGE = 1000


@dataclass
class Report:
    campaign: Campaign
    tally: Tally = field(default_factory=Tally)
    counts: CampaignCounts | None = None
    requeued: int = 0
    forgotten: int = 0
    seconds: float = 0.0
    stopped: str = ""  # the fatal error's message, when it stopped
    interrupted: str = ""  # the signal's name (SIGINT, SIGTERM), when one stopped it

    @property
    def exit_code(self) -> int:
        """0 finished; 1 stopped on an error; 130/143 interrupted; 3 all sent, some in doubt."""
        if self.interrupted:
            return 143 if self.interrupted == "SIGTERM" else 130
        if self.stopped:
            return 1
        if self.counts is not None and self.counts.in_doubt:
            return 3
        return 0


def lease_holder(campaign: Campaign) -> str:
    """Who holds the lease, for the editor: "pid 123 on host, lease until 08:01:02 UTC"."""
    host, _, rest = (campaign.lease_owner or "?").partition(":")
    until = f", lease until {campaign.lease_until:%H:%M:%S} UTC" if campaign.lease_until else ""
    return f"pid {rest.partition(':')[0]} on {host}{until}"


async def plan(store: Store, campaign: Campaign, composer: Composer, account_type: str) -> None:
    """Record a pending (or skipped) delivery for every active subscriber, page by page."""
    now = datetime.now(UTC)

    def decide(page: list) -> list[PlannedDelivery]:  # type: ignore[type-arg]
        planned = []
        for sub in page:
            r = route(sub, composer, campaign.channel, account_type, now)
            status = "skipped" if r.channel == "skip" else "pending"
            channel = "custom" if r.channel == "skip" else r.channel
            planned.append(
                PlannedDelivery(sub.openid, channel, r.text_key, status, r.reason or None)
            )
        return planned

    await store.plan_deliveries(campaign.id, decide, page_size=PLAN_PAGE)


async def texts_for(store: Store, campaign: Campaign, composer: Composer) -> dict[str, str]:
    """The texts still to send, composed again from the index (the same index gives the same)."""
    return {key: text_for(key, composer) for key in await store.text_keys(campaign.id)}


class Broadcaster:
    """Runs (or resumes) one campaign with the lease held; see the module docstring."""

    def __init__(
        self, store: Store, api: WeChatAPI, campaign: Campaign, texts: dict[str, str], req: Request
    ) -> None:
        self.store, self.campaign, self.req = store, campaign, req
        self.owner = lease_owner_name()
        self.job = Job(req, store, api, campaign, self.owner, texts)
        self.report = Report(campaign, self.job.tally)
        self.lane: CustomLane | None = None

    def interrupt(self, signal_name: str) -> None:
        """Claim nothing new; the requests in flight finish (see run.py for the grace period)."""
        self.report.interrupted = self.report.interrupted or signal_name
        if self.lane is not None:
            self.lane.halt()

    def abort(self) -> None:
        """Cancel the requests still in flight: they stay in doubt."""
        if self.lane is not None:
            self.lane.abort()

    async def run(self, on_progress: Callable[[Report], None] = lambda r: None) -> Report:
        await self._lease()
        renewer = asyncio.create_task(self._renew())
        started = time.monotonic()
        try:
            self.campaign = self.job.campaign = await self.store.start_campaign(self.campaign.id)
            await self._send(on_progress)
        finally:
            renewer.cancel()
            with suppress(asyncio.CancelledError):
                await renewer
            self.report.seconds = time.monotonic() - started
            await self._close()
        return self.report

    async def _lease(self) -> None:
        """Hold the campaign's lease (taken over from a dead process of this host), or refuse."""
        cid = self.campaign.id
        if await self.store.acquire_lease(cid, self.owner, LEASE_SECONDS):
            return
        current = await self.store.campaign(cid) or self.campaign
        raise UserError(
            f"campaign #{cid} for {current.issue} is being sent by another process "
            f"({lease_holder(current)}): wait for it to finish, then run the command again"
        )

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(LEASE_SECONDS / 3)
            await self.store.renew_lease(self.campaign.id, self.owner, LEASE_SECONDS)

    async def _send(self, on_progress: Callable[[Report], None]) -> None:
        cid, report = self.campaign.id, self.report
        if self.req.retry_in_doubt:
            report.requeued = await self.store.retry_in_doubt(cid)
        if self.req.forget_in_doubt:
            report.forgotten = await self.store.forget_in_doubt(cid)
        lane = self.lane = CustomLane(self.job, on_progress=lambda: on_progress(report))
        mass = MassLane(self.job)
        try:
            await lane.run()
            if not report.interrupted:
                await mass.run()
        except (UserError, FatalError) as exc:
            report.stopped = str(exc)
        on_progress(report)

    async def _close(self) -> None:
        cid = self.campaign.id
        await self.store.release_lease(cid, self.owner)
        counts = await self.store.campaign_counts(cid)
        self.report.counts = counts
        left = counts.by_status.get("pending", 0) + counts.by_status.get("sending", 0)
        if self.report.interrupted:
            reason = f"interrupted ({self.report.interrupted}): run the same command to resume"
            await self.store.end_campaign(cid, "paused", reason)
        elif self.report.stopped:
            await self.store.end_campaign(cid, "stopped", self.report.stopped)
        elif left == 0:
            await self.store.end_campaign(cid, "finished")
        elif counts.in_doubt:
            reason = (
                f"{counts.in_doubt} in doubt: --retry-in-doubt re-sends them, "
                "--forget-in-doubt counts them as delivered"
            )
            await self.store.end_campaign(cid, "stopped", reason)
