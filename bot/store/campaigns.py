"""Campaigns: their life, the lease that keeps two senders apart, and their delivery counts.

A campaign is one issue sent on one channel ('auto', 'custom' or 'mass'): planned -> running ->
finished, or paused (interrupted) / stopped / failed (which a later run resumes); a finished
campaign is never sent again. Each recipient has one delivery row: pending -> sending -> sent |
failed | skipped (bot.store.schema's CampaignStatus, DeliveryStatus, Channel).

Exactly once: a sender first holds the campaign's lease (acquire_lease, renewed while it
works; a lease whose holder is a process of this host that no longer exists, as after a
kill -9, is taken over at once instead of waiting for it to run out), then takes pending
deliveries: the custom lane reserves them (reserve: still pending) and makes each 'sending'
just before its request goes out, recording the previous outcome in the same transaction
(settle); the mass lane claims batches (claim_batch: 'sending' at once, safe as its clientmsgid
makes a resend harmless; PostgreSQL skips rows another claimer has locked). A delivery left
'sending' by a sender that no longer holds the lease (crash, kill -9, lease expired), or with
its answer lost, is in doubt; sends in flight under a live lease never are. in_doubt()
lists them and only retry_in_doubt() sends them again (bot/store/deliveries.py). Times come
from this process's clock (UTC).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from time import time_ns
from typing import Any

from sqlalchemy import and_, case, func, or_, select, text, update

from bot.errors import UserError
from bot.store.schema import CampaignStatus, Database, campaigns, deliveries, utcnow

c, d = campaigns.c, deliveries.c
FORGOTTEN = "in doubt, counted as delivered (--forget-in-doubt)"
ENDED = (
    CampaignStatus.FINISHED,
    CampaignStatus.STOPPED,
    CampaignStatus.FAILED,
    CampaignStatus.PAUSED,
)


class CampaignFinished(UserError):
    """A finished campaign is never sent again."""


@dataclass(frozen=True)
class Campaign:
    id: int
    issue: str
    channel: str
    status: str
    created_at: datetime
    planned_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    lease_owner: str | None
    lease_until: datetime | None
    stop_reason: str | None
    mass_status: str | None
    mass_total: int | None
    mass_filter: int | None
    mass_sent: int | None
    mass_errors: int | None


@dataclass
class CampaignCounts:
    by_status: dict[str, int] = field(default_factory=dict)
    failed_by_errcode: dict[int | None, int] = field(default_factory=dict)
    in_doubt: int = 0
    resent: int = 0  # in doubt once, then sent again (--retry-in-doubt)
    forgotten: int = 0  # in doubt, then counted as delivered (--forget-in-doubt)

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


def lease_owner_name() -> str:
    """A lease owner for this process: "host:pid:start-time-ns"."""
    return f"{socket.gethostname()}:{os.getpid()}:{time_ns()}"


def holder_is_dead(owner: str) -> bool:
    """True only when `owner` ("host:pid:...") names a process of this host that is gone."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # someone else's process: alive
        return False
    return False


def in_doubt_condition(now: datetime) -> Any:
    """A 'sending' delivery not claimed by the campaign's live lease holder (needs the join)."""
    dead_lease = or_(c.lease_owner.is_(None), c.lease_until <= now)
    not_holder = d.claimed_by.is_distinct_from(c.lease_owner)
    return and_(d.status == "sending", or_(dead_lease, not_holder))


