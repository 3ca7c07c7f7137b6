"""Redis stopped under a running `neuraltalk serve` (bot/shared/): busy replies, a 503
health with the reason, one log line, what needs no Redis still served; then recovery."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from scale_support import TOKEN, Bot, Server, base_env, bot, free_port, health

from bot.chat import texts
from bot.wechat.protocol import signature

__all__ = ["bot"]


class OwnRedis:
    """A redis-server of this test's own on a free port, that it can stop and start again."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                   "--save", "", "--appendonly", "no", "--dir", str(self.folder)]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        for _ in range(100):
            if subprocess.run(["redis-cli", "-p", str(self.port), "ping"],
                              capture_output=True).stdout.strip() == b"PONG":  # fmt: skip
                return
            time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def own_redis(redis_url: str, tmp_path: Path) -> Iterator[OwnRedis]:
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        pytest.skip("no redis-server to stop and start (NEURALTALK_TEST_REDIS_URL: CI has one)")
    redis = OwnRedis(tmp_path)
    redis.start()
    yield redis
    redis.stop()


def wait_for(check: object, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError("not within the time allowed")


async def test_redis_stopped_gives_busy_replies_and_503_health_then_recovers(
    own_redis: OwnRedis, corpus_index: Path, tmp_path: Path, bot: Bot
) -> None:
    store = f"sqlite:///{tmp_path / 'nt.db'}"
    server = Server(base_env(corpus_index, store, own_redis.url, "nt-down:"), tmp_path).start()
    try:
        assert "共" in (await bot.say(server.url, "oDown", "量化") or "")
        own_redis.stop()
        for _ in range(5):
            assert await bot.say(server.url, "oDown", "量化") == texts.BUSY
        unfollow = bot.follower.push(bot.follower.event("oDown", "unsubscribe"))
        assert (await bot.post(server.url, unfollow))[0] == 503  # WeChat retries it later
        status, body = health(server.url)
        assert status == 503 and "redis-unavailable" in body and str(own_redis.port) in body
        stamp, nonce = str(int(time.time())), "424242"
        params = {"signature": signature(TOKEN, stamp, nonce), "timestamp": stamp,
                  "nonce": nonce, "echostr": "still-here"}  # fmt: skip
        async with bot.session.get(f"{server.url}/wechat", params=params) as response:
            assert await response.text() == "still-here"  # the handshake needs no Redis
        log = server.text()
        assert log.count("cannot be reached") == 1 and "Traceback" not in log

        own_redis.start()
        wait_for(lambda: health(server.url)[0] == 200)
        assert "共" in (await bot.say(server.url, "oDown", "量化") or "")
        more = await bot.say(server.url, "oDown", "更多") or ""
        assert re.search(r"^\d+\. ", more, re.M) and not re.search(r"^1\. ", more, re.M), more
        assert (await bot.post(server.url, unfollow))[0] == 200
        assert "is back" in server.text()
    finally:
        assert server.stop() == 0
