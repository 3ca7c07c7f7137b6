"""The WeChat webhook: create_app(settings) and its one handler, verify → parse → dedupe → reply.

GET /wechat is the signature handshake, POST /wechat one message or event (plain, compatible or
safe mode), GET /healthz says whether the archive is open. The archive and the store are opened
once at start-up (cleanup_ctx); the archive is reopened when `neuraltalk ingest` changed it.
Bad requests get a 4xx and one log line, before anything reaches the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from multidict import MultiMapping

from bot.chat import texts
from bot.chat.replies import Deps, reply_to
from bot.chat.sessions import Dedupe, Interactions
from bot.config import Settings
from bot.wechat.protocol import (
    Crypto,
    Incoming,
    Rejected,
    parse_incoming,
    render_text,
    safe_fields,
    signature_ok,
)
from index.errors import ArchiveError
from index.search import Archive

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
REPLY_DEADLINE = 4.5  # WeChat gives up after 5 s


class Webhook:
    """The handler and everything it holds: settings, deps, retry cache, interaction times."""

    def __init__(self, settings: Settings, deps: Deps, reload_every: float) -> None:
        wechat = settings.wechat
        self.settings = settings
        self.token = wechat.token
        self.window = wechat.timestamp_window
        key = wechat.encoding_aes_key
        self.crypto = Crypto(wechat.token, key, wechat.appid) if key else None
        self.deps = deps
        self.dedupe = Dedupe()
        self.interactions = Interactions(self._touch)
        self.reload_every = reload_every
        self._next_reload = 0.0

    # --- protocol --------------------------------------------------------------------------

    def verify(self, query: MultiMapping[str]) -> None:
        """The query's signature and timestamp, checked before the body is read."""
        sig, stamp, nonce = (query.get(k, "") for k in ("signature", "timestamp", "nonce"))
        if not (sig and stamp and nonce):
            raise Rejected(403, "no signature, timestamp or nonce")
        if not signature_ok(sig, self.token, stamp, nonce):
            raise Rejected(403, "bad signature")
        if self.window:
            try:
                skew = abs(time.time() - int(stamp))
            except ValueError:
                raise Rejected(403, "timestamp is not a number") from None
            if skew > self.window:
                raise Rejected(403, f"timestamp {skew:.0f} s away from now")

    async def read(self, request: web.Request) -> bytes:
        if (request.content_length or 0) > MAX_BODY:
            raise Rejected(413, f"body of {request.content_length} bytes")
        try:
            return await request.read()  # bounded by the application's client_max_size
        except web.HTTPRequestEntityTooLarge:
            raise Rejected(413, f"body over {MAX_BODY} bytes") from None

    def open(self, query: MultiMapping[str], body: bytes) -> Incoming:
        if query.get("encrypt_type", "raw") != "aes":
            return parse_incoming(body)
        if self.crypto is None:
            raise Rejected(400, "encrypted message, but wechat.encoding_aes_key is not set")
        inner = self.crypto.decrypt(
            safe_fields(body), query.get("msg_signature", ""), query["timestamp"], query["nonce"]
        )
        return parse_incoming(inner)

    def render(self, query: MultiMapping[str], message: Incoming, text: str | None) -> web.Response:
        if text is None:
            return web.Response(text="success")
        now = int(time.time())
        xml = render_text(message, text, now)
        if self.crypto is not None and query.get("encrypt_type") == "aes":
            xml = self.crypto.encrypt(xml, query.get("nonce", ""), now)
        return web.Response(text=xml, content_type="application/xml")

    # --- handlers --------------------------------------------------------------------------

    async def handshake(self, request: web.Request) -> web.Response:
        try:
            self.verify(request.query)
        except Rejected as exc:
            return self.refuse(request, exc)
        return web.Response(text=request.query.get("echostr", ""))

    async def post(self, request: web.Request) -> web.Response:
        try:
            self.verify(request.query)
            message = self.open(request.query, await self.read(request))
        except Rejected as exc:
            return self.refuse(request, exc)
        self.maybe_reload()
        if message.kind != "event":
            self.interactions.note(message.openid)
        try:
            async with asyncio.timeout(REPLY_DEADLINE):  # no extra task, unlike wait_for
                text = await self.dedupe.run(
                    message.dedupe_key, lambda: reply_to(message, self.deps)
                )
        except TimeoutError:
            log.warning("no reply to %s within %s s; answering success", message.dedupe_key,
                        REPLY_DEADLINE)  # fmt: skip
            text = None
        except Exception:
            log.exception("reply to %s failed", message.dedupe_key)
            text = texts.TRY_AGAIN
        return self.render(request.query, message, text)

    async def healthz(self, request: web.Request) -> web.Response:
        archive = self.deps.archive
        if archive is None:
            return web.json_response({"status": "starting", "reason": "no index yet"}, status=503)
        issues, entries = archive.counts()
        return web.json_response({"status": "ok", "issues": issues, "entries": entries})

    def refuse(self, request: web.Request, exc: Rejected) -> web.Response:
        log.warning("%s %s from %s refused (%d): %s", request.method, request.path,
                    request.remote, exc.status, exc)  # fmt: skip
        return web.Response(status=exc.status, text=f"{exc}\n")

    # --- resources -------------------------------------------------------------------------

    def maybe_reload(self) -> None:
        """Open the archive, or reopen it when `ingest` changed it: at most once a reload_every."""
        now = time.monotonic()
        if now < self._next_reload:
            return
        self._next_reload = now + self.reload_every
        try:
            if self.deps.archive is None:
                self.deps.archive = open_archive(self.settings)
                log.info("archive opened: %d issues, %d entries", *self.deps.archive.counts())
            elif self.deps.archive.reload_if_changed():
                self.deps.pages.clear()
                log.info("archive reloaded: %d issues, %d entries", *self.deps.archive.counts())
        except ArchiveError as exc:
            log.warning("archive not available: %s", exc)
        except Exception:  # a broken index must not take the webhook down; keep what we have
            log.exception("archive could not be (re)opened")

    async def _touch(self, batch: Mapping[str, datetime]) -> None:
        if self.deps.store is not None:
            await asyncio.wait_for(self.deps.store.touch(batch), 10.0)


