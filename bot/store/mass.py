"""Mass-send batches and jobs: the deliveries of one mass send, and what WeChat said about it.

A mass send reaches a batch of deliveries (batch_id, numbered per campaign). Its clientmsgid is
derived from the campaign and that number, so a batch left 'sending' by a crash is adopted and
sent again at the next run (WeChat answers 45065 to a repeat: nobody gets it twice), without
--retry-in-doubt. mass_jobs keeps one row per batch with the msg_id that the
MASSSENDJOBFINISH event reports on later; its totals are summed into the campaign's mass_*
columns. Store (bot/store/store.py) inherits MassStore.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import func, select, update

from bot.store.schema import Database, campaigns, deliveries, mass_jobs, utcnow

log = logging.getLogger(__name__)
MAX_COUNT = 10**8
c, d, m = campaigns.c, deliveries.c, mass_jobs.c


def _batch(campaign_id: int, batch_id: str) -> Any:
    return (d.campaign_id == campaign_id) & (d.batch_id == batch_id)


class MassStore(Database):
    """Mass batches and mass jobs; bot.store.store.Store inherits them."""

    # --- batches of deliveries ------------------------------------------------------------------

    async def pending_mass_keys(self, campaign_id: int) -> list[tuple[str, int]]:
        """(text key, how many) of the pending mass deliveries."""
        stmt = (
            select(d.digest_key, func.count())
            .where(d.campaign_id == campaign_id, d.channel == "mass", d.status == "pending")
            .group_by(d.digest_key)
            .order_by(d.digest_key)
        )
        async with self.read() as conn:
            return [(k, n) for k, n in (await conn.execute(stmt)).all()]

    async def next_batch_number(self, campaign_id: int) -> int:
        stmt = select(d.batch_id).distinct()
        stmt = stmt.where(d.campaign_id == campaign_id, d.batch_id.is_not(None))
        async with self.read() as conn:
            numbers = [int(b) for b in (await conn.execute(stmt)).scalars() if b.isdigit()]
        return max(numbers, default=0) + 1

    async def adopt_mass_batches(self, campaign_id: int, owner: str) -> list[tuple[str, str, int]]:
        """Mass batches left 'sending' become owner's; (batch_id, text key, size) of each.

        Only for a sender holding the lease: a live sender's batches are its own anyway.
        """
        sending = (
            (d.campaign_id == campaign_id)
            & (d.channel == "mass")
            & (d.status == "sending")
            & d.batch_id.is_not(None)
        )
        sizes = (
            select(d.batch_id, d.digest_key, func.count())
            .where(sending, d.claimed_by == owner)
            .group_by(d.batch_id, d.digest_key)
            .order_by(d.batch_id)
        )
        async with self.write() as conn:
            await conn.execute(
                update(deliveries)
                .where(sending, d.claimed_by.is_distinct_from(owner))
                .values(claimed_by=owner)
            )
            rows = (await conn.execute(sizes)).all()
        return [(b, k, n) for b, k, n in rows]

    async def batch_pages(
        self, campaign_id: int, batch_id: str, size: int = 1000
    ) -> AsyncIterator[list[str]]:
        """The openids of a batch, in openid order, `size` at a time."""
        after = ""
        while True:
            stmt = (
                select(d.openid)
                .where(_batch(campaign_id, batch_id), d.openid > after)
                .order_by(d.openid)
                .limit(size)
            )
            async with self.read() as conn:
                page = list((await conn.execute(stmt)).scalars())
            if not page:
                return
            yield page
            after = page[-1]

    async def in_batch(self, campaign_id: int, batch_id: str, openids: Sequence[str]) -> set[str]:
        """Which of these openids are in the batch."""
        stmt = select(d.openid).where(_batch(campaign_id, batch_id), d.openid.in_(list(openids)))
        async with self.read() as conn:
            return set((await conn.execute(stmt)).scalars())

    async def close_batch(
        self,
        campaign_id: int,
        batch_id: str,
        status: str,
        errcode: int | None = None,
        error: str | None = None,
    ) -> int:
        """Every 'sending' delivery of the batch becomes `status` (pending puts it back)."""
        values: dict[str, Any] = {"status": status, "errcode": errcode, "error": error}
        if status == "pending":
            values["claimed_by"] = None
        stmt = (
            update(deliveries)
            .where(_batch(campaign_id, batch_id), d.status == "sending")
            .values(updated_at=utcnow(), **values)
        )
        async with self.write() as conn:
            return (await conn.execute(stmt)).rowcount

    # --- mass jobs ------------------------------------------------------------------------------

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
            index_elements=[m.campaign_id, m.batch_id],
            set_={
                "status": status,
                "msg_id": func.coalesce(msg_id, m.msg_id),
                "errcode": errcode,
                "recipients": recipients,
            },
        )
        async with self.write() as conn:
            await conn.execute(stmt)

    async def mass_jobs(self, campaign_id: int) -> list[dict[str, Any]]:
        stmt = select(mass_jobs).where(m.campaign_id == campaign_id).order_by(m.created_at)
        async with self.read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [dict(row._mapping) for row in rows]

    async def record_mass_job_finish(
        self, msg_id: str, status: str, total: int, filter_count: int, sent: int, errors: int
    ) -> None:
        """MASSSENDJOBFINISH: the job's totals, summed into its campaign's mass_* columns.

        Impossible totals (negative, over 10^8, sent or errors over the total) are logged and
        ignored: WeChat never sends them, a forger might."""
        counts = (total, filter_count, sent, errors)
        if min(counts) < 0 or total > MAX_COUNT or max(filter_count, sent, errors) > total:
            log.warning("MASSSENDJOBFINISH for msg_id %s ignored: impossible counts "
                        "total %d, filter %d, sent %d, errors %d", msg_id, *counts)  # fmt: skip
            return
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
