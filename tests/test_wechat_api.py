"""The WeChat API client against the fake WeChat server, over real HTTP on loopback."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from wechat_api_support import CUSTOM, FAST, SECRET, make_api, set_faults

from bot.config import WechatSettings
from bot.credentials import api_from_settings, check_credentials
from bot.errors import UserError
from bot.wechat.api import (
    ERR_BAD_ANSWER,
    ERR_HTTP,
    ERR_NETWORK,
    AnswerLost,
    FatalError,
    MemoryTokenStore,
    RecipientError,
    TransientError,
)
from bot.wechat.tags import Tags


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


# --- errors sorted ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("faults", "calls"),
    [
        ({"busy_first": 3}, 4),
        ({"http500_first": 2}, 3),
        ({"busy_first": 1, "http500_first": 1}, 3),
        ({"busy_probability": 0.3, "http500_probability": 0.2, "seed": 7}, None),
    ],
)
async def test_transient_errors_are_retried_until_success(mock, session, faults, calls):
    set_faults(mock, **faults)
    api = make_api(session, mock.url)
    for i in range(3 if calls else 20):
        await api.send_text(f"o{i}", "hi")
    if calls:
        assert mock.calls[CUSTOM] == calls + 2
    assert all(n == 1 for n in mock.per_openid.values())
    assert len(mock.per_openid) == (3 if calls else 20)


@pytest.mark.parametrize(
    ("faults", "errcode"),
    [
        ({"busy_probability": 1.0}, -1),
        ({"fail_all": 45011}, 45011),
        ({"http500_probability": 1.0}, ERR_HTTP),
    ],
)
async def test_transient_errors_give_up_after_the_bounded_attempts(mock, session, faults, errcode):
    set_faults(mock, **faults)
    with pytest.raises(TransientError) as caught:
        await make_api(session, mock.url).send_text("o1", "hi")
    assert caught.value.errcode == errcode
    assert mock.calls[CUSTOM] == FAST.attempts


@pytest.mark.parametrize("fault", ["drop_first", "lost_answer_first"])
async def test_a_custom_send_without_answer_is_not_sent_again(mock, session, fault):
    set_faults(mock, **{fault: 1})
    with pytest.raises(AnswerLost) as caught:
        await make_api(session, mock.url).send_text("o1", "hi")
    assert caught.value.errcode == ERR_NETWORK
    assert mock.calls[CUSTOM] == 1  # it may have been delivered: never sent twice


async def test_an_idempotent_call_without_answer_is_retried(mock, session):
    set_faults(mock, drop_first=2)
    assert await Tags(make_api(session, mock.url)).fetch() == []
    assert mock.calls["/cgi-bin/tags/get"] == 3


async def test_a_read_timeout_is_an_answer_lost(mock, session):
    set_faults(mock, latency=0.2)
    with pytest.raises(AnswerLost) as caught:
        await make_api(session, mock.url, timeout=0.05).send_text("o1", "hi")
    assert caught.value.errcode == ERR_NETWORK


async def test_an_unreachable_api_is_named_after_a_short_retry(session):
    with socket.socket() as free:  # a port nobody listens on
        free.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{free.getsockname()[1]}"
    with pytest.raises(FatalError) as caught:
        await make_api(session, url).send_text("o1", "hi")
    message = str(caught.value)
    assert "wechat.api_base_url" in message and url in message
    assert "is `neuraltalk mock-wechat` running?" in message


@pytest.mark.parametrize("code", [43004, 45015, 40003, 45047, 48002])
async def test_recipient_errors_are_not_retried(mock, session, code):
    set_faults(mock, recipient_errors={"gone": code})
    api = make_api(session, mock.url)
    with pytest.raises(RecipientError) as caught:
        await api.send_text("gone", "hi")
    assert caught.value.errcode == code
    assert caught.value.errmsg
    await api.send_text("here", "hi")
    assert mock.calls[CUSTOM] == 2
    assert [r.openid for r in mock.log] == ["here"]


@pytest.mark.parametrize(
    ("code", "hint"),
    [(48001, "最新"), (45009, "tomorrow"), (99999, "unexpected")],
)
async def test_fatal_errors_say_what_to_fix(mock, session, code, hint):
    set_faults(mock, fail_all=code)
    with pytest.raises(FatalError, match=hint) as caught:
        await make_api(session, mock.url).send_text("o1", "hi")
    assert caught.value.errcode == code
    assert mock.calls[CUSTOM] == 1


async def test_secret_and_token_never_logged_nor_in_errors(mock, session, caplog):
    caplog.set_level(logging.DEBUG)
    set_faults(mock, http500_first=1, busy_first=1)
    api = make_api(session, mock.url)
    await api.send_text("o1", "hi")
    set_faults(mock, fail_all=48001)
    with pytest.raises(FatalError) as caught:
        await api.send_text("o1", "hi")
    token = next(iter(mock.tokens))
    for text in (caplog.text, str(caught.value), repr(api)):
        assert SECRET not in text
        assert token not in text


# --- answers that are not WeChat's ------------------------------------------------------------


async def test_non_json_and_oversized_answers_are_fatal(aiohttp_server, session):
    async def html(request: web.Request) -> web.Response:
        return web.Response(text="<html>captive portal</html>", content_type="text/html")

    async def huge(request: web.Request) -> web.Response:
        return web.Response(body=b"[" + b"1," * 2_000_000 + b"1]")

    app = web.Application()
    app.router.add_post("/html/cgi-bin/stable_token", html)
    app.router.add_post("/huge/cgi-bin/stable_token", huge)
    server = await aiohttp_server(app)
    for prefix in ("html", "huge"):
        with pytest.raises(FatalError) as caught:
            await make_api(session, str(server.make_url(f"/{prefix}"))).send_text("o1", "hi")
        assert caught.value.errcode == ERR_BAD_ANSWER


# --- messages ---------------------------------------------------------------------------------


async def test_json_is_sent_as_utf8_not_escapes(mock, session):
    text = "嵌入式AI简报 2024-05-01：端侧大模型"
    await make_api(session, mock.url).send_text("o1", text)
    path, raw = mock.requests[-1]
    assert path == CUSTOM
    assert text.encode() in raw
    assert b"\\u" not in raw
    assert mock.log[0].content == text


async def test_mass_send_is_idempotent_by_clientmsgid(mock, session):
    api = make_api(session, mock.url)
    openids = [f"o{i}" for i in range(5)]
    first = await api.mass_send(openids, "第一期", "campaign-1-batch-0")
    again = await api.mass_send(openids, "第一期", "campaign-1-batch-0")
    assert first == again != ""
    assert sorted(mock.per_openid.values()) == [1] * 5


async def test_mass_send_whose_answer_was_lost_is_not_sent_twice(mock, session):
    set_faults(mock, lost_answer_first=1)
    api = make_api(session, mock.url)
    msg_id = await api.mass_send(["a", "b"], "第一期", "campaign-2-batch-0")
    assert mock.calls["/cgi-bin/message/mass/send"] == 2
    assert [(r.openid, r.msg_id) for r in mock.log] == [("a", int(msg_id)), ("b", int(msg_id))]


async def test_mass_send_needs_2_to_10000_openids(mock, session):
    with pytest.raises(ValueError, match="2 to 10,000"):
        await make_api(session, mock.url).mass_send(["only-one"], "x", "c1")
    assert mock.calls["/cgi-bin/message/mass/send"] == 0


async def test_sendall_to_a_tag_and_preview(mock, session):
    api = make_api(session, mock.url)
    tags = Tags(api)
    tag_id = await tags.get_or_create("neuraltalk-subscribers")
    await tags.add(tag_id, ["a", "b", "c"])
    msg_id = await api.mass_sendall(tag_id, "本期简报", "campaign-3")
    await api.mass_preview("editor", "预览")
    sent = [(r.openid, r.channel, r.tag_id) for r in mock.log]
    assert sent == [
        ("a", "sendall", tag_id),
        ("b", "sendall", tag_id),
        ("c", "sendall", tag_id),
        ("editor", "preview", None),
    ]
    assert mock.log[0].msg_id == int(msg_id)


async def test_credentials_are_needed_only_for_the_real_api(mock, session):
    with pytest.raises(UserError, match=r"wechat\.appid"):
        check_credentials(WechatSettings())
    rehearsal = WechatSettings(api_base_url=mock.url)  # the fake takes any appid and secret
    check_credentials(rehearsal)
    await api_from_settings(session, rehearsal, MemoryTokenStore()).send_text("o1", "hi")
    assert [r.openid for r in mock.log] == ["o1"]
