"""WeChat's side of the webhook: build a follower's message, sign and encrypt it, read the reply.

Used by `neuraltalk chat`, the tests and the benchmark, so that each talks to the webhook exactly
as WeChat's servers do (PLATFORM.md): the query carries signature/timestamp/nonce, and in safe mode
encrypt_type=aes and msg_signature over the <Encrypt> envelope.
"""

from __future__ import annotations

import base64
import html
import itertools
import random
import re
import time
from dataclasses import dataclass

import xmltodict
from wechatpy.crypto import PrpCrypto

from bot.wechat.protocol import Rejected, safe_fields, signature, signature_ok

ACCOUNT = "gh_neuraltalk"
_LINK = re.compile(r'<a href="([^"]*)">(.*?)</a>', re.S)


@dataclass(frozen=True)
class Push:
    """One HTTP request as WeChat would send it."""

    params: dict[str, str]
    body: bytes


class Follower:
    """Sends messages as WeChat does on behalf of followers; safe mode when an AES key is given."""

    def __init__(
        self, token: str, encoding_aes_key: str = "", appid: str = "", account: str = ACCOUNT
    ) -> None:
        self.token = token
        self.appid = appid
        self.account = account
        self._key = base64.b64decode(encoding_aes_key + "=") if encoding_aes_key else None
        self._ids = itertools.count(int(time.time() * 1000) * 1000 + random.randrange(1000))

    def message_xml(self, openid: str, msg_type: str, create_time: int, **fields: str) -> str:
        """A message's XML: the common fields, then `fields` (Content, Event, MsgId, ...)."""
        data = {
            "ToUserName": self.account,
            "FromUserName": openid,
            "CreateTime": str(create_time),
            "MsgType": msg_type,
            **fields,
        }
        return xmltodict.unparse({"xml": data}, full_document=False)

    def text(self, openid: str, content: str, msg_id: str | None = None) -> str:
        msg_id = msg_id or str(next(self._ids))
        return self.message_xml(openid, "text", int(time.time()), Content=content, MsgId=msg_id)

    def event(self, openid: str, event: str, create_time: int | None = None, **fields: str) -> str:
        stamp = int(time.time()) if create_time is None else create_time
        return self.message_xml(openid, "event", stamp, Event=event, **fields)

    def push(self, xml: str, timestamp: int | None = None, nonce: str | None = None) -> Push:
        """Sign (and in safe mode encrypt) a message's XML."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        nonce = nonce or str(random.randrange(10**9, 10**10))
        params = {"signature": signature(self.token, stamp, nonce), "timestamp": stamp}
        params["nonce"] = nonce
        params["openid"] = _field(xml, "FromUserName")
        if self._key is None:
            return Push(params, xml.encode("utf-8"))
        encrypt = PrpCrypto(self._key).encrypt(xml, self.appid).decode("ascii")
        params["encrypt_type"] = "aes"
        params["msg_signature"] = signature(self.token, stamp, nonce, encrypt)
        envelope = {"xml": {"ToUserName": self.account, "Encrypt": encrypt}}
        return Push(params, xmltodict.unparse(envelope, full_document=False).encode("utf-8"))

    def reply_text(self, body: bytes | str) -> str | None:
        """What the follower sees: the reply's Content (decrypted), or None for `success`/empty."""
        raw = body.decode("utf-8") if isinstance(body, bytes) else body
        if raw.strip() in ("", "success"):
            return None
        fields = safe_fields(raw)
        if "Encrypt" in fields:
            if self._key is None:
                raise Rejected(400, "encrypted reply but no AES key")
            stamp, nonce = fields.get("TimeStamp", ""), fields.get("Nonce", "")
            if not signature_ok(fields.get("MsgSignature", ""), self.token, stamp, nonce,
                                fields["Encrypt"]):  # fmt: skip
                raise Rejected(400, "reply with a bad MsgSignature")
            fields = safe_fields(PrpCrypto(self._key).decrypt(fields["Encrypt"], self.appid))
        return fields.get("Content", "")


def _field(xml: str, name: str) -> str:
    return safe_fields(xml).get(name, "")


def as_seen(text: str) -> str:
    """A reply as the follower's client shows it, links written as "title (url)"."""
    return html.unescape(_LINK.sub(lambda m: f"{m[2]} ({m[1]})", text))
