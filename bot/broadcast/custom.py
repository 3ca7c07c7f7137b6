"""The customer-service lane of a broadcast: many sends in flight, states written in batches.

A sliding window: deliveries are claimed from the database (pending → sending) in batches, at
most `window` (2 × concurrency) at a time, going through the campaign in openid order, and
handed to `concurrency` workers sharing one rate limiter; results are written back in batches
of a quarter of the concurrency, or at least every 0.1 s (sending → sent / failed, or back to
pending for the ones a fatal error kept from being sent): a transaction per result would cost
more than the send. So at a crash, at most `window` deliveries are left 'sending': those are in
doubt (WeChat may or may not have taken them).

Per-recipient errors: 43004 unsubscribes the follower; 45015 (outside the 48-hour window) moves
the recipient to the mass lane in auto mode when the mass lane can send its text (a service
account: any; a subscription account: the whole issue only), else is recorded; 40003, 45047,
48002 are recorded.
A fatal error stops the lane: nothing more is sent and what was not sent goes back to pending.
A transient error that outlasted the client's retries leaves that delivery in doubt; a streak of
them stops the lane too (the API is down).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field

from aiolimiter import AsyncLimiter

from bot.errors import UserError
from bot.store.deliveries import Claimed, DeliveryResult
from bot.store.store import Store
from bot.wechat.api import FatalError, RecipientError, TransientError, WeChatAPI

UNFOLLOWED, OUTSIDE_WINDOW = 43004, 45015
FLUSH_EVERY = 0.1  # seconds: results are written back at least this often


@dataclass(frozen=True)
class Result:
    delivery: Claimed
    status: str  # sent, failed, pending (not sent), reroute (to mass), doubt (left sending)
    errcode: int | None = None


@dataclass
class Tally:
    """What one run did, for the progress display and the end report."""

    sent: int = 0
    failed: Counter[int] = field(default_factory=Counter)
    rerouted: int = 0
    in_doubt: int = 0
    unsubscribed: int = 0
    mass_sent: int = 0
    skipped: Counter[str] = field(default_factory=Counter)


def limiter_for(rate: float) -> AsyncLimiter | None:
    """rate messages per second (0: none); below 1/s, one message every 1/rate seconds."""
    if rate <= 0:
        return None
    return AsyncLimiter(rate, 1.0) if rate >= 1 else AsyncLimiter(1, 1.0 / rate)


class CustomLane:
    """Sends one campaign's pending custom deliveries; run() returns when none is left."""

    def __init__(
        self,
        store: Store,
        api: WeChatAPI,
        campaign_id: int,
        owner: str,
        texts: dict[str, str],
        *,
        concurrency: int,
        rate: float,
        auto: bool,
        account_type: str,
        tally: Tally,
        on_progress: Callable[[], None] = lambda: None,
    ) -> None:
        self.store, self.api, self.campaign_id, self.texts = store, api, campaign_id, texts
        self.owner = owner
        self.concurrency, self.window = concurrency, 2 * concurrency
        self.limiter = limiter_for(rate)
        self.auto, self.tally, self.on_progress = auto, tally, on_progress
        self.account_type = account_type
        self.stop: Exception | None = None
        self._streak = 0
        self._queue: asyncio.Queue[Claimed | None] = asyncio.Queue()
        self._results: list[Result] = []
        self._ready = asyncio.Event()
        self.flush_at = max(1, concurrency // 4)
        self._wanted = 1
        self._after = ""  # the last openid claimed

    async def run(self) -> None:
        """Send until nothing is pending; raise the fatal error that stopped it, if any."""
        workers = [asyncio.create_task(self._worker()) for _ in range(self.concurrency)]
        try:
            await self._feed()
        finally:
            for _ in workers:
                self._queue.put_nowait(None)
            await asyncio.gather(*workers, return_exceptions=True)
            await self._flush()
        if self.stop is not None:
            raise self.stop

    async def _feed(self) -> None:
        """Claim while fewer than `window` are out; write results back a batch at a time."""
        outstanding, exhausted = 0, False
        refill_at = self.window - max(1, self.concurrency // 2)
        while True:
            if self.stop is None and not exhausted and outstanding <= refill_at:
                batch = await self.store.claim_batch(
                    self.campaign_id,
                    self.owner,
                    self.window - outstanding,
                    channel="custom",
                    after=self._after,
                )
                exhausted = not batch
                if batch:
                    self._after = batch[-1].openid
                for delivery in batch:
                    self._queue.put_nowait(delivery)
                outstanding += len(batch)
            if outstanding == 0 and (exhausted or self.stop is not None):
                return
            await self._results_worth_writing(outstanding)
            outstanding -= await self._flush()

    async def _results_worth_writing(self, outstanding: int) -> None:
        """Wait for a quarter of `concurrency` results (or all that are out), at most 0.1 s."""
        self._wanted = 1 if self.stop is not None else min(self.flush_at, outstanding)
        if len(self._results) < self._wanted:
            self._ready.clear()
            with suppress(TimeoutError):
                async with asyncio.timeout(FLUSH_EVERY):
                    await self._ready.wait()

    async def _flush(self) -> int:
        results, self._results = self._results, []
        if not results:
            return 0
        done = [
            DeliveryResult(r.delivery.openid, r.status, r.errcode)
            for r in results
            if r.status in ("sent", "failed")
        ]
        cid, owner = self.campaign_id, self.owner
        await self.store.mark_results(cid, owner, done)
        back = [r.delivery.openid for r in results if r.status == "pending"]
        if back:
            await self.store.release(cid, owner, back)
        moved = [r.delivery.openid for r in results if r.status == "reroute"]
        if moved:
            await self.store.release(cid, owner, moved, channel="mass")
        for r in results:
            if r.errcode == UNFOLLOWED:
                await self.store.unsubscribe_all(r.delivery.openid)
        self.on_progress()
        return len(results)

    async def _worker(self) -> None:
        while (delivery := await self._queue.get()) is not None:
            if self.stop is not None:
                result = Result(delivery, "pending")
            else:
                try:
                    result = await self._send(delivery)
                except Exception as exc:  # a bug, not WeChat: stop; this one may have gone
                    self.stop = self.stop or exc
                    result = Result(delivery, "doubt")
            self._count(result)
            self._results.append(result)
            if len(self._results) >= self._wanted or self.stop is not None:
                self._ready.set()

    async def _send(self, delivery: Claimed) -> Result:
        text = self.texts[delivery.digest_key]
        try:
            if self.limiter is not None:
                async with self.limiter:
                    await self.api.send_text(delivery.openid, text)
            else:
                await self.api.send_text(delivery.openid, text)
        except RecipientError as exc:
            self._streak = 0
            if exc.errcode == OUTSIDE_WINDOW and self.auto and self._mass_can_take(delivery):
                return Result(delivery, "reroute", exc.errcode)
            return Result(delivery, "failed", exc.errcode)
        except FatalError as exc:
            self.stop = self.stop or exc
            return Result(delivery, "pending")
        except TransientError as exc:
            self._streak += 1
            if self._streak >= max(10, self.concurrency) and self.stop is None:
                self.stop = UserError(
                    f"the WeChat API keeps failing ({exc}): the broadcast stopped; "
                    "run the same command again later to resume"
                )
            return Result(delivery, "doubt", exc.errcode)
        self._streak = 0
        return Result(delivery, "sent")

    def _mass_can_take(self, delivery: Claimed) -> bool:
        """A service account mass-sends any text; a subscription account only the whole issue."""
        return self.account_type == "service" or delivery.digest_key == "full"

    def _count(self, result: Result) -> None:
        t = self.tally
        if result.status == "sent":
            t.sent += 1
        elif result.status == "failed":
            t.failed[result.errcode or 0] += 1
            t.unsubscribed += result.errcode == UNFOLLOWED
        elif result.status == "reroute":
            t.rerouted += 1
        elif result.status == "doubt":
            t.in_doubt += 1
