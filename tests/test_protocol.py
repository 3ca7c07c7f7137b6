"""bot.wechat.protocol: the body reader (WeChat's shape by pattern, else expat, one level, no
DTD) and the text reply template."""

from __future__ import annotations

import random
import time
import xml.etree.ElementTree as ET

import pytest
from wechat_messages import AES_KEY, OTHER_TYPES

from bot.wechat.follower import Follower
from bot.wechat.protocol import (
    Incoming,
    Rejected,
    _plain,
    parse_incoming,
    render_text,
    safe_fields,
)

TEXT = (
    "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[oF_1]]></FromUserName>"
    "<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
    "<Content><![CDATA[量化 & <int8>]]></Content><MsgId>42</MsgId></xml>"
)


def test_fields_are_the_text_of_the_roots_children_as_elementtree_reads_them() -> None:
    bodies = [
        TEXT,
        "<xml><A>a &amp; b</A><B/><C>x<D>inner</D>tail</C><A>again</A></xml>",
        '<?xml version="1.0" encoding="UTF-8"?>\n<xml>\n  <A>  spaced  </A>\n</xml>',
    ]
    for body in bodies:
        tree = ET.fromstring(body)
        expected = {child.tag: child.text or "" for child in tree}
        assert safe_fields(body.encode()) == expected


@pytest.mark.parametrize(
    "body",
    [
        '<!DOCTYPE xml [<!ENTITY a "b">]><xml><A>&a;</A></xml>',
        '<!DOCTYPE xml SYSTEM "http://example.com/x.dtd"><xml><A>x</A></xml>',
        '<!DOCTYPE xml [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><xml/>',
    ],
)
def test_any_document_type_is_refused(body: str) -> None:
    with pytest.raises(Rejected, match="DTD") as refused:
        safe_fields(body.encode())
    assert refused.value.status == 400


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not xml at all", "not XML"),
        ("<xml><A>&undeclared;</A></xml>", "not XML"),
        ("<xml><A>x</A>", "not XML"),
        ("<message><A>x</A></message>", "root element is <message>"),
        (b"<xml><A>\xff\xfe</A></xml>", "not XML"),
    ],
)
def test_what_is_not_wechat_xml_is_a_400(body: str | bytes, reason: str) -> None:
    with pytest.raises(Rejected, match=reason) as refused:
        safe_fields(body if isinstance(body, bytes) else body.encode())
    assert refused.value.status == 400


def test_a_text_message_keeps_what_the_reply_needs() -> None:
    message = parse_incoming(TEXT.encode())
    assert message == Incoming(
        openid="oF_1", account="gh_1", create_time=1700000000, kind="text", msg_id="42",
        content="量化 & <int8>",
    )  # fmt: skip


def test_a_follow_by_qr_code_is_subscribe_scan() -> None:
    body = (
        "<xml><ToUserName>gh_1</ToUserName><FromUserName>oF_1</FromUserName>"
        "<CreateTime>1</CreateTime><MsgType>event</MsgType><Event>subscribe</Event>"
        "<EventKey>qrscene_topic:TVM</EventKey></xml>"
    )
    message = parse_incoming(body)
    assert (message.kind, message.event, message.event_key) == (
        "event", "subscribe_scan", "qrscene_topic:TVM"
    )  # fmt: skip


def test_a_reply_goes_back_to_the_follower_with_any_text_made_safe() -> None:
    message = parse_incoming(TEXT.encode())
    text = "结果 ]]> <b>&amp; \x00\x07 end"
    xml = render_text(message, text, 1700000001)
    root = ET.fromstring(xml)
    assert root.findtext("ToUserName") == "oF_1"
    assert root.findtext("FromUserName") == "gh_1"
    assert root.findtext("CreateTime") == "1700000001"
    assert root.findtext("MsgType") == "text"
    assert root.findtext("Content") == "结果 ]]> <b>&amp;  end"
    assert Follower("t", "", "wx").reply_text(xml) == "结果 ]]> <b>&amp;  end"


