"""The WeChat API's access_token, kept in the store (bot.wechat.access_token.TokenStore), so
that every process of the account shares one token."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from bot.store.schema import Database, access_token, utcnow


class TokenRow(Database):
    async def load_token(self) -> tuple[str, datetime] | None:
        async with self.read() as conn:
            row = (await conn.execute(select(access_token).where(access_token.c.id == 1))).first()
        return None if row is None else (row.token, row.expires_at)

    async def save_token(self, token: str, expires_at: datetime) -> None:
        stmt = self.insert(access_token).values(
            id=1, token=token, expires_at=expires_at, updated_at=utcnow()
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[access_token.c.id],
            set_={"token": token, "expires_at": expires_at, "updated_at": utcnow()},
        )
        async with self.write() as conn:
            await conn.execute(stmt)
