"""The customer-service lane of a broadcast: many sends in flight, states written in batches.

Deliveries are reserved from the database in openid order, at most `window` (2 × concurrency)
ahead, and stay 'pending' while they wait in the queue, for the rate limiter or for a worker.
A worker makes its delivery 'sending' just before writing the request (Ledger: the 'sending'
marks and the outcomes of all workers are written together, one transaction for whoever is
waiting), and its outcome goes out with its next 'sending' mark. So at any moment at most
`concurrency` deliveries are 'sending': after a kill -9, those are the ones in doubt.

Outcomes: sent; failed (a per-recipient error: 43004 also unsubscribes the follower; 45015
moves the recipient to the mass lane in auto mode when the mass lane can send its text);
pending again when WeChat provably did not take it (a fatal error, the API unreachable, busy
beyond the client's retries: the lane stops); in doubt when the request went out and its answer
was lost (AnswerLost): it stays 'sending' with the reason, reported, never re-sent blindly.
halt() stops the lane: nothing new is started, what is in flight finishes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiolimiter import AsyncLimiter

from bot.broadcast.plan import mass_route
from bot.broadcast.request import Job
from bot.errors import UserError
from bot.store.deliveries import Claimed, Outcome
from bot.store.store import Store
from bot.wechat.api import AnswerLost, FatalError, RecipientError, TransientError

UNFOLLOWED, OUTSIDE_WINDOW = 43004, 45015
GATHER = 0.003  # seconds the ledger waits for more when fewer than `batch` are waiting
LOST = "the answer was lost after the request went out: WeChat may have delivered it"


def limiter_for(rate: float) -> AsyncLimiter | None:
    """rate messages per second (0: none); below 1/s, one message every 1/rate seconds."""
    if rate <= 0:
        return None
    return AsyncLimiter(rate, 1.0) if rate >= 1 else AsyncLimiter(1, 1.0 / rate)


class Ledger:
    """Writes the workers' outcomes and 'sending' marks, one transaction for all who wait."""

    def __init__(
        self,
        store: Store,
        campaign_id: int,
        owner: str,
        on_written: Callable[[], None],
        batch: int = 1,
    ) -> None:
        self.store, self.campaign_id, self.owner = store, campaign_id, owner
        self.on_written, self.batch = on_written, batch
        self._outcomes: list[Outcome] = []
        self._begins: dict[str, asyncio.Future[bool]] = {}
        self._wake = asyncio.Event()
        self._closed = False
        self._failed: BaseException | None = None  # why the ledger stopped writing
        self._task = asyncio.create_task(self._run())

    async def begin(self, openid: str, outcome: Outcome | None) -> bool:
        """Record `outcome` (the worker's last) and make `openid` 'sending'; False: do not send."""
        if self._failed is not None:
            raise self._failed
        if outcome is not None:
            self._outcomes.append(outcome)
        future = asyncio.get_running_loop().create_future()
        self._begins[openid] = future
        self._wake.set()
        return await future

    def record(self, outcome: Outcome) -> None:
        self._outcomes.append(outcome)
        self._wake.set()

    async def close(self) -> None:
        """Write what is left and stop."""
        self._closed = True
        self._wake.set()
        await self._task

    async def _run(self) -> None:
        """Write until closed; when a write fails, every waiting and later begin() raises its
        error (nobody waits forever for a transaction that will not come)."""
        try:
            await self._loop()
        except BaseException as exc:
            self._failed = exc
            for future in self._begins.values():
                if not future.done():
                    future.set_exception(exc)
            raise

    async def _loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if len(self._begins) + len(self._outcomes) < self.batch and not self._closed:
                await asyncio.sleep(GATHER)  # a few more per transaction: far less CPU a send
            outcomes, self._outcomes = self._outcomes, []
            begins, self._begins = self._begins, {}
            if outcomes or begins:
                await self._write(outcomes, begins)
            elif self._closed:
                return

    async def _write(self, outcomes: list[Outcome], begins: dict[str, asyncio.Future[bool]]):
        try:
            begun = await self.store.settle(self.campaign_id, self.owner, outcomes, list(begins))
        except Exception as exc:
            for future in begins.values():
                if not future.done():
                    future.set_exception(exc)
            raise
        for openid, future in begins.items():
            if not future.done():  # a worker cancelled while it waited
                future.set_result(openid in begun)
        self._wake.set()  # once more: what came in meanwhile, or the end
        if outcomes:
            self.on_written()


