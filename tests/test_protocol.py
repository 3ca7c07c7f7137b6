"""bot.wechat.protocol: the body parser (expat, one level, no DTD) and the text reply template."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from bot.wechat.follower import Follower
from bot.wechat.protocol import Incoming, Rejected, parse_incoming, render_text, safe_fields

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