def open_archive(settings: Settings) -> Archive:
    synonyms = Path(settings.archive.synonyms) if settings.archive.synonyms else None
    return Archive.open(Path(settings.archive.index_dir), synonyms)


WEBHOOK = web.AppKey("webhook", Webhook)


async def _resources(app: web.Application, own_archive: bool, own_store: bool) -> AsyncIterator:
    hook = app[WEBHOOK]
    if own_store:
        from bot.store.store import Store

        hook.deps.store = await Store.open(hook.settings.storage.url)
    hook.maybe_reload()  # opens the archive, or logs why it cannot yet
    flusher = asyncio.create_task(hook.interactions.run(app[FLUSH_EVERY]))
    yield
    flusher.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await flusher
    if own_store and hook.deps.store is not None:
        await hook.deps.store.close()
    if own_archive and hook.deps.archive is not None:
        hook.deps.archive.close()


FLUSH_EVERY = web.AppKey("flush_every", float)


def create_app(
    settings: Settings,
    archive: Archive | None = None,
    store: Any = None,
    *,
    reload_every: float = 1.0,
    flush_every: float = 5.0,
) -> web.Application:
    """The application; archive and store are opened from settings unless passed in (kept open)."""
    deps = Deps(archive=archive, store=store, issue_url=settings.archive.issue_url)
    hook = Webhook(settings, deps, reload_every)
    app = web.Application(client_max_size=MAX_BODY)
    app[WEBHOOK] = hook
    app[FLUSH_EVERY] = flush_every
    app.cleanup_ctx.append(lambda a: _resources(a, archive is None, store is None))
    app.router.add_get("/wechat", hook.handshake)
    app.router.add_post("/wechat", hook.post)
    app.router.add_get("/healthz", hook.healthz)
    return app
