"""Campaigns, their per-recipient deliveries, the lease that keeps two senders apart, mass jobs.

A campaign is one issue sent on one channel ('auto', 'custom' or 'mass'): planned -> running ->
finished, or stopped / failed (which a later run resumes); a finished campaign is never sent
again. Each recipient has one delivery row: pending -> sending -> sent | failed | skipped.

Exactly once: a sender first holds the campaign's lease (acquire_lease, renewed while it
works), then claims pending deliveries in batches (claim_batch: they become 'sending', claimed
by it; PostgreSQL skips rows another claimer has locked), sends, and records the outcomes
(mark_results). A delivery left 'sending' by a sender that no longer holds the lease (crash,
kill -9, lease expired) is in doubt: in_doubt() lists them and only retry_in_doubt() sends
them again. Times come from this process's clock (UTC).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, exists, func, or_, select, update

from bot.errors import UserError
from bot.schema import Database, campaigns, deliveries, mass_jobs, previews, utcnow

log = logging.getLogger(__name__)
c, d = campaigns.c, deliveries.c
ENDED = ("finished", "stopped", "failed")
RESULTS = ("sent", "failed", "skipped")


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


@dataclass(frozen=True)
class PlannedDelivery:
    openid: str
    channel: str  # "custom" or "mass"
    digest_key: str  # which text this recipient gets
    status: str = "pending"  # or "skipped" (with error saying why)
    error: str | None = None


@dataclass(frozen=True)
class Claimed:
    openid: str
    channel: str
    digest_key: str
    attempts: int
    batch_id: str | None


@dataclass(frozen=True)
class DeliveryResult:
    openid: str
    status: str  # "sent", "failed" or "skipped"
    errcode: int | None = None
    error: str | None = None


@dataclass
class CampaignCounts:
    by_status: dict[str, int] = field(default_factory=dict)
    failed_by_errcode: dict[int | None, int] = field(default_factory=dict)
    in_doubt: int = 0

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


def _in_doubt(now: datetime) -> Any:
    """A 'sending' delivery not claimed by the campaign's live lease holder (needs the join)."""
    dead_lease = or_(c.lease_owner.is_(None), c.lease_until <= now)
    not_holder = d.claimed_by.is_distinct_from(c.lease_owner)
    return and_(d.status == "sending", or_(dead_lease, not_holder))


