"""Deliveries in doubt: left 'sending' by a sender that lost its lease (killed, or its answer
lost), so WeChat may or may not have delivered them; listed, re-sent (--retry-in-doubt) or
counted as delivered (--forget-in-doubt). Store (bot/store/store.py) inherits InDoubtStore.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from bot.store.campaigns import FORGOTTEN, in_doubt_condition
from bot.store.deliveries import Claimed
from bot.store.schema import Database, campaigns, deliveries, utcnow

c, d = campaigns.c, deliveries.c


class InDoubtStore(Database):
    async def in_doubt(self, campaign_id: int) -> list[Claimed]:
        """Deliveries left 'sending' by a sender that lost its lease: maybe sent, maybe not."""
        stmt = (
            select(d.openid, d.channel, d.digest_key, d.attempts, d.batch_id)
            .join(campaigns, c.id == d.campaign_id)
            .where(d.campaign_id == campaign_id, in_doubt_condition(utcnow()))
            .order_by(d.openid)
        )
        async with self.read() as conn:
            return [Claimed(*row) for row in (await conn.execute(stmt))]

    async def retry_in_doubt(self, campaign_id: int) -> int:
        """Make in-doubt deliveries pending again (they keep their batch_id); how many."""
        return await self._resolve_in_doubt(campaign_id, status="pending", claimed_by=None)

    async def forget_in_doubt(self, campaign_id: int) -> int:
        """Count in-doubt deliveries as delivered (sent, error FORGOTTEN); how many."""
        return await self._resolve_in_doubt(
            campaign_id, status="sent", claimed_by=None, error=FORGOTTEN
        )

    async def _resolve_in_doubt(self, campaign_id: int, **values: Any) -> int:
        doubtful = (
            select(d.openid)
            .join(campaigns, c.id == d.campaign_id)
            .where(d.campaign_id == campaign_id, in_doubt_condition(utcnow()))
        )
        async with self.write() as conn:
            done = await conn.execute(
                update(deliveries)
                .where(d.campaign_id == campaign_id, d.openid.in_(doubtful))
                .values(updated_at=utcnow(), **values)
                .returning(d.openid)
            )
            return len(done.all())
