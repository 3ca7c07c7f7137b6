"""The mass-send lane of a broadcast: openid lists (service account) or a tag (subscription).

Deliveries are claimed into numbered batches (batch_id); a batch's clientmsgid is derived from
the campaign and that number, so sending a batch again after a crash or a transient failure
reaches nobody twice (WeChat answers 45065, which counts as done). That is why a batch left
'sending' by a crash is adopted and sent again at the next run without --retry-in-doubt.
A batch is all-or-nothing: its deliveries go sending, then sent (mass_jobs keeps the msg_id
that the MASSSENDJOBFINISH event later reports on).

- Service account: `message/mass/send`, batches of at most 10,000 openids of the same text,
  sizes balanced so that no batch has a single openid (WeChat wants 2 to 10,000); a text with a
  single mass recipient cannot be mass-sent and is skipped (`mass-needs-2`).
- Subscription account: `message/mass/sendall` to the tag "neuraltalk-subscribers", first
  brought in step with the batch (members not in it are untagged, its recipients tagged, 50 per
  call), so that the tag reaches exactly them.
"""

from __future__ import annotations

import math

from bot.broadcast.request import Job
from bot.store.campaigns import Campaign
from bot.wechat.api import FatalError, RecipientError, TransientError
from bot.wechat.tags import Tags

MASS_MAX = 10_000
TAG_NAME = "neuraltalk-subscribers"
PAGE = 1000


def clientmsgid(campaign: Campaign, batch_id: str) -> str:
    """Stable for a campaign's batch, distinct across databases (the creation time is in it)."""
    return f"nt-{campaign.issue}-{campaign.id}-{int(campaign.created_at.timestamp())}-{batch_id}"


def balanced(total: int, most: int) -> list[int]:
    """ceil(total / most) sizes differing by at most one (so never 1 unless total is 1)."""
    if total <= 0:
        return []
    n = math.ceil(total / most)
    return [total // n + (1 if i < total % n else 0) for i in range(n)]


class MassLane:
    def __init__(self, job: Job) -> None:
        self.store, self.api, self.campaign, self.owner = (
            job.store,
            job.api,
            job.campaign,
            job.owner,
        )
        self.texts, self.tally = job.texts, job.tally
        self.service = job.request.account_type == "service"
        self.tags = Tags(job.api)

    async def run(self) -> None:
        """Re-send adopted in-doubt batches, then claim and send the pending ones."""
        cid = self.campaign.id
        for batch_id, key, size in await self.store.adopt_mass_batches(cid, self.owner):
            await self._send(batch_id, key, size)
        for key, total in await self.store.pending_mass_keys(cid):
            for size in balanced(total, MASS_MAX if self.service else total):
                batch_id = str(await self.store.next_batch_number(cid))
                claimed = await self._claim(batch_id, key, size)
                if claimed:
                    await self._send(batch_id, key, claimed)

    async def _claim(self, batch_id: str, key: str, size: int) -> int:
        claimed = 0
        while claimed < size:
            got = await self.store.claim_batch(
                self.campaign.id, self.owner, min(PAGE * 10, size - claimed),
                channel="mass", digest_key=key, batch_id=batch_id,
            )  # fmt: skip
            if not got:
                break
            claimed += len(got)
        return claimed

    async def _send(self, batch_id: str, key: str, size: int) -> None:
        cid, msgid = self.campaign.id, clientmsgid(self.campaign, batch_id)
        if self.service and size < 2:
            self.tally.skipped["mass-needs-2"] += size
            await self.store.close_batch(cid, batch_id, "skipped", None, "mass-needs-2")
            return
        await self.store.record_mass_job(
            cid, batch_id, clientmsgid=msgid, digest_key=key, recipients=size, status="sending"
        )
        try:
            msg_id = await self._call(batch_id, key, msgid)
        except FatalError:
            await self.store.close_batch(cid, batch_id, "pending")
            raise
        except TransientError:  # left sending: the next run re-sends it under the same id
            self.tally.in_doubt += size
            return
        except RecipientError as exc:
            self.tally.failed[exc.errcode] += size
            await self.store.close_batch(cid, batch_id, "failed", exc.errcode, str(exc))
            return
        await self.store.close_batch(cid, batch_id, "sent")
        await self.store.record_mass_job(
            cid, batch_id, clientmsgid=msgid, digest_key=key, recipients=size, status="sent",
            msg_id=msg_id,
        )  # fmt: skip
        self.tally.mass_sent += size

    async def _call(self, batch_id: str, key: str, msgid: str) -> str:
        text = self.texts[key]
        if self.service:
            openids = [o async for page in self._pages(batch_id) for o in page]
            return await self.api.mass_send(openids, text, msgid)
        tag_id = await self.tags.get_or_create(TAG_NAME)
        await self._sync_tag(tag_id, batch_id)
        return await self.api.mass_sendall(tag_id, text, msgid)

    def _pages(self, batch_id: str):  # type: ignore[no-untyped-def]
        return self.store.batch_pages(self.campaign.id, batch_id, PAGE)

    async def _sync_tag(self, tag_id: int, batch_id: str) -> None:
        """Make the tag's members exactly the batch's recipients, page by page."""
        page: list[str] = []
        async for openid in self.tags.members(tag_id):
            page.append(openid)
            if len(page) == PAGE:
                await self._untag_others(tag_id, batch_id, page)
                page = []
        if page:
            await self._untag_others(tag_id, batch_id, page)
        async for openids in self._pages(batch_id):
            await self.tags.add(tag_id, openids)

    async def _untag_others(self, tag_id: int, batch_id: str, page: list[str]) -> None:
        keep = await self.store.in_batch(self.campaign.id, batch_id, page)
        await self.tags.remove(tag_id, [o for o in page if o not in keep])
