"""The WeChat webhook: create_app(settings) and its one handler, verify → parse → dedupe → reply.

GET /wechat is the signature handshake, POST /wechat one message or event (wechat.mode plain,
compatible or safe), GET /healthz says whether the archive is open, the store writable and
Redis reachable (with redis.url), GET /metrics the Prometheus metrics (bot.metrics; loopback
only unless server.metrics_token is set). A reply that needs neither the store nor shared state
(help, dates, searches: replies.instant) is given at once; the others run once per message key,
retries joining the first attempt. Retries, pages and replays are kept in this process or in
Redis (bot.chat.state); while Redis is down messages are answered that the service is busy
and events get a 503. The archive and the store are opened once at start-up (cleanup_ctx);
the archive follows `neuraltalk ingest` (bot.chat.live). Bad requests get a 4xx and one log
line, before anything reaches the store. An event whose work is not committed within the
deadline gets a 503, so WeChat retries it; a message's reply that misses the deadline is sent
later by customer-service message (bot.chat.late).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import datetime

from aiohttp import web
from multidict import MultiMapping

from bot.chat import texts
from bot.chat.connections import Guard
from bot.chat.late import LateReplies
from bot.chat.live import LiveArchive, freeze_heap
from bot.chat.monitor import metrics_page
from bot.chat.replies import Deps, instant, reply_to
from bot.chat.sessions import Interactions
from bot.chat.state import State, state_for
from bot.chat.verify import Verifier
from bot.config import Settings
from bot.metrics import Metrics
from bot.shared import SharedUnavailable
from bot.store.store import Store
from bot.wechat.protocol import Incoming, Rejected, render_text
from index.search import Archive

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
BODY_TIMEOUT = 5.0  # seconds to send the body once the headers are in
REPLY_DEADLINE = 4.5  # WeChat gives up after 5 s


class Webhook:
    """The handler and everything it holds: settings, deps, retry cache, interaction times."""

    def __init__(self, settings: Settings, deps: Deps, reload_every: float) -> None:
        self.settings = settings
        self.metrics = deps.metrics = Metrics()
        self.state: State = state_for(settings, self.metrics)
        self.verifier = Verifier(settings.wechat, self.state.replays)
        deps.sessions = self.state.pages
        self.deps = deps
        self.retries = self.state.retries
        self.interactions = Interactions(self._touch)
        self.late = LateReplies()
        self.archive = LiveArchive(settings, deps, self.metrics, reload_every)
        self.deadline = REPLY_DEADLINE
        self.body_timeout = BODY_TIMEOUT

    # --- protocol --------------------------------------------------------------------------

    async def read(self, request: web.Request) -> bytes:
        if (request.content_length or 0) > MAX_BODY:
            raise Rejected(413, f"body of {request.content_length} bytes")
        try:
            if request.content.is_eof():  # it all came with the headers: nothing to wait for
                body = request.content.read_nowait()
                if len(body) > MAX_BODY:  # a chunked body has no Content-Length to check
                    raise Rejected(413, f"body of {len(body)} bytes")
                return body
            async with asyncio.timeout(self.body_timeout):
                return await request.read()  # bounded by the application's client_max_size
        except web.HTTPRequestEntityTooLarge:
            raise Rejected(413, f"body over {MAX_BODY} bytes") from None
        except TimeoutError:
            raise Rejected(408, f"body not sent within {self.body_timeout} s") from None

    def render(self, query: MultiMapping[str], message: Incoming, text: str | None) -> web.Response:
        if text is None:
            return web.Response(text="success")
        now = int(time.time())
        xml = render_text(message, text, now)
        crypto = self.verifier.crypto
        if crypto is not None and query.get("encrypt_type") == "aes":
            xml = crypto.encrypt(xml, query.get("nonce", ""), now)
        return web.Response(body=xml, content_type="application/xml", charset="utf-8")

    # --- handlers --------------------------------------------------------------------------

    async def handshake(self, request: web.Request) -> web.Response:
        try:
            self.verifier.query(request.query)
        except Rejected as exc:
            self.metrics.requests.labels("handshake", "refused").inc()
            return self.refuse(request, exc)
        self.metrics.requests.labels("handshake", "ok").inc()
        return web.Response(text=request.query.get("echostr", ""))

    async def post(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        kind, outcome, response = await self.answer(request)
        self.metrics.answered(kind, outcome, time.perf_counter() - started)
        return response

    async def answer(self, request: web.Request) -> tuple[str, str, web.Response]:
        """(kind, outcome, response) for one POST: kind message, event or unknown (unread)."""
        try:
            self.verifier.query(request.query)
            body = await self.read(request)
            message = self.verifier.body(request.query, body)
        except Rejected as exc:
            return "unknown", "refused", self.refuse(request, exc)
        except ConnectionError as exc:  # the client gave up mid-body: nobody to answer
            log.debug("%s from %s: connection lost mid-request (%s)", request.path,
                      request.remote, exc)  # fmt: skip
            return "unknown", "failed", web.Response(status=400, text="connection lost\n")
        self.archive.maybe_reload()
        click = message.kind == "event" and message.event == "click"  # answered as text
        kind = "event" if message.kind == "event" and not click else "message"
        try:
            await self.verifier.replay(request.query, body)
        except Rejected as exc:
            return kind, "refused", self.refuse(request, exc)
        except SharedUnavailable:
            return kind, "busy", self.busy(request.query, message, kind)
        if kind == "event":
            return kind, *await self.event(request.query, message)
        self.interactions.note(message.openid)
        outcome, text = await self.message(message)
        return kind, outcome, self.render(request.query, message, text)

    def busy(self, query: MultiMapping[str], message: Incoming, kind: str) -> web.Response:
        """Redis is down: a message is told so, an event gets a 503 (WeChat retries it)."""
        if kind == "event":
            return web.Response(status=503, text="shared state unavailable, retry\n")
        return self.render(query, message, texts.BUSY)

    async def message(self, message: Incoming) -> tuple[str, str | None]:
        """The outcome and the reply text; None (`success`) when it is late: then it goes by
        customer service."""
        key = message.dedupe_key
        if self.late.pending(key):
            return "ok", None  # a retry of a message already being answered late
        try:
            text = instant(message, self.deps)  # help, dates, searches: no task, no retry memory
            if text is not None:
                return "ok", text
            attempt = await self.retries.start(key, lambda: reply_to(message, self.deps))
            if attempt.joined:
                self.metrics.retries_joined.inc()
            async with asyncio.timeout(self.deadline):  # no extra task, unlike wait_for
                return "ok", await asyncio.shield(attempt.task)
        except TimeoutError:
            if attempt.own:  # else the process that runs it sends it
                log.warning("no reply to %s within %s s; sending it later by customer service",
                            key, self.deadline)  # fmt: skip
                self.late.follow(key, message.openid, attempt.task)
                self.retries.went_late(key)
            return "late", None
        except SharedUnavailable:
            return "busy", texts.BUSY
        except Exception:
            log.exception("reply to %s failed", key)
            return "failed", texts.TRY_AGAIN

    async def event(self, query: MultiMapping[str], message: Incoming) -> tuple[str, web.Response]:
        """`success` only once the event's work is committed; else 503, and WeChat retries."""
        key = message.dedupe_key
        try:
            attempt = await self.retries.start(key, lambda: reply_to(message, self.deps))
            if attempt.joined:
                self.metrics.retries_joined.inc()
            async with asyncio.timeout(self.deadline):
                text = await asyncio.shield(attempt.task)
        except TimeoutError:
            log.warning("event %s not recorded within %s s; 503 so that WeChat retries", key,
                        self.deadline)  # fmt: skip
            return "late", web.Response(status=503, text="not recorded yet, retry\n")
        except SharedUnavailable:
            return "busy", web.Response(status=503, text="shared state unavailable, retry\n")
        except Exception as exc:
            log.warning("event %s not recorded (503, WeChat retries): %s", key, exc)
            return "failed", web.Response(status=503, text="not recorded, retry\n")
        return "ok", self.render(query, message, text)

    async def healthz(self, request: web.Request) -> web.Response:
        archive, store = self.deps.archive, self.deps.store
        if archive is None:
            return web.json_response({"status": "starting", "reason": "no index yet"}, status=503)
        problem = "no store" if store is None else store.problem()
        if problem is not None:
            body = {"status": "store-unavailable", "reason": problem}
            return web.json_response(body, status=503)
        shared = self.state.shared
        problem = None if shared is None else await shared.problem()
        if problem is not None:
            return web.json_response({"status": "redis-unavailable", "reason": problem}, status=503)
        issues, entries = archive.counts()
        return web.json_response({"status": "ok", "issues": issues, "entries": entries})

    def refuse(self, request: web.Request, exc: Rejected) -> web.Response:
        log.warning("%s %s from %s refused (%d): %s", request.method, request.path,
                    request.remote, exc.status, exc)  # fmt: skip
        return web.Response(status=exc.status, text=f"{exc}\n")

    async def _touch(self, batch: Mapping[str, datetime]) -> None:
        if self.deps.store is not None:
            await asyncio.wait_for(self.deps.store.touch(batch), 10.0)


