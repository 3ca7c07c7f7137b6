"""`neuraltalk chat` against a server running on loopback, as the editor would use it."""

from __future__ import annotations

import asyncio
import functools
import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from wechat_messages import TOKEN, settings_for

from bot.chat.app import create_app
from bot.chat.console import converse
from bot.config import Settings
from bot.store.store import Store
from index.search import Archive

Server = Callable[[web.Application], Awaitable[TestServer]]


async def serve(
    store: Store, aiohttp_server: Server, sample_index: Path, tmp_path: Path, safe: bool
) -> tuple[Settings, str]:
    settings = settings_for(sample_index, tmp_path / "nt.db", safe=safe)
    server = await aiohttp_server(create_app(settings, Archive.open(sample_index), store))
    return settings, str(server.make_url("/wechat"))


async def chat(settings: Settings, url: str, lines: list[str]) -> list[str]:
    feed = iter(lines)
    out: list[str] = []

    async def read() -> str | None:
        return next(feed, None)

    code = await converse(settings, "editor-trial", url, read, out.append)
    assert code == 0
    return out


@pytest.mark.parametrize("safe", [False, True], ids=["plain", "safe"])
async def test_chat_shows_replies_with_links_as_title_and_address(
    store: Store, aiohttp_server: Server, sample_index: Path, tmp_path: Path, safe: bool
) -> None:
    settings, url = await serve(store, aiohttp_server, sample_index, tmp_path, safe)
    out = await chat(settings, url, ["/follow", "YOLOv4", "订阅", "/quit", "never sent"])
    assert len(out) == 3
    assert "感谢关注" in out[0]
    assert "YOLOv4" in out[1] and "(https://" in out[1] and "<a href" not in out[1]
    assert "订阅成功" in out[2]
    subscriber = await store.subscriber("editor-trial")
    assert subscriber is not None and subscriber.all_issues


async def test_chat_with_the_wrong_token_says_the_server_refused(
    store: Store, aiohttp_server: Server, sample_index: Path, tmp_path: Path
) -> None:
    settings, url = await serve(store, aiohttp_server, sample_index, tmp_path, False)
    wrong = settings.replace(wechat={"token": "not-the-token"})
    out = await chat(wrong, url, ["帮助"])
    assert out == [out[0]] and "HTTP 403" in out[0]


async def test_the_command_reads_stdin_and_prints_replies(
    store: Store, aiohttp_server: Server, sample_index: Path, tmp_path: Path
) -> None:
    _, url = await serve(store, aiohttp_server, sample_index, tmp_path, False)
    env = {**os.environ, "NEURALTALK_WECHAT_TOKEN": TOKEN}
    command = Path(sys.executable).parent / "neuraltalk"
    process = await asyncio.create_subprocess_exec(
        str(command), "chat", "--openid", "oEditor", "--url", url,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env, cwd=tmp_path,
    )  # fmt: skip
    stdout, _ = await asyncio.wait_for(process.communicate("帮助\n最新\n".encode()), 60)
    assert process.returncode == 0
    text = stdout.decode()
    assert "发关键词搜索" in text and "2020-04-26" in text and "(https://" in text


def test_the_in_process_chat_never_adds_a_real_subscriber(
    sample_index: Path, tmp_path: Path
) -> None:
    """`neuraltalk chat` without --url is a trial: 订阅 there is kept in the rehearsal database."""
    (tmp_path / "data").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEURALTALK_")}
    env["NEURALTALK_ARCHIVE_INDEX_DIR"] = str(sample_index)  # the default storage.url
    command = str(Path(sys.executable).parent / "neuraltalk")
    run = functools.partial(subprocess.run, env=env, cwd=tmp_path, capture_output=True, text=True)
    chatted = run([command, "chat"], input="订阅\n", timeout=120)
    assert chatted.returncode == 0, chatted.stderr
    assert "订阅成功" in chatted.stdout
    listed = run([command, "subscribers", "--json"], timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["subscribers"] == []  # the real list is untouched
