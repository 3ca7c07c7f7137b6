"""The fake WeChat API server: its WeChat behaviour and its control endpoints, over HTTP."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.fake_wechat.server import serve_mock

CREDS = {"grant_type": "client_credential", "appid": "wx1", "secret": "s"}


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def post(http: aiohttp.ClientSession, url: str, body: Any, token: str = "") -> Any:
    params = {"access_token": token} if token else {}
    async with http.post(url, json=body, params=params) as resp:
        return await resp.json()


async def get(http: aiohttp.ClientSession, url: str, **params: Any) -> Any:
    async with http.get(url, params=params) as resp:
        return await resp.json()


async def token(http: aiohttp.ClientSession, url: str, force: bool = False) -> str:
    answer = await post(http, f"{url}/cgi-bin/stable_token", CREDS | {"force_refresh": force})
    return answer["access_token"]


def text(content: str, **extra: Any) -> dict[str, Any]:
    return {"msgtype": "text", "text": {"content": content}, **extra}


async def test_tokens_stable_and_plain(mock, http):
    first = await token(http, mock.url)
    assert await token(http, mock.url) == first
    assert await token(http, mock.url, force=True) != first
    plain = await get(http, f"{mock.url}/cgi-bin/token", **CREDS)
    again = await get(http, f"{mock.url}/cgi-bin/token", **CREDS)
    assert plain["expires_in"] == 7200 and plain["access_token"] != again["access_token"]
    stats = await get(http, f"{mock.url}/_mock/stats")
    assert stats["token_calls"] == 5


async def test_unknown_and_expired_tokens_are_refused(mock, http):
    url = f"{mock.url}/cgi-bin/message/custom/send"
    body = {"touser": "o1", **text("hi")}
    assert (await post(http, url, body, "forged"))["errcode"] == 40001
    good = await token(http, mock.url)
    assert (await post(http, url, body, good))["errcode"] == 0
    faults = await post(http, f"{mock.url}/_mock/faults", {"expire_token_at": time.time() - 1})
    assert faults["expire_token_at"] > 0
    assert (await post(http, url, body, good))["errcode"] == 42001
    assert (await post(http, url, body, await token(http, mock.url)))["errcode"] == 0


async def test_faults_endpoint_changes_answers_and_rejects_unknown_keys(mock, http):
    url = f"{mock.url}/_mock/faults"
    changed = await post(http, url, {"recipient_errors": {"o2": 45015}, "busy_first": 1})
    assert changed["recipient_errors"] == {"o2": 45015} and changed["latency"] == 0
    async with http.post(url, json={"nonsense": 1}) as resp:
        assert resp.status == 400
        assert "unknown fault" in (await resp.json())["error"]
    async with http.post(url, json={"latency": "slow"}) as resp:
        assert resp.status == 400
    tok = await token(http, mock.url)
    send = f"{mock.url}/cgi-bin/message/custom/send"
    assert (await post(http, send, {"touser": "o1", **text("a")}, tok))["errcode"] == -1
    assert (await post(http, send, {"touser": "o1", **text("a")}, tok))["errcode"] == 0
    assert (await post(http, send, {"touser": "o2", **text("a")}, tok))["errcode"] == 45015
    assert (await get(http, url))["busy_first"] == 1


async def test_log_per_openid_and_tag_expansion(mock, http):
    tok = await token(http, mock.url)
    created = await post(http, f"{mock.url}/cgi-bin/tags/create", {"tag": {"name": "subs"}}, tok)
    tag_id = created["tag"]["id"]
    tagging = {"openid_list": ["a", "b", "c"], "tagid": tag_id}
    await post(http, f"{mock.url}/cgi-bin/tags/members/batchtagging", tagging, tok)
    await post(http, f"{mock.url}/_mock/faults", {"recipient_errors": {"c": 43004}})
    body = {"filter": {"is_to_all": False, "tag_id": tag_id}, **text("群发", clientmsgid="k1")}
    sent = await post(http, f"{mock.url}/cgi-bin/message/mass/sendall", body, tok)
    again = await post(http, f"{mock.url}/cgi-bin/message/mass/sendall", body, tok)
    assert again == {"errcode": 45065, "errmsg": "clientmsgid exist", "msg_id": sent["msg_id"]}
    await post(
        http, f"{mock.url}/cgi-bin/message/custom/send", {"touser": "a", **text("单发")}, tok
    )
    log = await get(http, f"{mock.url}/_mock/log")
    assert log["total"] == 3
    assert [(r["openid"], r["channel"], r["tag_id"]) for r in log["records"]] == [
        ("a", "sendall", tag_id),
        ("b", "sendall", tag_id),
        ("a", "custom", None),
    ]
    only_a = await get(http, f"{mock.url}/_mock/log", openid="a", channel="custom")
    assert [r["content"] for r in only_a["records"]] == ["单发"]
    stats = await get(http, f"{mock.url}/_mock/stats")
    assert stats["per_openid"] == {"a": 2, "b": 1}


async def test_mass_send_list_limits_and_tagging_limit(mock, http):
    tok = await token(http, mock.url)
    one = await post(
        http, f"{mock.url}/cgi-bin/message/mass/send", {"touser": ["a"], **text("x")}, tok
    )
    assert one["errcode"] == 40130
    tag = await post(http, f"{mock.url}/cgi-bin/tags/create", {"tag": {"name": "t"}}, tok)
    many = {"openid_list": [f"o{i}" for i in range(51)], "tagid": tag["tag"]["id"]}
    answer = await post(http, f"{mock.url}/cgi-bin/tags/members/batchtagging", many, tok)
    assert answer["errcode"] == 40032


async def test_requests_show_the_raw_utf8_body_and_reset_forgets(mock, http):
    tok = await token(http, mock.url)
    raw = json.dumps({"touser": "o1", **text("简报")}, ensure_ascii=False).encode()
    async with http.post(
        f"{mock.url}/cgi-bin/message/custom/send", data=raw, params={"access_token": tok}
    ) as resp:
        assert (await resp.json())["errcode"] == 0
    bodies = (await get(http, f"{mock.url}/_mock/requests"))["requests"]
    assert "简报" in bodies[-1]["body"]
    assert (await post(http, f"{mock.url}/_mock/reset", {"latency": 0.001}))["reset"]
    assert (await get(http, f"{mock.url}/_mock/log"))["total"] == 0
    assert (await get(http, f"{mock.url}/_mock/faults"))["latency"] == 0.001


async def test_random_faults_are_deterministic_with_a_seed(http):
    async def run(seed: int) -> list[int]:
        faults = {"busy_probability": 0.5, "seed": seed}
        async with serve_mock(faults) as server:
            tok = await token(http, server.url)
            url = f"{server.url}/cgi-bin/message/custom/send"
            return [
                (await post(http, url, {"touser": "o", **text("x")}, tok))["errcode"]
                for _ in range(20)
            ]

    first = await run(3)
    assert first == await run(3)
    assert set(first) == {0, -1}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_neuraltalk_mock_wechat_prints_each_message(http):
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "bot.cli", "mock-wechat", "--port", str(port)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as proc:
        assert proc.stdout is not None
        try:
            banner = proc.stdout.readline()
            assert f"http://127.0.0.1:{port}" in banner
            url = f"http://127.0.0.1:{port}"
            for _ in range(100):  # the banner is printed just before the socket is bound
                try:
                    tok = await token(http, url)
                    break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)
            body = {"touser": "oEditor", **text("嵌入式AI简报 " + "长" * 100)}
            await post(http, f"{url}/cgi-bin/message/custom/send", body, tok)
            lines = [proc.stdout.readline() for _ in range(4)]
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    assert "wechat.api_base_url" in "".join(lines)
    printed = lines[-1]
    assert "custom" in printed and "oEditor" in printed and "嵌入式AI简报" in printed
    assert "长" * 60 not in printed


async def test_menu_calls_keep_the_account_menu_and_refuse_what_wechat_refuses(mock, http):
    tok = await token(http, mock.url)
    click = {"type": "click", "name": "最新", "key": "最新"}
    too_many = await post(http, f"{mock.url}/cgi-bin/menu/create", {"button": [click] * 4}, tok)
    assert too_many["errcode"] == 40016
    long_name = {"button": [{**click, "name": "最新一期和往期"}]}
    assert (await post(http, f"{mock.url}/cgi-bin/menu/create", long_name, tok))["errcode"] == 40018
    assert (await get(http, f"{mock.url}/cgi-bin/menu/get", access_token=tok))["errcode"] == 46003
    menu = {"button": [click, {"name": "订阅", "sub_button": [{**click, "key": "订阅"}]}]}
    assert (await post(http, f"{mock.url}/cgi-bin/menu/create", menu, tok))["errcode"] == 0
    got = await get(http, f"{mock.url}/cgi-bin/menu/get", access_token=tok)
    assert got["menu"]["button"] == menu["button"]
    info = await get(http, f"{mock.url}/cgi-bin/get_current_selfmenu_info", access_token=tok)
    assert info["is_menu_open"] == 1
    assert info["selfmenu_info"]["button"][1]["sub_button"]["list"][0]["key"] == "订阅"
    assert (await get(http, f"{mock.url}/cgi-bin/menu/delete", access_token=tok))["errcode"] == 0
    info = await get(http, f"{mock.url}/cgi-bin/get_current_selfmenu_info", access_token=tok)
    assert info == {"is_menu_open": 0}
    log = await get(http, f"{mock.url}/_mock/log", channel="menu")
    assert [r["content"].split()[0] for r in log["records"]] == ["create", "delete"]


async def test_a_permanent_qrcode_keeps_its_ticket_for_its_scene(mock, http):
    tok = await token(http, mock.url)

    def body(scene: str) -> dict[str, Any]:
        return {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": scene}}}

    first = await post(http, f"{mock.url}/cgi-bin/qrcode/create", body("topic:量化"), tok)
    again = await post(http, f"{mock.url}/cgi-bin/qrcode/create", body("topic:量化"), tok)
    other = await post(http, f"{mock.url}/cgi-bin/qrcode/create", body("subscribe"), tok)
    assert first == again and "expire_seconds" not in first
    assert first["url"].startswith("http://weixin.qq.com/q/") and first["ticket"]
    assert other["url"] != first["url"]
    empty = await post(http, f"{mock.url}/cgi-bin/qrcode/create", body(""), tok)
    assert empty["errcode"] == 40053
    log = await get(http, f"{mock.url}/_mock/log", channel="qrcode")
    assert [r["content"].split()[1] for r in log["records"]] == ["topic:量化", "subscribe"]
