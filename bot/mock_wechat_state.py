"""The fake WeChat API's behaviour, without HTTP: tokens, messages, tags, faults and the log.

bot/mock_wechat.py serves it over HTTP. `MockWeChat.call(path, query, body)` answers one
/cgi-bin call as WeChat would (a JSON dict), or with an HTTP status (404, 500) or DROP.
Faults apply to the message and tag calls only; token calls have `token_error`. Random faults
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
from dataclasses import dataclass, field
from typing import Any

Answer = dict[str, Any]
DROP = 0  # call() outcome: close the connection without an answer


@dataclass
class Faults:
    """What goes wrong, and how the fake behaves; every field can be set by POST /_mock/faults."""

    seed: int = 0
    latency: float = 0.0  # seconds added to every message and tag call
    slow_probability: float = 0.0  # this share of calls take slow_seconds more
    slow_seconds: float = 0.0
    busy_probability: float = 0.0  # answer -1 (system busy)
    busy_first: int = 0  # the next N calls answer -1
    http500_probability: float = 0.0
    http500_first: int = 0
    drop_probability: float = 0.0  # close the connection without an answer
    drop_first: int = 0
    lost_answer_probability: float = 0.0  # do the call, then close without an answer
    lost_answer_first: int = 0
    recipient_errors: dict[str, int] = field(default_factory=dict)  # openid -> 45015, 43004...
    fail_all: int = 0  # every message and tag call answers this errcode (48001, 45009...)
    token_error: int = 0  # token calls answer this errcode (40013, 40125, 40164)
    no_stable_token: bool = False  # /cgi-bin/stable_token answers HTTP 404
    token_expires_in: int = 7200
    expire_token_after: int = 0  # after N more calls the tokens issued so far expire (once)
    expire_token_at: float = 0.0  # ... or at this Unix time (once)
    page_size: int = 10000  # openids per page of user/tag/get

    @classmethod
    def parse(cls, data: Any, base: Faults | None = None) -> Faults:
        """Faults from a JSON object, over `base`; ValueError says which key is wrong."""
        if not isinstance(data, dict):
            raise ValueError("faults must be a JSON object")
        base = base or cls()
        known = {f.name: type(getattr(base, f.name)) for f in dataclasses.fields(cls)}
        for key, value in data.items():
            kind = known.get(key)
            if kind is None:
                raise ValueError(f"unknown fault {key!r}; known: {', '.join(known)}")
            ok = isinstance(value, kind) or (kind is float and isinstance(value, int))
            if not ok or (kind is not bool and isinstance(value, bool)):
                raise ValueError(f"fault {key!r} must be a {kind.__name__}")
        if "recipient_errors" in data:
            errors = data["recipient_errors"]
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in errors.values()):
                raise ValueError("recipient_errors must map openids to error codes")
        return dataclasses.replace(base, **data)


@dataclass(slots=True)
class Record:
    """One message as a follower would receive it."""

    seq: int
    openid: str | None  # None: a mass send to everyone
    tag_id: int | None
    channel: str  # custom, mass, sendall, preview
    content: str
    clientmsgid: str | None
    msg_id: int | None
    time: float

    def as_json(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__slots__}


def _ok(**extra: Any) -> Answer:
    return {"errcode": 0, "errmsg": "ok", **extra}


def _err(code: int, msg: str) -> Answer:
    return {"errcode": code, "errmsg": msg}


def _text(body: Answer) -> str | None:
    text = body.get("text")
    content = text.get("content") if isinstance(text, dict) else None
    return content if body.get("msgtype") == "text" and isinstance(content, str) else None


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
        self.tags: dict[int, tuple[str, dict[str, None]]] = {}
        self.mass_ids: dict[str, int] = {}
        self.next_msg_id = 1000000001
        self.set_faults(faults or Faults())
        self._routes = self.routes()

    def set_faults(self, faults: Faults) -> None:
        self.faults = faults
        self.rng = random.Random(faults.seed)
        self.left = {
            "busy": faults.busy_first,
            "http500": faults.http500_first,
            "drop": faults.drop_first,
            "lost": faults.lost_answer_first,
            "expire": faults.expire_token_after,
        }

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
            return _err(self.faults.token_error, "token error injected by the fake")
        if params.get("grant_type") != "client_credential":
            return _err(40002, "invalid grant_type")
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
        if f.expire_token_at and time.time() >= f.expire_token_at:
            self.faults = dataclasses.replace(f, expire_token_at=0.0)
            self.expire_tokens()
        expires = self.tokens.get(token or "")
        if expires is None:
            return _err(40001, "invalid credential, access_token is invalid or not latest")
        if expires <= time.time():
            return _err(42001, "access_token expired")
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

    # --- messages and tags --------------------------------------------------------------

    def _record(self, openid: str | None, channel: str, content: str, **extra: Any) -> None:
        content = self.texts.setdefault(content, content)  # one copy of each distinct text
        rec = Record(len(self.log) + 1, openid, None, channel, content, None, None, time.time())
        for key, value in extra.items():
            setattr(rec, key, value)
        self.log.append(rec)
        if openid is not None:
            self.per_openid[openid] += 1
        if self.echo:
            who = openid if openid is not None else f"tag {rec.tag_id}"
            line = content[:60].replace("\n", " ")
            print(f"{channel:<8} {who}  {line}", flush=True)

    def custom_send(self, body: Answer) -> Answer:
        openid, content = body.get("touser"), _text(body)
        if not isinstance(openid, str) or content is None:
            return _err(44002, "touser and a text message are required")
        if len(content.encode()) > 2048:
            return _err(45002, "content size out of limit")
        code = self.faults.recipient_errors.get(openid)
        if code:
            return _err(code, "recipient error injected by the fake")
        self._record(openid, "custom", content)
        return _ok()

    def preview(self, body: Answer) -> Answer:
        openid, content = body.get("touser"), _text(body)
        if not isinstance(openid, str) or content is None:
            return _err(44002, "touser and a text message are required")
        code = self.faults.recipient_errors.get(openid)
        if code:
            return _err(code, "recipient error injected by the fake")
        self._record(openid, "preview", content)
        return _ok(msg_id=self._msg_id())

    def _msg_id(self) -> int:
        self.next_msg_id += 1
        return self.next_msg_id - 1

    def _mass(
        self, body: Answer, channel: str, openids: list[str] | None, tag: int | None
    ) -> Answer:
        content, clientmsgid = _text(body), body.get("clientmsgid")
        if content is None:
            return _err(44002, "a text message is required")
        if isinstance(clientmsgid, str) and clientmsgid in self.mass_ids:
            return {**_err(45065, "clientmsgid exist"), "msg_id": self.mass_ids[clientmsgid]}
        msg_id = self._msg_id()
        if isinstance(clientmsgid, str):
            self.mass_ids[clientmsgid] = msg_id
        skip = self.faults.recipient_errors
        extra = {"tag_id": tag, "clientmsgid": clientmsgid, "msg_id": msg_id}
        for openid in openids if openids is not None else [None]:
            if openid is None or openid not in skip:
                self._record(openid, channel, content, **extra)
        return _ok(msg_id=msg_id, msg_data_id=msg_id)

    def mass_send(self, body: Answer) -> Answer:
        touser = body.get("touser")
        if not isinstance(touser, list) or not all(isinstance(o, str) for o in touser):
            return _err(40130, "touser must be a list of openids")
        if not 2 <= len(touser) <= 10000:
            return _err(40130, "invalid openid list size, at least two openid")
        return self._mass(body, "mass", touser, None)

    def sendall(self, body: Answer) -> Answer:
        filt = body.get("filter")
        if not isinstance(filt, dict):
            return _err(44002, "filter is required")
        if filt.get("is_to_all") is True:
            return self._mass(body, "sendall", None, None)
        tag = self.tags.get(filt.get("tag_id"))  # type: ignore[arg-type]
        if tag is None:
            return _err(45159, "invalid tag id")
        return self._mass(body, "sendall", list(tag[1]), filt["tag_id"])

    def tags_get(self, body: Answer) -> Answer:
        listed = [{"id": i, "name": n, "count": len(m)} for i, (n, m) in self.tags.items()]
        return {"tags": listed}

    def tags_create(self, body: Answer) -> Answer:
        tag = body.get("tag")
        name = tag.get("name") if isinstance(tag, dict) else None
        if not isinstance(name, str) or not name or len(name.encode()) > 30:
            return _err(45158, "tag name too long")
        if any(n == name for n, _ in self.tags.values()):
            return _err(45157, "invalid tag name")
        if len(self.tags) >= 100:
            return _err(45056, "too many tags")
        tag_id = 100 + len(self.tags)
        self.tags[tag_id] = (name, {})
        return {"tag": {"id": tag_id, "name": name}}

    def _members(self, body: Answer) -> tuple[list[str], dict[str, None]] | Answer:
        openids, tag = body.get("openid_list"), self.tags.get(body.get("tagid"))  # type: ignore[arg-type]
        if not isinstance(openids, list) or not 1 <= len(openids) <= 50:
            return _err(40032, "invalid openid_list size, longer than 50")
        if tag is None:
            return _err(45159, "invalid tag id")
        if any(self.faults.recipient_errors.get(o) == 40003 for o in openids):
            return _err(40003, "invalid openid")
        return [str(o) for o in openids], tag[1]

    def tagging(self, body: Answer) -> Answer:
        found = self._members(body)
        if isinstance(found, dict):
            return found
        for openid in found[0]:
            found[1][openid] = None
        return _ok()

    def untagging(self, body: Answer) -> Answer:
        found = self._members(body)
        if isinstance(found, dict):
            return found
        for openid in found[0]:
            found[1].pop(openid, None)
        return _ok()

    def tag_members(self, body: Answer) -> Answer:
        tag = self.tags.get(body.get("tagid"))  # type: ignore[arg-type]
        if tag is None:
            return _err(45159, "invalid tag id")
        members = list(tag[1])
        after = body.get("next_openid") or ""
        start = members.index(after) + 1 if after in tag[1] else 0
        page = members[start : start + self.faults.page_size]
        if not page:
            return {"count": 0, "next_openid": ""}
        return {"count": len(page), "data": {"openid": page}, "next_openid": page[-1]}

    def routes(self) -> dict[str, Callable[[Answer], Answer]]:
        return {
            "/cgi-bin/message/custom/send": self.custom_send,
            "/cgi-bin/message/mass/send": self.mass_send,
            "/cgi-bin/message/mass/sendall": self.sendall,
            "/cgi-bin/message/mass/preview": self.preview,
            "/cgi-bin/tags/get": self.tags_get,
            "/cgi-bin/tags/create": self.tags_create,
            "/cgi-bin/tags/members/batchtagging": self.tagging,
            "/cgi-bin/tags/members/batchuntagging": self.untagging,
            "/cgi-bin/user/tag/get": self.tag_members,
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
            return _err(47001, "data format error")
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
            return _err(-1, "system error")
        refused = self._check_token(query.get("access_token"))
        if refused is not None:
            return refused
        if f.fail_all:
            return _err(f.fail_all, "error injected by the fake")
        answer = handler(body)
        return DROP if self._hit("lost", f.lost_answer_probability) else answer

    def stats(self) -> dict[str, Any]:
        return {
            "calls": dict(self.calls),
            "token_calls": self.token_calls,
            "messages": len(self.log),
            "per_openid": dict(self.per_openid),
        }
