"""Helpers for the scale-out tests: real `neuraltalk serve` processes sharing Redis and a store.

Server(env).start() runs `neuraltalk serve` in its own process on a free port and waits for
/healthz; Bot talks to any of them over HTTP as WeChat's servers do (bot.wechat.follower).
Each test keeps its Redis keys under a prefix of its own (removed afterwards) and its
PostgreSQL tables in a schema of its own, so that parallel runs never meet.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis

from bot.wechat.follower import Follower, Push

TOKEN = "scale-token"
APPID = "wxscale000000000"
NEURALTALK = str(Path(sys.executable).parent / "neuraltalk")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def base_env(index: Path, store_url: str, redis_url: str = "", prefix: str = "") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEURALTALK_")}
    env |= {
        "NEURALTALK_WECHAT_TOKEN": TOKEN,
        "NEURALTALK_WECHAT_APPID": APPID,
        "NEURALTALK_ARCHIVE_INDEX_DIR": str(index),
        "NEURALTALK_STORAGE_URL": store_url,
    }
    if redis_url:
        env |= {"NEURALTALK_REDIS_URL": redis_url, "NEURALTALK_REDIS_PREFIX": prefix}
    return env


@dataclass
class Server:
    """One `neuraltalk serve` process; its stderr (the log) goes to a file."""

    env: dict[str, str]
    cwd: Path
    args: tuple[str, ...] = ()
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.cwd / f"serve-{self.port}.log"

    def start(self, wait: bool = True) -> Server:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [NEURALTALK, "serve", "--port", str(self.port), *self.args],
                env=self.env, cwd=self.cwd, stdout=log, stderr=log, start_new_session=True,
            )  # fmt: skip
        if wait:
            self.wait_healthy()
        return self

    def wait_healthy(self, seconds: float = 60.0) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited {self.process.returncode}: {self.text()}")
            if health(self.url)[0] == 200:
                return
            time.sleep(0.2)
        raise AssertionError(f"serve not healthy within {seconds} s: {self.text()}")

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self, sig: int = signal.SIGTERM, seconds: float = 20.0) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(seconds)
        except subprocess.TimeoutExpired:  # the whole group: a supervisor's workers too
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            raise AssertionError(f"serve did not stop within {seconds} s") from None


def health(url: str) -> tuple[int, str]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError as exc:
        return 0, str(exc)


class Bot:
    """WeChat's servers posting to any of several webhook URLs, over one HTTP session."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session
        self.follower = Follower(TOKEN, "", APPID)

    def text(self, openid: str, content: str, msg_id: str | None = None) -> Push:
        return self.follower.push(self.follower.text(openid, content, msg_id))

    async def post(self, url: str, push: Push) -> tuple[int, str | None]:
        async with self.session.post(f"{url}/wechat", params=push.params, data=push.body) as r:
            body = await r.read()
            return r.status, self.follower.reply_text(body) if r.status == 200 else None

    async def say(self, url: str, openid: str, content: str) -> str | None:
        status, text = await self.post(url, self.text(openid, content))
        assert status == 200, (status, text)
        return text


@pytest.fixture
async def bot() -> AsyncIterator[Bot]:
    async with aiohttp.ClientSession() as session:
        yield Bot(session)


def new_prefix() -> str:
    return f"nt-test-{uuid.uuid4().hex[:12]}:"


def delete_prefix(redis_url: str, prefix: str) -> None:
    """Delete every key under `prefix` (a test's own)."""

    async def clean() -> None:
        redis = Redis.from_url(redis_url)
        try:
            keys = [k async for k in redis.scan_iter(match=f"{prefix}*", count=1000)]
            if keys:
                await redis.delete(*keys)
        finally:
            await redis.aclose()

    asyncio.run(clean())


def metric(text: str, name: str, **labels: str) -> float:
    """The sum of the samples of `name` (with these labels) in a /metrics page."""
    from prometheus_client.parser import text_string_to_metric_families

    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total
