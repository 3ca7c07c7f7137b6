"""The WeChat wire format on our side of the webhook: signatures, safe parsing, replies, AES.

See ../shared/wechat/PLATFORM.md. Signatures are compared in constant time. A body is read one
level under <xml> (the only shape WeChat sends: exactly that shape by one pattern, any other by
a parser) with any DTD refused, so no entity can be declared, expanded or fetched; required
fields are checked. A text reply, and safe mode's envelope around it, are written from fixed
templates, the text made safe for their CDATA sections; the AES is bot.wechat.cipher's. Every
request passes through here, so neither direction builds an object per field.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from dataclasses import dataclass
from xml.etree import ElementTree
from xml.parsers import expat

from bot.wechat.cipher import MessageCipher, WrongAppId

# XML 1.0 forbids these code points even inside CDATA; WeChat users can still type some of them.
_NOT_XML_CHARS = "\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff"
_NOT_XML = re.compile(f"[{_NOT_XML_CHARS}]")
_MASS_FIELDS = ("Status", "TotalCount", "FilterCount", "SentCount", "ErrorCount")
OPENID = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_COUNT = 10**8  # no mass send reaches this many followers
MAX_STAMP_DIGITS = 11
_VOICE_END = "。！？!?.，, "


class Rejected(Exception):
    """A request we refuse: `status` is the HTTP answer, the message is the one-line log reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class MassJob:
    """The totals of a MASSSENDJOBFINISH event."""

    msg_id: str
    status: str
    total: int
    filter_count: int
    sent: int
    errors: int


@dataclass(slots=True)
class Incoming:
    """One message or event from a follower, as the reply logic needs it. Not frozen, since a
    frozen dataclass costs four times as much to make, once per request; nothing changes one."""

    openid: str  # FromUserName
    account: str  # ToUserName: our account's id
    create_time: int
    kind: str  # text, image, voice, video, shortvideo, location, link, event, or the raw MsgType
    msg_id: str = ""
    content: str = ""
    event: str = ""  # lower case: subscribe, unsubscribe, masssendjobfinish, click, ...
    event_key: str = ""
    mass: MassJob | None = None

    @property
    def dedupe_key(self) -> str:
        """What identifies WeChat's retries of this message: never another follower's message.

        (FromUserName, MsgId); without MsgId (events), (FromUserName, CreateTime, MsgType,
        content or event and its key), so two different messages in one second stay two."""
        if self.msg_id:
            return f"m:{self.openid}:{self.msg_id}"
        what = self.content if self.kind != "event" else f"{self.event}:{self.event_key}"
        digest = hashlib.sha1(what.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        return f"t:{self.openid}:{self.create_time}:{self.kind}:{digest}"


def check_timestamp(stamp: str) -> int:
    """A query's timestamp as a number: only ASCII digits, at most 11; Rejected(400) else."""
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= MAX_STAMP_DIGITS):
        raise Rejected(400, f"timestamp {stamp[:20]!r} is not a number of at most 11 digits")
    return int(stamp)


def signature(*parts: str) -> str:
    """WeChat's signature: sha1 of the sorted parts joined."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def signature_ok(given: str, *parts: str) -> bool:
    """Constant-time check of a signature someone sent against the parts it should sign."""
    if not given.isascii():  # compare_digest takes only ASCII strings; a hex digest is ASCII
        return False
    return hmac.compare_digest(given, signature(*parts))


class _DTDRefused(Exception):
    """A body declared a document type (the only place entities can be declared)."""


def _refuse_dtd(*_: object) -> None:
    raise _DTDRefused


class _Children:
    """expat's handlers: the text of each child of the root (before any grandchild)."""

    __slots__ = ("depth", "fields", "name", "parts", "root")

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}
        self.depth = 0
        self.root = ""
        self.name = ""  # the child being read, "" once a grandchild began
        self.parts: list[str] = []

    def start(self, name: str, _attributes: object) -> None:
        self.depth += 1
        if self.depth == 1:
            self.root = name
        elif self.depth == 2:
            self.name, self.parts = name, []
        elif self.name:  # a grandchild ends the child's own text, as in ElementTree's .text
            self.fields[self.name] = "".join(self.parts)
            self.name = ""

    def end(self, _name: str) -> None:
        if self.depth == 2 and self.name:
            self.fields[self.name] = "".join(self.parts)
        self.depth -= 1

    def text(self, data: str) -> None:
        if self.depth == 2 and self.name:
            self.parts.append(data)


