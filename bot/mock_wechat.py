"""A fake WeChat API server over real HTTP, for tests and for rehearsing a broadcast.

`neuraltalk mock-wechat [--port N]` runs it on loopback and prints every message it receives;
point wechat.api_base_url at it. Tests use `serve_mock()` (a free loopback port) or
`create_mock_app()`. It answers /cgi-bin/token, /cgi-bin/stable_token, message/custom/send,
message/mass/send, message/mass/sendall, message/mass/preview, tags/get, tags/create,
tags/members/batchtagging, batchuntagging and user/tag/get as WeChat does, checks the
access_token (40001 unknown, 42001 expired), keeps clientmsgid idempotent (45065 with the
earlier msg_id) and logs every message per openid (a mass send to a tag is logged once per
member). Any appid and secret are accepted.

Control endpoints, so that another process can drive it:
    GET  /_mock/log?openid=&channel=&offset=&limit=   {"total": N, "records": [...]}
    GET  /_mock/stats       calls per path, token_calls, messages, per_openid counts
    GET  /_mock/requests    the last raw request bodies (UTF-8 text)
    GET|POST /_mock/faults  read or change the faults (POST a partial JSON object of Faults)
    POST /_mock/reset       forget everything; the body, if any, is the new faults
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
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.errors import UserError

Answer = dict[str, Any]
RECIPIENT_CODES = {45015, 43004, 40003, 48002, 45047}


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
        if not params.get("appid") or not params.get("secret"):
            return _err(41002, "appid or secret missing")
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

    # --- HTTP -----------------------------------------------------------------------------

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

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Every /cgi-bin call: faults, token check, then the endpoint."""
        path = request.path
        self.calls[path] += 1
        raw = await request.read()
        self.requests.append((path, raw))
        body: Any = {}
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
        if not isinstance(body, dict):
            return web.json_response(_err(47001, "data format error"))
        if path in ("/cgi-bin/token", "/cgi-bin/stable_token"):
            if path == "/cgi-bin/stable_token" and self.faults.no_stable_token:
                raise web.HTTPNotFound()
            params = request.query if path == "/cgi-bin/token" else body
            return web.json_response(self.token(params, path.endswith("stable_token")))
        handler = self._routes.get(path)
        if handler is None:
            raise web.HTTPNotFound()
        return await self._answer(request, handler, body)

    async def _answer(
        self, request: web.Request, handler: Callable[[Answer], Answer], body: Answer
    ) -> web.StreamResponse:
        f = self.faults
        await self._delay()
        if self._hit("drop", f.drop_probability):
            return self._drop(request)
        if self._hit("http500", f.http500_probability):
            return web.Response(status=500, text="Internal Server Error")
        if self._hit("busy", f.busy_probability):
            return web.json_response(_err(-1, "system error"))
        refused = self._check_token(request.query.get("access_token"))
        if refused is not None:
            return web.json_response(refused)
        if f.fail_all:
            return web.json_response(_err(f.fail_all, "error injected by the fake"))
        answer = handler(body)
        if self._hit("lost", f.lost_answer_probability):
            return self._drop(request)
        return web.json_response(answer, dumps=_dumps)

    def _drop(self, request: web.Request) -> web.Response:
        if request.transport is not None:
            request.transport.abort()
        return web.Response()

    # --- control ------------------------------------------------------------------------

    async def get_log(self, request: web.Request) -> web.Response:
        q = request.query
        records = self.log
        if "openid" in q:
            records = [r for r in records if r.openid == q["openid"]]
        if "channel" in q:
            records = [r for r in records if r.channel == q["channel"]]
        offset = int(q.get("offset", 0))
        limit = int(q.get("limit", len(records)))
        chosen = [r.as_json() for r in records[offset : offset + limit]]
        return web.json_response({"total": len(records), "records": chosen}, dumps=_dumps)

    async def get_stats(self, request: web.Request) -> web.Response:
        stats = {
            "calls": dict(self.calls),
            "token_calls": self.token_calls,
            "messages": len(self.log),
            "per_openid": dict(self.per_openid),
        }
        return web.json_response(stats, dumps=_dumps)

    async def get_requests(self, request: web.Request) -> web.Response:
        bodies = [{"path": p, "body": b.decode("utf-8", "replace")} for p, b in self.requests]
        return web.json_response({"requests": bodies}, dumps=_dumps)

    async def faults_endpoint(self, request: web.Request) -> web.Response:
        if request.method == "POST":
            try:
                self.set_faults(Faults.parse(await request.json(), self.faults))
            except ValueError as exc:
                return web.json_response({"error": str(exc)}, status=400)
        return web.json_response(dataclasses.asdict(self.faults), dumps=_dumps)

    async def reset_endpoint(self, request: web.Request) -> web.Response:
        try:
            faults = Faults.parse(await request.json()) if await request.read() else None
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        self.reset(faults)
        return web.json_response({"reset": True})


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)


MOCK_KEY = web.AppKey("mock_wechat", MockWeChat)


def create_mock_app(
    faults: Faults | dict[str, Any] | None = None, echo: bool = False
) -> web.Application:
    """The fake as an aiohttp application; its state is app[MOCK_KEY]."""
    if isinstance(faults, dict):
        faults = Faults.parse(faults)
    mock = MockWeChat(faults, echo=echo)
    app = web.Application(client_max_size=4 * 1024 * 1024)
    app[MOCK_KEY] = mock
    app.router.add_route("*", "/cgi-bin/{tail:.*}", mock.handle)
    app.router.add_get("/_mock/log", mock.get_log)
    app.router.add_get("/_mock/stats", mock.get_stats)
    app.router.add_get("/_mock/requests", mock.get_requests)
    app.router.add_route("*", "/_mock/faults", mock.faults_endpoint)
    app.router.add_post("/_mock/reset", mock.reset_endpoint)
    return app


@asynccontextmanager
async def serve_mock(
    faults: Faults | dict[str, Any] | None = None, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[MockWeChat]:
    """Run the fake on a free loopback port: `async with serve_mock() as mock: mock.url`."""
    app = create_mock_app(faults)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    mock = app[MOCK_KEY]
    mock.url = f"http://{host}:{runner.addresses[0][1]}"
    try:
        yield mock
    finally:
        await runner.cleanup()


def run(host: str = "127.0.0.1", port: int = 8900) -> None:
    """`neuraltalk mock-wechat`: serve until Ctrl+C, printing every message received."""
    url = f"http://{host}:{port}"
    print(f"fake WeChat API on {url} (any appid and secret are accepted); Ctrl+C to stop")
    print(f"point the bot at it: wechat.api_base_url: {url} in neuraltalk.yaml,")
    print(f"  or NEURALTALK_WECHAT_API_BASE_URL={url}")
    print(f"log: {url}/_mock/log   faults: POST {url}/_mock/faults", flush=True)
    try:
        web.run_app(create_mock_app(echo=True), host=host, port=port, print=None, access_log=None)
    except OSError as exc:
        raise UserError(
            f"cannot listen on {host}:{port}: {exc.strerror}; try another --port"
        ) from None
