"""The fake WeChat API's vocabulary: what it gets wrong, what it records, how it answers.

Faults are what bot.fake_wechat.state.MockWeChat is told to get wrong (every field can be set by
POST /_mock/faults), Record is one message as a follower would receive it, and Answer, DROP,
ok(), err() and text_of() are the shape of its answers and requests.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

Answer = dict[str, Any]
DROP = 0  # MockWeChat.call() outcome: close the connection without an answer


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
    expire_token_every: int = 0  # every N calls the tokens issued so far expire (again and again)
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
    channel: str  # custom, mass, sendall, preview; menu and qrcode (the account's setup)
    content: str
    clientmsgid: str | None
    msg_id: int | None
    time: float

    def as_json(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__slots__}


def ok(**extra: Any) -> Answer:
    """A success answer, with its extra fields."""
    return {"errcode": 0, "errmsg": "ok", **extra}


def err(code: int, msg: str) -> Answer:
    """An error answer: WeChat's errcode and errmsg."""
    return {"errcode": code, "errmsg": msg}


def text_of(body: Answer) -> str | None:
    """The content of a text message's body, or None if it is not one."""
    text = body.get("text")
    content = text.get("content") if isinstance(text, dict) else None
    return content if body.get("msgtype") == "text" and isinstance(content, str) else None