class CampaignStore(Database):
    """Campaign and delivery operations; bot.store.store.Store inherits them."""

    async def campaign_for(self, issue: str, channel: str) -> Campaign:
        """The campaign of this issue on this channel, created 'planned' if there is none."""
        stmt = self.insert(campaigns).values(
            issue=issue, channel=channel, status="planned", created_at=utcnow()
        )
        async with self.write() as conn:
            await conn.execute(stmt.on_conflict_do_nothing())
            row = (
                await conn.execute(select(campaigns).where(c.issue == issue, c.channel == channel))
            ).one()
        return Campaign(**row._mapping)

    async def campaign(self, campaign_id: int) -> Campaign | None:
        async with self.read() as conn:
            row = (await conn.execute(select(campaigns).where(c.id == campaign_id))).first()
        return None if row is None else Campaign(**row._mapping)

    async def list_campaigns(self) -> list[tuple[Campaign, CampaignCounts]]:
        """Every campaign, newest first, with its delivery counts."""
        async with self.read() as conn:
            rows = (await conn.execute(select(campaigns).order_by(c.id.desc()))).all()
            counts = await self._counts(conn, None)
        return [(Campaign(**r._mapping), counts.get(r.id, CampaignCounts())) for r in rows]

    async def campaign_counts(self, campaign_id: int) -> CampaignCounts:
        async with self.read() as conn:
            counts = await self._counts(conn, campaign_id)
        return counts.get(campaign_id, CampaignCounts())

    async def _counts(self, conn: Any, campaign_id: int | None) -> dict[int, CampaignCounts]:
        doubt = case((in_doubt_condition(utcnow()), 1), else_=0)
        resent = case(
            (and_(d.channel == "custom", d.attempts > 1, d.status != "sending"), 1), else_=0
        )
        forgotten = case((d.error == FORGOTTEN, 1), else_=0)
        stmt = (
            select(
                d.campaign_id,
                d.status,
                d.errcode,
                func.count(),
                func.sum(doubt),
                func.sum(resent),
                func.sum(forgotten),
            )
            .join(campaigns, c.id == d.campaign_id)
            .group_by(d.campaign_id, d.status, d.errcode)
        )
        if campaign_id is not None:
            stmt = stmt.where(d.campaign_id == campaign_id)
        result: dict[int, CampaignCounts] = {}
        for cid, status, errcode, n, doubtful, again, forgot in await conn.execute(stmt):
            counts = result.setdefault(cid, CampaignCounts())
            counts.by_status[status] = counts.by_status.get(status, 0) + n
            counts.in_doubt += int(doubtful or 0)
            counts.resent += int(again or 0)
            counts.forgotten += int(forgot or 0)
            if status == "failed":
                counts.failed_by_errcode[errcode] = n
        return result

    async def start_campaign(self, campaign_id: int) -> Campaign:
        """Mark it running (again); raises CampaignFinished for a finished one."""
        now = utcnow()
        async with self.write() as conn:
            done = await conn.execute(
                update(campaigns)
                .where(c.id == campaign_id, c.status != "finished")
                .values(status="running", started_at=func.coalesce(c.started_at, now))
                .returning(c.id)
            )
            if done.first() is None:
                raise CampaignFinished(f"campaign {campaign_id} is finished: never sent again")
        campaign = await self.campaign(campaign_id)
        assert campaign is not None
        return campaign

    async def end_campaign(
        self, campaign_id: int, status: str, stop_reason: str | None = None
    ) -> None:
        """finished, stopped or paused (resumable) or failed, with the reason for the editor."""
        if status not in ENDED:
            raise ValueError(f"a campaign ends {', '.join(ENDED)}, not {status!r}")
        async with self.write() as conn:
            await conn.execute(
                update(campaigns)
                .where(c.id == campaign_id, c.status != "finished")
                .values(status=status, stop_reason=stop_reason, finished_at=utcnow())
            )

    async def mark_planned(self, campaign_id: int) -> None:
        """Every delivery is recorded; PostgreSQL's statistics are refreshed for the new rows
        (until analyzed, a freshly filled table looks empty to its planner)."""
        async with self.write() as conn:
            await conn.execute(
                update(campaigns).where(c.id == campaign_id).values(planned_at=utcnow())
            )
            if self.is_postgres:
                await conn.execute(text("ANALYZE deliveries"))

    # --- the lease ----------------------------------------------------------------------------

    async def acquire_lease(self, campaign_id: int, owner: str, ttl: float) -> bool:
        """Take the campaign for ttl seconds unless someone else holds a live lease on it.

        A lease held by a dead process of this host is taken over at once.
        """
        for _ in range(2):
            now = utcnow()
            free = or_(c.lease_owner.is_(None), c.lease_until < now, c.lease_owner == owner)
            if await self._set_lease(and_(c.id == campaign_id, free), owner, now, ttl):
                return True
            if not await self.end_dead_lease(campaign_id):
                return False
        return False

    async def end_dead_lease(self, campaign_id: int) -> bool:
        """End the lease if its holder is a process of this host that no longer exists.

        Its 'sending' deliveries are then in doubt at once. True if it did.
        """
        campaign = await self.campaign(campaign_id)
        holder = campaign.lease_owner if campaign is not None else None
        if holder is None or not holder_is_dead(holder):
            return False
        async with self.write() as conn:  # only if nobody took it over meanwhile
            await conn.execute(
                update(campaigns)
                .where(c.id == campaign_id, c.lease_owner == holder)
                .values(lease_owner=None, lease_until=None)
            )
        return True

    async def renew_lease(self, campaign_id: int, owner: str, ttl: float) -> bool:
        """Extend our lease; False if someone else took it meanwhile (then stop sending)."""
        mine = and_(c.id == campaign_id, c.lease_owner == owner)
        return await self._set_lease(mine, owner, utcnow(), ttl)

    async def _set_lease(self, where: Any, owner: str, now: datetime, ttl: float) -> bool:
        until = now + timedelta(seconds=ttl)
        async with self.write() as conn:
            done = await conn.execute(
                update(campaigns)
                .where(where)
                .values(lease_owner=owner, lease_until=until)
                .returning(c.id)
            )
            return done.first() is not None

    async def release_lease(self, campaign_id: int, owner: str) -> None:
        async with self.write() as conn:
            await conn.execute(
                update(campaigns)
                .where(c.id == campaign_id, c.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )
