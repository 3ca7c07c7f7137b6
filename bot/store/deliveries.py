"""Deliveries of a campaign: planned, claimed in batches, their outcomes; previews.

See bot/store/campaigns.py for the life of a campaign and of a delivery, and for the lease a
sender must hold to claim deliveries; mass batches are bot/store/mass.py's, those in doubt
bot/store/doubt.py's, the ledger's transaction (settle) bot/store/settle.py's. Store
(bot/store/store.py) inherits DeliveryStore.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import Connection, Integer, String, bindparam, select, update

from bot.store.schema import Database, UTCDateTime, campaigns, deliveries, previews, utcnow
from bot.store.settle import Outcome, settle_in, settle_sent

__all__ = ["Claimed", "DeliveryStore", "Outcome", "PlannedDelivery"]

c, d = campaigns.c, deliveries.c
CHUNK = 1000  # rows per statement: well under either database's limit of bound values


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


class DeliveryStore(Database):
    """Delivery and preview operations; bot.store.store.Store inherits them."""

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
        stmt = self.insert(deliveries).on_conflict_do_nothing().returning(d.openid)
        async with self.write() as conn:
            return len((await conn.execute(stmt, rows)).all())

    async def claim_batch(
        self,
        campaign_id: int,
        owner: str,
        limit: int,
        *,
        channel: str | None = None,
        digest_key: str | None = None,
        batch_id: str | None = None,
        after: str = "",
    ) -> list[Claimed]:
        """Up to `limit` pending deliveries made 'sending' for `owner`, who must hold the lease.

        Empty when none are left or the lease is not ours (never held, someone else's, or run
        out). The first pending rows in openid order are picked and locked (PostgreSQL: SKIP
        LOCKED, so concurrent claimers never take the same row), then marked by primary key in
        one statement per thousand. batch_id, if given, is recorded on them (a mass send's
        clientmsgid is derived from it, so a resend cannot reach anyone twice); otherwise they
        keep theirs. `after`: only openids after it, for a claimer going through a campaign in
        openid order (PostgreSQL's index keeps the rows claimed before until they are vacuumed:
        scanning past all of them at every claim made each one slower than the last).
        """
        pick = self._pick_pending(campaign_id, limit, channel, digest_key, after)
        values = _claim_values(owner, batch_id)
        async with self.write() as conn:
            if not await self._holds_lease(conn, campaign_id, owner):
                return []
            claimed = [
                Claimed(openid, channel_, key, attempts + 1, batch_id or batch)
                for openid, channel_, key, attempts, batch in await conn.execute(pick)
            ]
            await _mark_claimed(conn, campaign_id, [one.openid for one in claimed], values)
        return claimed

    async def reserve(
        self, campaign_id: int, owner: str, limit: int, *, channel: str, after: str = ""
    ) -> list[Claimed]:
        """The next `limit` pending deliveries after `after`, left pending (nothing is written).

        The lease keeps every other sender away; a reserved delivery becomes 'sending' only
        when its request is about to go out (settle's `begin`). Empty when the lease is not ours.
        A broadcast reserves every few dozen messages: one statement (the lease a condition of
        it), built once, run on SQLite's writing thread or in PostgreSQL's autocommit.
        """
        params = dict(cid=campaign_id, owner=owner, now=utcnow(), channel=channel, after=after)
        params["limit"] = limit
        if self.thread is not None:
            rows = await self.thread.read(partial(_reserve_rows, RESERVE, params))
        else:
            async with self.autocommit() as conn:
                rows = list((await conn.execute(RESERVE_LOCKED, params)).all())
        return [Claimed(*row) for row in rows]

    async def settle(
        self, campaign_id: int, owner: str, outcomes: Sequence[Outcome], begin: Sequence[str]
    ) -> set[str]:
        """In one transaction: record `outcomes`, then make `begin` 'sending' (about to go out).

        A sender writes its last outcome with its next begin, so at any moment it has at most
        one delivery 'sending'. Returns the openids of `begin` made 'sending' (none without
        the lease). A broadcast's ledger calls this for every few messages, so it costs one hop
        (bot/store/settle.py): on SQLite the whole transaction on the store's writing thread,
        on PostgreSQL one statement when every outcome is a plain 'sent'.
        """
        now = utcnow()
        if self.thread is not None:
            work = partial(settle_in, campaign_id, owner, outcomes, begin, now, lock=False)
            return await self.thread.write(work)
        if all(o.status == "sent" and o.errcode is None for o in outcomes):  # nearly always
            async with self.autocommit() as conn:
                return await settle_sent(conn, campaign_id, owner, outcomes, begin, now)
        async with self.write() as conn:
            work = partial(settle_in, campaign_id, owner, outcomes, begin, now, lock=True)
            return await conn.run_sync(work)

    def _pick_pending(
        self,
        campaign_id: int,
        limit: int,
        channel: str | None,
        digest_key: str | None,
        after: str,
    ) -> Any:
        """The first `limit` pending deliveries after `after` in openid order, to be locked.

        On PostgreSQL FOR UPDATE SKIP LOCKED: rows another claimer has locked are passed over.
        """
        pick = select(d.openid, d.channel, d.digest_key, d.attempts, d.batch_id).where(
            d.campaign_id == campaign_id, d.status == "pending", d.openid > after
        )
        if channel is not None:
            pick = pick.where(d.channel == channel)
        if digest_key is not None:
            pick = pick.where(d.digest_key == digest_key)
        pick = pick.order_by(d.openid).limit(limit)
        return pick.with_for_update(skip_locked=True) if self.is_postgres else pick

    async def _holds_lease(
        self, conn: Any, campaign_id: int, owner: str, lock: bool = True
    ) -> bool:
        """Whether `owner` holds the lease; on PostgreSQL it cannot change until we commit."""
        held = select(c.id).where(
            c.id == campaign_id, c.lease_owner == owner, c.lease_until > utcnow()
        )
        if self.is_postgres and lock:
            held = held.with_for_update(read=True)
        return (await conn.execute(held)).first() is not None

    async def text_keys(self, campaign_id: int) -> list[str]:
        """The texts (digest keys) of deliveries not done yet."""
        stmt = (
            select(d.digest_key)
            .distinct()
            .where(
                d.campaign_id == campaign_id,
                d.status.in_(("pending", "sending")),
                d.digest_key != "",
            )
        )
        async with self.read() as conn:
            return list((await conn.execute(stmt)).scalars())

    # --- previews -----------------------------------------------------------------------------

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


def _reserve_statements() -> tuple[Any, Any]:
    """reserve's statement, with bound parameters cid, owner, now, channel, after and limit
    (SQLite's, and PostgreSQL's with FOR UPDATE SKIP LOCKED: rows a claimer holds are passed)."""
    cid, owner = bindparam("cid", type_=Integer()), bindparam("owner", type_=String())
    lease = select(c.id).where(
        c.id == cid, c.lease_owner == owner, c.lease_until > bindparam("now", type_=UTCDateTime())
    )
    pick = (
        select(d.openid, d.channel, d.digest_key, d.attempts, d.batch_id)
        .where(d.campaign_id == cid, d.status == "pending")
        .where(d.openid > bindparam("after", type_=String()), d.channel == bindparam("channel"))
        .where(lease.exists())
        .order_by(d.openid)
        .limit(bindparam("limit", type_=Integer()))
    )
    return pick, pick.with_for_update(skip_locked=True)


RESERVE, RESERVE_LOCKED = _reserve_statements()


def _reserve_rows(stmt: Any, params: dict[str, Any], conn: Connection) -> list[Any]:
    return list(conn.execute(stmt, params).all())


def _claim_values(owner: str, batch_id: str | None) -> dict[str, Any]:
    """What claiming sets on a delivery: 'sending', its owner, one more attempt, the batch."""
    values: dict[str, Any] = dict(
        status="sending", claimed_by=owner, attempts=d.attempts + 1, updated_at=utcnow()
    )
    if batch_id is not None:
        values["batch_id"] = batch_id
    return values


async def _mark_claimed(
    conn: Any, campaign_id: int, openids: Sequence[str], values: dict[str, Any]
) -> None:
    """Set `values` on the picked deliveries by primary key, one UPDATE per CHUNK.

    (A single UPDATE with the pick as a subquery lets PostgreSQL's planner, with stale
    statistics, scan every pending row per claimed one.)
    """
    for start in range(0, len(openids), CHUNK):
        await conn.execute(
            update(deliveries)
            .where(d.campaign_id == campaign_id, d.openid.in_(openids[start : start + CHUNK]))
            .values(values)
        )