# The shape WeChat sends, and nothing else: <xml>, then children each holding one CDATA
# section or plain text without markup, entities or "]", and only characters XML allows
# (_NOT_XML's, and no carriage return: XML would turn \r\n into \n). Every part is atomic or
# possessive, so a body that fails does so in one pass (no backtracking into what matched).
_REFUSED = _NOT_XML_CHARS + "\r"
_CDATA = rf"<!\[CDATA\[((?:[^\]{_REFUSED}]++|\](?!\]>))*+)\]\]>"
_FIELD = rf"<([A-Za-z_][A-Za-z0-9_]{{0,63}})>(?:{_CDATA}|([^<&\]{_REFUSED}]*+))</\1>[ \t\n]*+"
_PLAIN_HEAD = re.compile(r"[ \t\n]*+<xml>[ \t\n]*+")
# after the head: fields, then the end; anything else (group 5) takes the rest, so that one
# pass over the body reads it or declines it
_PLAIN_TOKENS = re.compile(rf"{_FIELD}|(</xml>[ \t\n]*+\Z)|(.+)", re.S)


def safe_fields(body: bytes | str) -> dict[str, str]:
    """The <xml> root's child elements as text; Rejected(400) for non-XML, DTDs and entities.

    A body of exactly the shape WeChat sends (no declaration, attributes, comments, entities,
    nesting or carriage returns, only characters XML allows) is read by one pattern in one
    pass: the same fields ElementTree would give, in a fraction of its time. Any other body
    goes to a parser. Without a "<!DOCTYPE" anywhere in it, a body cannot declare an
    entity: ElementTree's C parser reads it. Otherwise expat's own handlers do, and refuse a
    document type if there is one (the words may also just be in a follower's text)."""
    fields = _plain(body)
    if fields is not None:
        return fields
    raw = body.encode("utf-8") if isinstance(body, str) else body
    root, fields = _read_refusing_dtd(raw) if b"<!DOCTYPE" in raw else _read(raw)
    if root != "xml":
        raise Rejected(400, f"root element is <{root}>, not <xml>")
    return fields


def _plain(body: bytes | str) -> dict[str, str] | None:
    """The fields of a body of exactly WeChat's shape; None for any other body."""
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            return None
    head = _PLAIN_HEAD.match(body)
    if head is None:
        return None
    fields: dict[str, str] = {}
    ended = False
    for name, cdata, text, end, other in _PLAIN_TOKENS.findall(body, head.end()):
        if other:
            return None  # the parser says what is wrong with it
        if end:
            ended = True
        else:
            fields[name] = cdata or text
    return fields if ended else None


def _read(body: bytes) -> tuple[str, dict[str, str]]:
    try:
        root = ElementTree.fromstring(body)
    except (ElementTree.ParseError, ValueError, UnicodeError) as exc:
        raise Rejected(400, f"body is not XML ({exc})") from None
    return root.tag, {child.tag: child.text or "" for child in root}


def _read_refusing_dtd(body: bytes) -> tuple[str, dict[str, str]]:
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.buffer_text = True
    children = _Children()
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    parser.StartElementHandler = children.start
    parser.EndElementHandler = children.end
    parser.CharacterDataHandler = children.text
    try:
        parser.Parse(body, True)
    except _DTDRefused:
        raise Rejected(400, "XML with a DTD or entities refused") from None
    except (expat.ExpatError, ValueError, UnicodeError) as exc:
        raise Rejected(400, f"body is not XML ({exc})") from None
    return children.root, children.fields


def _require(fields: dict[str, str], *names: str) -> None:
    missing = [n for n in names if not fields.get(n, "").strip()]
    if missing:
        raise Rejected(400, f"message without {', '.join(missing)}")


def _count(fields: dict[str, str], name: str) -> int:
    raw = fields[name].strip()
    if not (raw.isascii() and raw.isdigit()) or int(raw) > MAX_COUNT:
        raise Rejected(400, f"MASSSENDJOBFINISH {name} {raw[:20]!r} is not a count up to 10^8")
    return int(raw)


def _mass_job(fields: dict[str, str]) -> MassJob:
    _require(fields, "MsgID", *_MASS_FIELDS)
    total, filtered, sent, errors = (_count(fields, n) for n in _MASS_FIELDS[1:])
    if sent > total or filtered > total or errors > total:
        raise Rejected(400, f"MASSSENDJOBFINISH counts impossible: sent {sent} of {total}")
    return MassJob(
        fields["MsgID"].strip()[:64], fields["Status"].strip(), total, filtered, sent, errors
    )


def _content(kind: str, fields: dict[str, str]) -> str:
    """What the follower said: a voice's Recognition (speech to text); nothing in an image,
    a video, a location or a link."""
    if kind == "voice":
        return fields.get("Recognition", "").strip().rstrip(_VOICE_END)
    return ""


def _event(fields: dict[str, str]) -> str:
    """The event in lower case; a follow by QR code (EventKey qrscene_...) is subscribe_scan."""
    event = fields["Event"].strip().lower()
    if event == "subscribe" and fields.get("EventKey", "").startswith("qrscene_"):
        return "subscribe_scan"
    return event