class CustomLane:
    """Sends one campaign's pending custom deliveries; run() returns when none is left."""

    def __init__(self, job: Job, on_progress: Callable[[], None] = lambda: None) -> None:
        self.job, self.on_progress = job, on_progress
        self.store, self.api, self.texts, self.tally = job.store, job.api, job.texts, job.tally
        self.campaign_id, self.owner = job.campaign.id, job.owner
        self.concurrency = job.request.concurrency
        self.window = 2 * self.concurrency
        self.limiter = limiter_for(job.request.rate)
        self.auto = job.campaign.channel == "auto"
        self.stop: Exception | None = None
        self.halted = asyncio.Event()
        self._streak = 0
        self._queue: asyncio.Queue[Claimed | None] = asyncio.Queue()
        self._done = asyncio.Event()
        self._outstanding = 0
        self._after = ""  # the last openid reserved
        self._workers: list[asyncio.Task[None]] = []

    def halt(self, error: Exception | None = None) -> None:
        """Start nothing new (what is in flight finishes); `error` is why, if it is one."""
        if error is not None and self.stop is None:
            self.stop = error
        self.halted.set()

    def abort(self) -> None:
        """Cancel the requests in flight: their deliveries stay 'sending' (in doubt)."""
        self.halt()
        for worker in self._workers:
            worker.cancel()

    async def run(self) -> None:
        """Send until nothing is pending; raise the fatal error that stopped it, if any."""
        ledger = Ledger(
            self.store, self.campaign_id, self.owner, self.on_progress, self.concurrency // 4
        )
        self._workers = [asyncio.create_task(self._worker(ledger)) for _ in range(self.concurrency)]
        try:
            await self._feed()
        finally:
            for _ in self._workers:
                self._queue.put_nowait(None)
            await asyncio.gather(*self._workers, return_exceptions=True)
            await ledger.close()
        if self.stop is not None:
            raise self.stop

    async def _feed(self) -> None:
        """Reserve while fewer than `window` are out; return when all are done or halted."""
        exhausted = False
        refill_at = self.window - max(1, self.concurrency // 2)
        while True:
            if not self.halted.is_set() and not exhausted and self._outstanding <= refill_at:
                batch = await self.store.reserve(
                    self.campaign_id,
                    self.owner,
                    self.window - self._outstanding,
                    channel="custom",
                    after=self._after,
                )
                exhausted = not batch
                if batch:
                    self._after = batch[-1].openid
                for delivery in batch:
                    self._queue.put_nowait(delivery)
                self._outstanding += len(batch)
            if self._outstanding == 0 and (exhausted or self.halted.is_set()):
                return
            self._done.clear()
            await self._done.wait()

    def _finished_one(self) -> None:
        self._outstanding -= 1
        self._done.set()

    async def _worker(self, ledger: Ledger) -> None:
        last: Outcome | None = None
        try:
            while (delivery := await self._queue.get()) is not None:
                try:
                    if self.limiter is not None and not self.halted.is_set():
                        await self.limiter.acquire()
                    if self.halted.is_set() or not await ledger.begin(delivery.openid, last):
                        self.halt()  # halted, or the lease is lost: it stays pending
                        continue
                    last = await self._send(delivery)
                    self._count(last)
                    if last.errcode == UNFOLLOWED:
                        await self.store.unsubscribe_all(delivery.openid)
                finally:
                    self._finished_one()
        finally:
            if last is not None:
                ledger.record(last)

    async def _send(self, delivery: Claimed) -> Outcome:
        openid = delivery.openid
        try:
            await self.api.send_text(openid, self.texts[delivery.digest_key])
        except RecipientError as exc:
            self._streak = 0
            if exc.errcode == OUTSIDE_WINDOW and self.auto and self._mass_can_take(delivery):
                return Outcome(openid, "pending", channel="mass")
            return Outcome(openid, "failed", exc.errcode, str(exc)[:500])
        except FatalError as exc:
            self.halt(exc)
            return Outcome(openid, "pending")
        except AnswerLost as exc:
            self._failing(exc)
            return Outcome(openid, "doubt", exc.errcode, f"{LOST} ({exc.errmsg})"[:500])
        except TransientError as exc:  # busy beyond the retries: WeChat did not take it
            self._failing(exc)
            return Outcome(openid, "pending")
        except Exception as exc:  # a bug, not WeChat: stop; this one may have gone
            self.halt(exc)
            return Outcome(openid, "doubt", None, f"{type(exc).__name__}: {exc}"[:500])
        self._streak = 0
        return Outcome(openid, "sent")

    def _failing(self, exc: Exception) -> None:
        self._streak += 1
        if self._streak >= max(10, self.concurrency):
            self.halt(
                UserError(
                    f"the WeChat API keeps failing ({exc}): the broadcast stopped; "
                    "run the same command again later to resume"
                )
            )

    def _mass_can_take(self, delivery: Claimed) -> bool:
        """Whether the mass lane can send this recipient's text (plan.mass_route's rule)."""
        return mass_route(delivery.digest_key, self.job.request.account_type).channel == "mass"

    def _count(self, outcome: Outcome) -> None:
        t = self.tally
        if outcome.status == "sent":
            t.sent += 1
        elif outcome.status == "failed":
            t.failed[outcome.errcode or 0] += 1
            t.unsubscribed += outcome.errcode == UNFOLLOWED
        elif outcome.status == "pending" and outcome.channel == "mass":
            t.rerouted += 1
        elif outcome.status == "doubt":
            t.in_doubt += 1
