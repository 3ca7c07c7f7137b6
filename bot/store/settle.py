"""The ledger's transaction: the outcomes of customer-service sends, and the next ones begun.

DeliveryStore.settle (bot/store/deliveries.py) runs it for every few messages of a broadcast,
so its statements are built once, here, with bound parameters, and it costs one hop to the
database: on SQLite the whole transaction runs on the store's writing thread (settle_in); on
PostgreSQL, when every outcome is a plain 'sent' (nearly always), it is one statement run on
its own (settle_sent: one round trip instead of five); any other outcome takes settle_in's
transaction, its statements run in one greenlet.

Either way: the outcomes are recorded whoever holds the lease (only the sender that made a
delivery 'sending' can record it), and the deliveries begun become 'sending' only while
`owner` holds the campaign's lease, which cannot change before the transaction commits
(PostgreSQL: the lease row is locked FOR SHARE; SQLite: the write lock is held throughout).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Integer, String, any_, bindparam, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.schema import UTCDateTime, campaigns, deliveries

c, d = campaigns.c, deliveries.c


@dataclass(frozen=True)
class Outcome:
    """What became of one customer-service send (DeliveryStore.settle records it).

    status: sent, failed, pending (provably not sent: back to pending, on `channel` if given),
    or doubt (the answer was lost: it stays 'sending', with errcode and error saying why).
    """

    openid: str
    status: str
    errcode: int | None = None
    error: str | None = None
    channel: str | None = None


def _statements() -> tuple[Any, Any, Any]:
    """The statements, with bound parameters cid, owner, now, sent and begin (lists of openids):
    SQLite's two (the sent outcomes; the begins, if the lease is held) and PostgreSQL's one
    (the lease row locked FOR SHARE, the sent outcomes and the begins if the lease is held)."""
    cid, owner = bindparam("cid", type_=Integer()), bindparam("owner", type_=String())
    now = bindparam("now", type_=UTCDateTime())

    def openids(name: str, array: bool) -> Any:
        if array:  # one SQL text whatever the count (asyncpg prepares each text once)
            return any_(bindparam(name, type_=ARRAY(String())))
        return bindparam(name, type_=String(), expanding=True)

    def sent(array: bool) -> Any:
        match = d.openid == openids("sent", True) if array else d.openid.in_(openids("sent", False))
        return (
            update(deliveries)
            .where(d.campaign_id == cid, match, d.status == "sending", d.claimed_by == owner)
            .values(status="sent", errcode=None, error=None, updated_at=now)
        )

    def begin(array: bool) -> Any:
        match = (
            d.openid == openids("begin", True) if array else d.openid.in_(openids("begin", False))
        )
        return (
            update(deliveries)
            .where(d.campaign_id == cid, match, d.status == "pending")
            .values(status="sending", claimed_by=owner, attempts=d.attempts + 1, updated_at=now)
            .returning(d.openid)
        )

    lease = select(c.id).where(c.id == cid, c.lease_owner == owner, c.lease_until > now)
    held = lease.with_for_update(read=True).cte("lease")
    # PostgreSQL runs a data-modifying WITH ("done") whether or not anything reads it
    one_statement = begin(True).where(select(held.c.id).exists()).add_cte(sent(True).cte("done"))
    sqlite_begin = begin(False).where(lease.exists())  # SQLite's write lock keeps the lease
    return sent(False), sqlite_begin, one_statement


SENT, BEGIN_IF_LEASED, SETTLE_SENT = _statements()


def _is_plain_sent(o: Outcome) -> bool:
    return o.status == "sent" and o.errcode is None


def settle_in(
    campaign_id: int,
    owner: str,
    outcomes: Sequence[Outcome],
    begin: Sequence[str],
    now: datetime,
    conn: Connection,
    *,
    lock: bool,
) -> set[str]:
    """The transaction on a synchronous connection (lock: PostgreSQL's FOR SHARE on the lease).

    Returns the openids of `begin` made 'sending'."""
    params: dict[str, Any] = dict(cid=campaign_id, owner=owner, now=now)
    sent = [o.openid for o in outcomes if _is_plain_sent(o)]
    for o in outcomes:
        if not _is_plain_sent(o):
            conn.execute(_outcome_update(campaign_id, owner, o, now))
    if lock:  # PostgreSQL: the plain ones and the begins in the one statement, lease locked
        if not (sent or begin):
            return set()
        return set(
            conn.execute(SETTLE_SENT, {**params, "sent": sent, "begin": list(begin)}).scalars()
        )
    if sent:
        conn.execute(SENT, {**params, "sent": sent})
    if not begin:
        return set()
    return set(conn.execute(BEGIN_IF_LEASED, {**params, "begin": list(begin)}).scalars())


async def settle_sent(
    conn: AsyncConnection,
    campaign_id: int,
    owner: str,
    outcomes: Sequence[Outcome],
    begin: Sequence[str],
    now: datetime,
) -> set[str]:
    """PostgreSQL, every outcome a plain 'sent': the one statement, alone in its transaction
    (conn in autocommit). Returns the openids of `begin` made 'sending'."""
    params = dict(
        cid=campaign_id,
        owner=owner,
        now=now,
        sent=[o.openid for o in outcomes],
        begin=list(begin),
    )
    return set((await conn.execute(SETTLE_SENT, params)).scalars())


def _outcome_update(campaign_id: int, owner: str, o: Outcome, now: datetime) -> Any:
    """The UPDATE recording one outcome other than a plain 'sent' (failed, pending, doubt)."""
    values: dict[str, Any] = dict(errcode=o.errcode, error=o.error, updated_at=now)
    if o.status == "pending":
        values.update(status="pending", claimed_by=None)
        if o.channel is not None:
            values["channel"] = o.channel
    elif o.status != "doubt":  # doubt: it stays 'sending', in doubt once our lease ends
        values["status"] = o.status
    return (
        update(deliveries)
        .where(
            d.campaign_id == campaign_id,
            d.openid == o.openid,
            d.status == "sending",
            d.claimed_by == owner,
        )
        .values(values)
    )