# More routes on the same application (bot.web's archive pages): given the app, the settings
# and the webhook's live archive; the caller (bot.cli) chooses them, so chat imports none.
Pages = Callable[[web.Application, Settings, Callable[[], Archive | None]], None]

WEBHOOK = web.AppKey("webhook", Webhook)
CONNECTIONS = web.AppKey("connections", Guard)
FLUSH_EVERY = web.AppKey("flush_every", float)


async def _resources(
    app: web.Application, own_archive: bool, open_store: Callable[[], Awaitable[None]] | None
) -> AsyncIterator:
    hook = app[WEBHOOK]
    if open_store is not None:
        await open_store()  # the migrations; the Store object exists since create_app
    hook.archive.maybe_reload()  # opens the archive, or logs why it cannot yet
    hook.archive.count()
    shared = hook.state.shared
    await hook.late.open(hook.settings.wechat, hook.deps.store, hook.state.token_lock)
    flusher = asyncio.create_task(hook.interactions.run(app[FLUSH_EVERY]))
    watcher = asyncio.create_task(hook.archive.watch())
    folder = asyncio.create_task(hook.metrics.keep_folding())
    freeze_heap()
    hook.archive.frozen = True
    yield
    for task in (flusher, watcher, folder):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    hook.metrics.fold()  # the last answers, into the files that outlive a worker
    await hook.late.close()
    if shared is not None:
        await shared.close()
    if open_store is not None and hook.deps.store is not None:
        await hook.deps.store.close()
    if own_archive and hook.deps.archive is not None:
        hook.deps.archive.close()


def create_app(
    settings: Settings,
    archive: Archive | None = None,
    store: Store | None = None,
    *,
    reload_every: float = 1.0,
    flush_every: float = 5.0,
    pages: Pages | None = None,
) -> web.Application:
    """The application; archive and store are opened from settings unless passed in (kept open)."""
    open_store = None
    if store is None:
        store, open_store = Store.unopened(settings.storage.url)
    deps = Deps(archive=archive, store=store, issue_url=settings.archive.issue_url)
    hook = Webhook(settings, deps, reload_every)
    guard = Guard()
    app = web.Application(client_max_size=MAX_BODY)
    app[WEBHOOK] = hook
    app[CONNECTIONS] = guard  # serve() puts each connection under it
    app[FLUSH_EVERY] = flush_every
    app.cleanup_ctx.append(lambda a: _resources(a, archive is None, open_store))
    app.router.add_get("/wechat", hook.handshake)
    app.router.add_post("/wechat", hook.post)
    app.router.add_get("/healthz", hook.healthz)
    app.router.add_get("/metrics", metrics_page(hook.metrics, settings.server.metrics_token))
    if pages is not None:
        pages(app, settings, hook.archive.current)
    return app