class CampaignStore(Database):
    """Campaign and delivery operations; bot.store.Store inherits them."""

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
        doubt = case((_in_doubt(utcnow()), 1), else_=0)
        stmt = (
            select(d.campaign_id, d.status, d.errcode, func.count(), func.sum(doubt))
            .join(campaigns, c.id == d.campaign_id)
            .group_by(d.campaign_id, d.status, d.errcode)
        )
        if campaign_id is not None:
            stmt = stmt.where(d.campaign_id == campaign_id)
        result: dict[int, CampaignCounts] = {}
        for cid, status, errcode, n, doubtful in (await conn.execute(stmt)).tuples():
            counts = result.setdefault(cid, CampaignCounts())
            counts.by_status[status] = counts.by_status.get(status, 0) + n
            counts.in_doubt += int(doubtful or 0)
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
        """finished, stopped (resumable) or failed, with the reason for the editor."""
        if status not in ENDED:
            raise ValueError(f"a campaign ends finished, stopped or failed, not {status!r}")
        async with self.write() as conn:
            await conn.execute(
                update(campaigns)
                .where(c.id == campaign_id, c.status != "finished")
                .values(status=status, stop_reason=stop_reason, finished_at=utcnow())
            )

    async def mark_planned(self, campaign_id: int) -> None:
        async with self.write() as conn:
            await conn.execute(
                update(campaigns).where(c.id == campaign_id).values(planned_at=utcnow())
            )

    # --- the lease ----------------------------------------------------------------------------

    async def acquire_lease(self, campaign_id: int, owner: str, ttl: float) -> bool:
        """Take the campaign for ttl seconds unless someone else holds a live lease on it."""
        now = utcnow()
        free = or_(c.lease_owner.is_(None), c.lease_until < now, c.lease_owner == owner)
        return await self._set_lease(and_(c.id == campaign_id, free), owner, now, ttl)

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

    # --- deliveries ---------------------------------------------------------------------------

    async def add_deliveries(self, campaign_id: int, planned: Sequence[PlannedDelivery]) -> int:
        """Record planned deliveries; one already there is kept as it is. Returns how many new."""
        if not planned:
            return 0
        now = utcnow()
        rows = [
            dict(
                campaign_id=campaign_id,
                openid=p.openid,
                channel=p.channel,
                digest_key=p.digest_key,
                status=p.status,
                error=p.error,
                attempts=0,
                updated_at=now,
            )
            for p in planned
        ]
        stmt = self.insert(deliveries).values(rows).on_conflict_do_nothing()
        async with self.write() as conn:
            return len((await conn.execute(stmt.returning(d.openid))).all())

    async def claim_batch(
        self,
        campaign_id: int,
        owner: str,
        limit: int,
        *,
        channel: str | None = None,
        digest_key: str | None = None,
        batch_id: str | None = None,
    ) -> list[Claimed]:
        """Up to `limit` pending deliveries made 'sending' for `owner`, who must hold the lease.

        Empty when none are left or the lease is not ours. batch_id, if given, is recorded on
        them (a mass send's clientmsgid is derived from it, so a resend cannot reach anyone twice).
        """
        now = utcnow()
        pick = select(d.openid).where(d.campaign_id == campaign_id, d.status == "pending")
        if channel is not None:
            pick = pick.where(d.channel == channel)
        if digest_key is not None:
            pick = pick.where(d.digest_key == digest_key)
        pick = pick.order_by(d.openid).limit(limit)
        if self.is_postgres:
            pick = pick.with_for_update(skip_locked=True)
        leased = exists().where(c.id == campaign_id, c.lease_owner == owner, c.lease_until > now)
        values: dict[str, Any] = dict(
            status="sending", claimed_by=owner, attempts=d.attempts + 1, updated_at=now
        )
        if batch_id is not None:
            values["batch_id"] = batch_id
        stmt = (
            update(deliveries)
            .where(d.campaign_id == campaign_id, d.status == "pending", d.openid.in_(pick), leased)
            .values(values)
            .returning(d.openid, d.channel, d.digest_key, d.attempts, d.batch_id)
        )
        async with self.write() as conn:
            claimed = [Claimed(*row) for row in (await conn.execute(stmt)).tuples()]
        return sorted(claimed, key=lambda one: one.openid)

    async def mark_results(
        self, campaign_id: int, owner: str, results: Sequence[DeliveryResult]
    ) -> None:
        """Record the outcomes of sends claimed by `owner`, all in one transaction."""
        if not results:
            return
        rows = []
        for r in results:
            if r.status not in RESULTS:
                raise ValueError(f"a delivery ends sent, failed or skipped, not {r.status!r}")
            error = None if r.error is None else r.error[:500]
            rows.append(dict(b_openid=r.openid, b_status=r.status, b_code=r.errcode, b_err=error))
        stmt = (
            update(deliveries)
            .where(
                d.campaign_id == campaign_id,
                d.openid == bindparam("b_openid"),
                d.status == "sending",
                d.claimed_by == owner,
            )
            .values(
                status=bindparam("b_status"),
                errcode=bindparam("b_code"),
                error=bindparam("b_err"),
                updated_at=utcnow(),
            )
        )
        async with self.write() as conn:
            await conn.execute(stmt, rows)

    async def release(
        self, campaign_id: int, owner: str, openids: Sequence[str], channel: str | None = None
    ) -> None:
        """Put claimed but unsent deliveries back to pending (optionally on another channel)."""
        values: dict[str, Any] = dict(status="pending", claimed_by=None, updated_at=utcnow())
        if channel is not None:
            values["channel"] = channel
        async with self.write() as conn:
            await conn.execute(
                update(deliveries)
                .where(
                    d.campaign_id == campaign_id,
                    d.openid.in_(openids),
                    d.status == "sending",
                    d.claimed_by == owner,
                )
                .values(values)
            )

    async def in_doubt(self, campaign_id: int) -> list[Claimed]:
        """Deliveries left 'sending' by a sender that lost its lease: maybe sent, maybe not."""
        stmt = (
            select(d.openid, d.channel, d.digest_key, d.attempts, d.batch_id)
            .join(campaigns, c.id == d.campaign_id)
            .where(d.campaign_id == campaign_id, _in_doubt(utcnow()))
            .order_by(d.openid)
        )
        async with self.read() as conn:
            return [Claimed(*row) for row in (await conn.execute(stmt)).tuples()]

    async def retry_in_doubt(self, campaign_id: int) -> int:
        """Make in-doubt deliveries pending again (they keep their batch_id); how many."""
        doubtful = (
            select(d.openid)
            .join(campaigns, c.id == d.campaign_id)
            .where(d.campaign_id == campaign_id, _in_doubt(utcnow()))
        )
        async with self.write() as conn:
            done = await conn.execute(
                update(deliveries)
                .where(d.campaign_id == campaign_id, d.openid.in_(doubtful))
                .values(status="pending", claimed_by=None, updated_at=utcnow())
                .returning(d.openid)
            )
            return len(done.all())

    # --- mass jobs and previews -----------------------------------------------------------------

    async def record_mass_job(
        self,
        campaign_id: int,
        batch_id: str,
        *,
        clientmsgid: str,
        digest_key: str,
        recipients: int,
        status: str,
        msg_id: str | None = None,
        errcode: int | None = None,
    ) -> None:
        """Create or update the mass send of one batch (status e.g. 'sending', 'sent', 'failed')."""
        stmt = self.insert(mass_jobs).values(
            campaign_id=campaign_id,
            batch_id=batch_id,
            clientmsgid=clientmsgid,
            digest_key=digest_key,
            recipients=recipients,
            status=status,
            msg_id=msg_id,
            errcode=errcode,
            created_at=utcnow(),
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[mass_jobs.c.campaign_id, mass_jobs.c.batch_id],
            set_={"status": status, "msg_id": func.coalesce(msg_id, mass_jobs.c.msg_id)}
            | {"errcode": errcode, "recipients": recipients},
        )
        async with self.write() as conn:
            await conn.execute(stmt)

    async def mass_jobs(self, campaign_id: int) -> list[dict[str, Any]]:
        stmt = select(mass_jobs).where(mass_jobs.c.campaign_id == campaign_id)
        async with self.read() as conn:
            rows = (await conn.execute(stmt.order_by(mass_jobs.c.created_at))).all()
        return [dict(row._mapping) for row in rows]

    async def record_mass_job_finish(
        self, msg_id: str, status: str, total: int, filter_count: int, sent: int, errors: int
    ) -> None:
        """MASSSENDJOBFINISH: the job's totals, summed into its campaign's mass_* columns."""
        m = mass_jobs.c
        async with self.write() as conn:
            done = await conn.execute(
                update(mass_jobs)
                .where(m.msg_id == str(msg_id))
                .values(status=status, total=total, filter_count=filter_count, sent=sent)
                .values(errors=errors, finished_at=utcnow())
                .returning(m.campaign_id)
            )
            campaign_id = done.scalar()
            if campaign_id is None:
                log.info("MASSSENDJOBFINISH for msg_id %s: not one of our mass sends", msg_id)
                return

            def total_of(column: Any) -> Any:
                return select(func.sum(column)).where(m.campaign_id == campaign_id)

            await conn.execute(
                update(campaigns)
                .where(c.id == campaign_id)
                .values(mass_status=status, mass_total=total_of(m.total).scalar_subquery())
                .values(mass_filter=total_of(m.filter_count).scalar_subquery())
                .values(mass_sent=total_of(m.sent).scalar_subquery())
                .values(mass_errors=total_of(m.errors).scalar_subquery())
            )

    async def record_preview(
        self, openid: str, issue: str, errcode: int | None, error: str | None = None
    ) -> None:
        """A --preview send, kept apart from campaigns."""
        async with self.write() as conn:
            await conn.execute(
                previews.insert().values(
                    openid=openid, issue=issue, sent_at=utcnow(), errcode=errcode, error=error
                )
            )