def test_a_follower_may_write_the_word_doctype_in_a_message() -> None:
    body = TEXT.replace("量化 & <int8>", "what is <!DOCTYPE html>?")
    assert parse_incoming(body.encode()).content == "what is <!DOCTYPE html>?"
    with pytest.raises(Rejected, match="DTD"):
        safe_fields(b'<!DOCTYPE xml [<!ENTITY a "b">]>' + body.encode())


def _tree_fields(body: str) -> dict[str, str] | None:
    try:
        root = ET.fromstring(body.encode("utf-8", "surrogatepass"))
    except (ET.ParseError, ValueError):
        return None
    return {child.tag: child.text or "" for child in root} if root.tag == "xml" else None


def _wechat_bodies() -> list[str]:
    """Bodies as WeChat sends them: every message type, events, safe mode's envelope."""
    follower = Follower("t", AES_KEY, "wx0123456789abcdef")
    bodies = [TEXT, follower.text("oF_1", "量化 Tengine 1", msg_id="7")]
    bodies += [follower.message_xml("oF_1", t, 1700000000, **f) for t, f in OTHER_TYPES.items()]
    bodies += [follower.event("oF_1", "subscribe", EventKey="qrscene_topic:TVM")]
    bodies += [follower.push(follower.text("oF_1", "剪枝")).body.decode()]  # the envelope
    return bodies


def test_every_body_wechat_sends_is_read_without_a_parser() -> None:
    for body in _wechat_bodies():
        assert _plain(body.encode()) == _tree_fields(body), body


_PIECES = [
    "<",
    ">",
    "&",
    "&amp;",
    "]]>",
    "]",
    "]]",
    "\r",
    "\r\n",
    "\x00",
    "\x85",
    "\ufeff",
    "é",
    " ",
    "\n",
    "<!--c-->",
    "<![CDATA[",
    "<A>",
    "</A>",
    "<B/>",
    ' x="1"',
    '<?xml version="1.0"?>',
    "<!DOCTYPE xml>",
    "</xml>",
    "<xml>",
    "<?pi?>",
    "\t",
    "x",
    "量化",
    "7",
]


def test_a_body_read_without_a_parser_reads_as_elementtree_reads_it() -> None:
    """Mutations of WeChat's bodies: whatever the pattern accepts, ElementTree reads the same;
    what it declines goes to the parser (safe_fields still equals ElementTree or refuses)."""
    rng = random.Random(20261202)
    seeds = _wechat_bodies()
    accepted = 0
    for _ in range(6000):
        body = rng.choice(seeds)
        for _ in range(rng.randint(1, 2)):
            at = rng.randrange(len(body) + 1)
            if rng.random() < 0.7:
                body = body[:at] + rng.choice(_PIECES) + body[at:]
            else:
                body = body[:at] + body[at + rng.randint(1, 8) :]
        fast, tree = _plain(body.encode("utf-8", "surrogatepass")), _tree_fields(body)
        if fast is not None:
            accepted += 1
            assert fast == tree, body
        if tree is not None and "<!DOCTYPE" not in body:
            assert safe_fields(body.encode()) == tree, body
    assert accepted > 500  # one in ten mutations is still of WeChat's shape: they are compared


def test_a_body_that_almost_matches_is_declined_at_once() -> None:
    """The pattern never backtracks into what it matched: a 64 KB body that fails late still
    fails in about one pass (the parser then says what is wrong with it)."""
    bodies = [
        "<xml><A><![CDATA[" + "]]></A>" * 8000 + "</B></xml>",
        "<xml>" + "<A><![CDATA[x]]></A>" * 3000 + "<A>x</B></xml>",
        "<xml><A>" + "x" * 60000,
    ]
    for body in bodies:
        started = time.process_time()
        for _ in range(20):
            assert _plain(body.encode()) is None
        # a backtracking pattern takes seconds on the first; one pass takes about a millisecond
        assert time.process_time() - started < 2.0
