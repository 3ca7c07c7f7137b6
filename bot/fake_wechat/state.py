"""The fake WeChat API's behaviour, without HTTP: tokens, messages, faults and the log.

bot/fake_wechat/server.py serves it over HTTP; the tags are bot.fake_wechat.tags', the menu and
QR codes bot.fake_wechat.account's, the Faults and Record types bot.fake_wechat.model's.
`MockWeChat.call(path, query, body)` answers one /cgi-bin call as WeChat would (a JSON dict), or
with an HTTP status (404, 500) or DROP. Faults apply to the message, tag, menu and QR code calls;
token calls have `token_error`. Random faults
draw from random.Random(seed), reseeded with every change of the faults.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from typing import Any

from bot.fake_wechat.account import MockAccount
from bot.fake_wechat.model import DROP, Answer, Faults, Record, err, ok, text_of
from bot.fake_wechat.tags import Members, MockTags


class MockWeChat:
    """The fake's state and handlers; `app[MOCK_KEY]` in the web application."""

    def __init__(self, faults: Faults | None = None, echo: bool = False) -> None:
        self.echo = echo
        self.url = ""
        self.reset(faults)

    def reset(self, faults: Faults | None = None) -> None:
        self.log: list[Record] = []
        self.texts: dict[str, str] = {}
        self.per_openid: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self.requests: deque[tuple[str, bytes]] = deque(maxlen=100)
        self.tokens: dict[str, float] = {}
        self.stable: str | None = None
        self._tags = MockTags(lambda: self.faults)
        self.account = MockAccount(lambda channel, content: self._record(None, channel, content))
        self.mass_ids: dict[str, int] = {}
        self.next_msg_id = 1000000001
        self.set_faults(faults or Faults())
        self._routes = self.routes()

    def set_faults(self, faults: Faults) -> None:
        self.faults = faults
        self.checked = 0  # message and tag calls whose token was checked
        self.rng = random.Random(faults.seed)
        self.left = {
            "busy": faults.busy_first,
            "http500": faults.http500_first,
            "drop": faults.drop_first,
            "lost": faults.lost_answer_first,
            "expire": faults.expire_token_after,
        }

    @property
    def tags(self) -> dict[int, tuple[str, Members]]:
        """The account's tags: id -> (name, members); tests may add one directly."""
        return self._tags.table

    @property
    def token_calls(self) -> int:
        return self.calls["/cgi-bin/token"] + self.calls["/cgi-bin/stable_token"]

    # --- tokens ---------------------------------------------------------------------------

    def _issue(self) -> Answer:
        token = f"mock-token-{len(self.tokens) + 1}-{self.rng.getrandbits(32):08x}"
        self.tokens[token] = time.time() + self.faults.token_expires_in
        return {"access_token": token, "expires_in": self.faults.token_expires_in}

    def token(self, params: Any, stable: bool) -> Answer:
        """/cgi-bin/token (a new token each time) or stable_token (the same while valid)."""
        if self.faults.token_error:
            return err(self.faults.token_error, "token error injected by the fake")
        if params.get("grant_type") != "client_credential":
            return err(40002, "invalid grant_type")
        now = time.time()
        if stable and self.stable and not params.get("force_refresh"):
            expires = self.tokens[self.stable]
            if expires > now:
                return {"access_token": self.stable, "expires_in": int(expires - now)}
        answer = self._issue()
        if stable:
            self.stable = answer["access_token"]
        return answer

    def expire_tokens(self) -> None:
        """Every token issued so far expires now (42001 from now on)."""
        for token in self.tokens:
            self.tokens[token] = 0.0

    def _check_token(self, token: str | None) -> Answer | None:
        f = self.faults
        if self.left["expire"] > 0:
            self.left["expire"] -= 1
            if self.left["expire"] == 0:
                self.expire_tokens()
        self.checked += 1
        if f.expire_token_every and self.checked % f.expire_token_every == 0:
            self.expire_tokens()
        if f.expire_token_at and time.time() >= f.expire_token_at:
            self.faults = dataclasses.replace(f, expire_token_at=0.0)
            self.expire_tokens()
        expires = self.tokens.get(token or "")
        if expires is None:
            return err(40001, "invalid credential, access_token is invalid or not latest")
        if expires <= time.time():
            return err(42001, "access_token expired")
        return None

    # --- faults ---------------------------------------------------------------------------

    def _hit(self, name: str, probability: float) -> bool:
        if self.left[name] > 0:
            self.left[name] -= 1
            return True
        return probability > 0 and self.rng.random() < probability

    async def _delay(self) -> None:
        f = self.faults
        delay = f.latency
        if f.slow_probability and self.rng.random() < f.slow_probability:
            delay += f.slow_seconds
        if delay > 0:
            await asyncio.sleep(delay)

    # --- messages (the tags are bot.fake_wechat.tags') ------------------------------------

    def _record(self, openid: str | None, channel: str, content: str, **extra: Any) -> None:
        content = self.texts.setdefault(content, content)  # one copy of each distinct text
        rec = Record(len(self.log) + 1, openid, None, channel, content, None, None, time.time())
        for key, value in extra.items():
            setattr(rec, key, value)
        self.log.append(rec)
        if openid is not None:
            self.per_openid[openid] += 1
        if self.echo:
            who = openid or ("account" if channel in ("menu", "qrcode") else f"tag {rec.tag_id}")
            line = content[:60].replace("\n", " ")
            print(f"{channel:<8} {who}  {line}", flush=True)

    def custom_send(self, body: Answer) -> Answer:
        openid, content = body.get("touser"), text_of(body)
        if not isinstance(openid, str) or content is None:
            return err(44002, "touser and a text message are required")
        if len(content.encode()) > 2048:
            return err(45002, "content size out of limit")
        code = self.faults.recipient_errors.get(openid)
        if code:
            return err(code, "recipient error injected by the fake")
        self._record(openid, "custom", content)
        return ok()

    def preview(self, body: Answer) -> Answer:
        openid, content = body.get("touser"), text_of(body)
        if not isinstance(openid, str) or content is None:
            return err(44002, "touser and a text message are required")
        code = self.faults.recipient_errors.get(openid)
        if code:
            return err(code, "recipient error injected by the fake")
        self._record(openid, "preview", content)
        return ok(msg_id=self._msg_id())

    def _msg_id(self) -> int:
        self.next_msg_id += 1
        return self.next_msg_id - 1

    def _mass(
        self, body: Answer, channel: str, openids: list[str] | None, tag: int | None
    ) -> Answer:
        content, clientmsgid = text_of(body), body.get("clientmsgid")
        if content is None:
            return err(44002, "a text message is required")
        if isinstance(clientmsgid, str) and clientmsgid in self.mass_ids:
            return {**err(45065, "clientmsgid exist"), "msg_id": self.mass_ids[clientmsgid]}
        msg_id = self._msg_id()
        if isinstance(clientmsgid, str):
            self.mass_ids[clientmsgid] = msg_id
        skip = self.faults.recipient_errors
        extra = {"tag_id": tag, "clientmsgid": clientmsgid, "msg_id": msg_id}
        for openid in openids if openids is not None else [None]:
            if openid is None or openid not in skip:
                self._record(openid, channel, content, **extra)
        return ok(msg_id=msg_id, msg_data_id=msg_id)

    def mass_send(self, body: Answer) -> Answer:
        touser = body.get("touser")
        if not isinstance(touser, list) or not all(isinstance(o, str) for o in touser):
            return err(40130, "touser must be a list of openids")
        if not 2 <= len(touser) <= 10000:
            return err(40130, "invalid openid list size, at least two openid")
        return self._mass(body, "mass", touser, None)

    def sendall(self, body: Answer) -> Answer:
        filt = body.get("filter")
        if not isinstance(filt, dict):
            return err(44002, "filter is required")
        if filt.get("is_to_all") is True:
            return self._mass(body, "sendall", None, None)
        tag = self.tags.get(filt.get("tag_id"))  # type: ignore[arg-type]
        if tag is None:
            return err(45159, "invalid tag id")
        return self._mass(body, "sendall", list(tag[1]), filt["tag_id"])

    def routes(self) -> dict[str, Callable[[Answer], Answer]]:
        return {
            "/cgi-bin/message/custom/send": self.custom_send,
            "/cgi-bin/message/mass/send": self.mass_send,
            "/cgi-bin/message/mass/sendall": self.sendall,
            "/cgi-bin/message/mass/preview": self.preview,
            **self._tags.routes(),
            **self.account.routes(),
        }

    async def call(self, path: str, query: Mapping[str, str], raw: bytes) -> Answer | int:
        """One /cgi-bin call: its JSON answer, an HTTP status or DROP."""
        self.calls[path] += 1
        self.requests.append((path, raw))
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return err(47001, "data format error")
        if path == "/cgi-bin/token":
            return self.token(query, stable=False)
        if path == "/cgi-bin/stable_token":
            return 404 if self.faults.no_stable_token else self.token(body, stable=True)
        handler = self._routes.get(path)
        return 404 if handler is None else await self._answer(handler, query, body)

    async def _answer(
        self, handler: Callable[[Answer], Answer], query: Mapping[str, str], body: Answer
    ) -> Answer | int:
        f = self.faults
        await self._delay()
        if self._hit("drop", f.drop_probability):
            return DROP
        if self._hit("http500", f.http500_probability):
            return 500
        if self._hit("busy", f.busy_probability):
            return err(-1, "system error")
        refused = self._check_token(query.get("access_token"))
        if refused is not None:
            return refused
        if f.fail_all:
            return err(f.fail_all, "error injected by the fake")
        answer = handler(body)
        return DROP if self._hit("lost", f.lost_answer_probability) else answer

    def stats(self) -> dict[str, Any]:
        return {
            "calls": dict(self.calls),
            "token_calls": self.token_calls,
            "messages": len(self.log),
            "per_openid": dict(self.per_openid),
        }
