"""What the broadcast needs from the database beyond bot/store_campaigns.py's operations.

- take_over_dead_lease: a lease held by a process of this host that no longer exists (kill -9)
  is freed at once, so resuming does not wait for it to expire.
- text_keys: the texts a campaign still has to send.
- mass batches: the next batch number, adopting an in-doubt batch (a mass send is safe to
  repeat under its clientmsgid, so it is re-sent without --retry-in-doubt), the openids of a
  batch page by page, and closing a whole batch in one statement.
"""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import func, select, update

from bot.schema import campaigns, deliveries, utcnow
from bot.store import Store
from bot.store_campaigns import Campaign, CampaignCounts

__all__ = ["Campaign", "CampaignCounts", "alive_here", "lease_holder"]

c, d = campaigns.c, deliveries.c


def alive_here(owner: str) -> bool:
    """False only when `owner` ("host:pid:…") is a process of this host that no longer exists."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def lease_holder(campaign: Campaign) -> str:
    owner = campaign.lease_owner or "?"
    host, _, rest = owner.partition(":")
    until = f", lease until {campaign.lease_until:%H:%M:%S} UTC" if campaign.lease_until else ""
    return f"pid {rest.partition(':')[0]} on {host}{until}"


async def take_over_dead_lease(store: Store, campaign: Campaign) -> bool:
    """Expire the campaign's lease if its holder died on this host; True if it did."""
    owner = campaign.lease_owner
    if not owner or alive_here(owner):
        return False
    stmt = (
        update(campaigns)
        .where(c.id == campaign.id, c.lease_owner == owner)
        .values(lease_until=utcnow())
    )
    async with store.write() as conn:
        await conn.execute(stmt)
    return True


async def text_keys(store: Store, campaign_id: int) -> list[str]:
    """The texts (digest keys) of deliveries not done yet."""
    stmt = (
        select(d.digest_key)
        .distinct()
        .where(
            d.campaign_id == campaign_id, d.status.in_(("pending", "sending")), d.digest_key != ""
        )
    )
    async with store.read() as conn:
        return list((await conn.execute(stmt)).scalars())


async def pending_mass_keys(store: Store, campaign_id: int) -> list[tuple[str, int]]:
    """(digest key, how many) of the pending mass deliveries."""
    stmt = (
        select(d.digest_key, func.count())
        .where(d.campaign_id == campaign_id, d.channel == "mass", d.status == "pending")
        .group_by(d.digest_key)
        .order_by(d.digest_key)
    )
    async with store.read() as conn:
        return [(k, n) for k, n in (await conn.execute(stmt)).all()]


async def next_batch_number(store: Store, campaign_id: int) -> int:
    stmt = (
        select(d.batch_id).distinct().where(d.campaign_id == campaign_id, d.batch_id.is_not(None))
    )
    async with store.read() as conn:
        numbers = [int(b) for b in (await conn.execute(stmt)).scalars() if b.isdigit()]
    return max(numbers, default=0) + 1


async def adopt_mass_batches(
    store: Store, campaign_id: int, owner: str
) -> list[tuple[str, str, int]]:
    """In-doubt mass deliveries become ours again; (batch_id, digest key, size) of each batch."""
    where = (
        (d.campaign_id == campaign_id)
        & (d.channel == "mass")
        & (d.status == "sending")
        & d.batch_id.is_not(None)
        & d.claimed_by.is_distinct_from(owner)
    )
    async with store.write() as conn:
        await conn.execute(update(deliveries).where(where).values(claimed_by=owner))
        rows = (await conn.execute(
            select(d.batch_id, d.digest_key, func.count())
            .where(d.campaign_id == campaign_id, d.channel == "mass", d.status == "sending",
                   d.claimed_by == owner)
            .group_by(d.batch_id, d.digest_key)
        )).all()  # fmt: skip
    return [(b, k, n) for b, k, n in rows]


def _batch(campaign_id: int, batch_id: str) -> Any:
    return (d.campaign_id == campaign_id) & (d.batch_id == batch_id)


async def batch_pages(
    store: Store, campaign_id: int, batch_id: str, size: int = 1000
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
        async with store.read() as conn:
            page = list((await conn.execute(stmt)).scalars())
        if not page:
            return
        yield page
        after = page[-1]


async def in_batch(
    store: Store, campaign_id: int, batch_id: str, openids: Sequence[str]
) -> set[str]:
    stmt = select(d.openid).where(_batch(campaign_id, batch_id), d.openid.in_(list(openids)))
    async with store.read() as conn:
        return set((await conn.execute(stmt)).scalars())


async def close_batch(
    store: Store,
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
    async with store.write() as conn:
        return (await conn.execute(stmt)).rowcount