def parse_incoming(body: bytes | str) -> Incoming:
    """Parse safely and keep what the reply needs; Rejected(400) for what WeChat never sends."""
    fields = safe_fields(body)
    get = fields.get
    openid, stamp = get("FromUserName", "").strip(), get("CreateTime", "").strip()
    kind = get("MsgType", "").strip().lower()
    if not (openid and stamp and kind and get("ToUserName", "").strip()):
        _require(fields, "ToUserName", "FromUserName", "CreateTime", "MsgType")
    if not OPENID.fullmatch(openid):
        raise Rejected(400, f"FromUserName {fields['FromUserName'][:70]!r} is not an openid")
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= MAX_STAMP_DIGITS):
        raise Rejected(400, f"CreateTime {stamp[:20]!r} is not a number of at most 11 digits")
    msg_id = get("MsgId", "").strip()
    if kind == "text":
        content = get("Content", "")
        if not content.strip():
            raise Rejected(400, "message without Content")
        return Incoming(openid, fields["ToUserName"], int(stamp), kind, msg_id, content)
    if kind != "event":
        return Incoming(openid, fields["ToUserName"], int(stamp), kind, msg_id,
                        _content(kind, fields))  # fmt: skip
    _require(fields, "Event")
    event = _event(fields)
    mass = _mass_job(fields) if event == "masssendjobfinish" else None
    key = get("EventKey", "").strip()
    return Incoming(openid, fields["ToUserName"], int(stamp), kind, msg_id, "", event, key, mass)


@functools.lru_cache(maxsize=4096)
def cdata_safe(text: str) -> str:
    """Text that cannot break the CDATA section it is put in (PLATFORM.md).

    Cached: replies to popular queries are the same cached page text, sanitised once."""
    return _NOT_XML.sub("", text).replace("]]>", "]]]]><![CDATA[>")


@functools.lru_cache(maxsize=4096)
def _cdata_bytes(text: str) -> bytes:
    """cdata_safe(text) in UTF-8, cached likewise: a popular page is encoded once."""
    return cdata_safe(text).encode("utf-8")


def strip_invalid(text: str) -> str:
    """Drop the code points XML cannot carry (control characters, lone surrogates)."""
    return _NOT_XML.sub("", text)


_TEXT_REPLY = (
    b"<xml>\n<ToUserName><![CDATA[%s]]></ToUserName>\n<FromUserName><![CDATA[%s]]></FromUserName>"
    b"\n<CreateTime>%d</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n"
    b"<Content><![CDATA[%s]]></Content>\n</xml>"
)


def render_text(message: Incoming, content: str, now: int) -> bytes:
    """The XML of a text reply to `message` (UTF-8): to the follower, from our account."""
    # an openid is [A-Za-z0-9_-] (parse_incoming): nothing to make safe, and not cached, so
    # that thousands of followers do not push the popular pages out of the cache
    to, sender = message.openid.encode("ascii"), _cdata_bytes(message.account)
    return _TEXT_REPLY % (to, sender, now, _cdata_bytes(content))


_ENVELOPE = (
    "<xml>\n<Encrypt><![CDATA[{}]]></Encrypt>\n<MsgSignature><![CDATA[{}]]></MsgSignature>\n"
    "<TimeStamp>{}</TimeStamp>\n<Nonce><![CDATA[{}]]></Nonce>\n</xml>"
)


class Crypto:
    """Safe mode (安全模式): decrypt a request's <Encrypt>, encrypt our reply."""

    def __init__(self, token: str, encoding_aes_key: str, appid: str) -> None:
        self.token = token
        self.appid = appid
        self._cipher = MessageCipher(encoding_aes_key, appid)

    def decrypt(
        self, fields: dict[str, str], msg_signature: str, timestamp: str, nonce: str
    ) -> str:
        """The inner message XML; Rejected(403) for a bad signature or appid, 400 if corrupted."""
        encrypt = fields.get("Encrypt", "").strip()
        if not encrypt:
            raise Rejected(400, "safe-mode message without Encrypt")
        if not signature_ok(msg_signature, self.token, timestamp, nonce, encrypt):
            raise Rejected(403, "bad msg_signature")
        try:
            return self._cipher.decrypt(encrypt)
        except WrongAppId:
            raise Rejected(403, "encrypted for another appid") from None
        except ValueError as exc:
            raise Rejected(400, f"corrupted ciphertext ({exc})") from None

    def encrypt(self, xml: bytes, nonce: str, timestamp: int) -> bytes:
        """The encrypted envelope of a reply (UTF-8), signed with msg_signature."""
        encrypt = self._cipher.encrypt(xml)
        nonce, stamp = cdata_safe(nonce), str(timestamp)
        envelope = _ENVELOPE.format(encrypt, signature(self.token, stamp, nonce, encrypt), stamp,
                                    nonce)  # fmt: skip
        return envelope.encode("utf-8")
