"""What the webhook checks before it believes a request came from WeChat.

The query's signature and timestamp (ASCII digits only, at most 11 of them), the mode
(wechat.mode: plain, compatible or safe; safe refuses anything without encrypt_type=aes and a
valid msg_signature, since the plain signature does not cover the body), and replays: a signed
(timestamp, nonce, signature) seen before with another body is refused. The memory of seen
requests (Replays: in memory, or in Redis with redis.url, bot.chat.redis_state) is bounded and
lasts timestamp_window seconds. Every refusal is a Rejected (a 4xx).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from multidict import MultiMapping

from bot.config import WechatSettings
from bot.wechat.protocol import (
    Crypto,
    Incoming,
    Rejected,
    check_timestamp,
    parse_incoming,
    safe_fields,
    signature_ok,
)

MODES = ("plain", "compatible", "safe")
SEEN_MAX = 200_000  # signed requests remembered; WeChat's retries resend the same body


class Replays(Protocol):
    """The signed URLs seen, with (a digest of) their body."""

    async def first_or_same(self, key: str, body: bytes) -> bool:
        """Remember `key` with `body`; False when it was seen before with another body."""
        ...


class MemoryReplays:
    """Replays in this process's memory, in two generations of at most SEEN_MAX / 2 each: a
    generation is retired `ttl` seconds after it began (or once full), so a signed URL is
    remembered `ttl` to twice `ttl` seconds. A body is remembered by hash(): SipHash, keyed at
    random in each process, so nobody outside can make another body with the same one."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._current: dict[str, int] = {}
        self._previous: dict[str, int] = {}
        self._retire_at = clock() + ttl

    async def first_or_same(self, key: str, body: bytes) -> bool:
        current = self._current
        if len(current) >= SEEN_MAX // 2 or self._clock() >= self._retire_at:
            self._previous, self._current = current, {}
            current = self._current
            self._retire_at = self._clock() + self._ttl
        seen = current.get(key)
        if seen is None:
            seen = self._previous.get(key)
        if seen is None:
            current[key] = hash(body)
            return True
        return seen == hash(body)


def mode_of(wechat: WechatSettings) -> str:
    """wechat.mode, or its default: safe when an EncodingAESKey is set, else plain."""
    return wechat.mode or ("safe" if wechat.encoding_aes_key else "plain")


class Verifier:
    """Signatures, timestamps, mode and replays; decrypts safe-mode bodies."""

    def __init__(self, wechat: WechatSettings, replays: Replays | None = None) -> None:
        self.token = wechat.token
        self.window = wechat.timestamp_window
        self.mode = mode_of(wechat)
        key = wechat.encoding_aes_key
        self.crypto = Crypto(wechat.token, key, wechat.appid) if key else None
        self.replays = replays or MemoryReplays(float(self.window or 300))

    def query(self, query: MultiMapping[str]) -> None:
        """The query's signature and timestamp, checked before the body is read."""
        get = query.get
        sig, stamp, nonce = get("signature", ""), get("timestamp", ""), get("nonce", "")
        if not (sig and stamp and nonce):
            raise Rejected(403, "no signature, timestamp or nonce")
        when = check_timestamp(stamp)
        if len(nonce) > 64:
            raise Rejected(400, "nonce longer than 64 characters")
        if not signature_ok(sig, self.token, stamp, nonce):
            raise Rejected(403, "bad signature")
        if self.window:
            skew = abs(time.time() - when)
            if skew > self.window:
                raise Rejected(403, f"timestamp {skew:.0f} s away from now")

    async def replay(self, query: MultiMapping[str], body: bytes) -> None:
        """Rejected when this signed URL was seen before with another body (SharedUnavailable
        when the shared memory of them cannot be reached)."""
        # the signature is a function of (timestamp, nonce) once verified: the key needs only them
        key = f"{query['timestamp']}:{query['nonce']}"
        if not await self.replays.first_or_same(key, body):
            raise Rejected(403, "a signed URL seen before, with another body: replay refused")

    def body(self, query: MultiMapping[str], body: bytes) -> Incoming:
        """The message in a verified request's body; Rejected in the wrong mode."""
        if query.get("encrypt_type", "raw") != "aes":
            if self.mode == "safe":
                raise Rejected(403, "plaintext request in safe mode (wechat.mode: safe)")
            return parse_incoming(body)
        if self.crypto is None:
            raise Rejected(400, "encrypted message, but wechat.encoding_aes_key is not set")
        inner = self.crypto.decrypt(
            safe_fields(body), query.get("msg_signature", ""), query["timestamp"], query["nonce"]
        )
        return parse_incoming(inner)
