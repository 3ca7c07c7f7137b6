"""`neuraltalk serve --workers 2` (bot/chat/workers.py): serves, counts every worker's requests
in /metrics, survives a killed worker, stops cleanly; without redis.url it refuses to start."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import aiohttp
from scale_support import NEURALTALK, Bot, Server, base_env, metric


def worker_pids(server: Server) -> dict[int, int]:
    """The pid of each worker number, as the supervisor logged it last."""
    return {int(n): int(pid) for n, pid in
            re.findall(r"worker (\d+) of 2 started, pid (\d+)", server.text())}  # fmt: skip


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_several_workers_need_redis(corpus_index: Path, tmp_path: Path) -> None:
    env = base_env(corpus_index, f"sqlite:///{tmp_path / 'nt.db'}")
    done = subprocess.run([NEURALTALK, "serve", "--workers", "2"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "needs redis.url" in lines[0] and "Traceback" not in done.stderr


async def test_two_workers_serve_survive_a_killed_one_and_stop_cleanly(
    redis_url: str, redis_prefix: str, corpus_index: Path, tmp_path: Path
) -> None:
    env = base_env(corpus_index, f"sqlite:///{tmp_path / 'nt.db'}", redis_url, redis_prefix)
    server = Server(env, tmp_path, ("--workers", "2")).start()
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as s:
            await _serve_and_survive(server, Bot(s))
    finally:
        server.stop()


async def _serve_and_survive(server: Server, bot: Bot) -> None:
    for n in range(20):  # new connections each: the kernel spreads them over the workers
        assert "订阅成功" in (await bot.say(server.url, f"oWorker{n:02d}", "订阅") or "")
    counted, deadline = 0.0, time.monotonic() + 5  # each worker adds its answers every second
    while counted != 20 and time.monotonic() < deadline:
        async with bot.session.get(f"{server.url}/metrics") as response:
            counted = metric(await response.text(), "neuraltalk_requests_total", kind="message",
                             outcome="ok")  # fmt: skip
        await asyncio.sleep(0.2)
    assert counted == 20

    pids = worker_pids(server)
    assert sorted(pids) == [1, 2]
    os.kill(pids[1], signal.SIGKILL)
    answered = lost = 0
    deadline = time.monotonic() + 30
    while (worker_pids(server)[1] == pids[1] or answered < 5) and time.monotonic() < deadline:
        try:
            answered += bool(await bot.say(server.url, "oSurvivor", "帮助"))
        except aiohttp.ClientError:  # queued at the killed worker as it died: WeChat retries
            lost += 1
        time.sleep(0.1)
    assert answered >= 5 and lost <= 2, (answered, lost)
    replaced = worker_pids(server)
    assert replaced[1] != pids[1] and alive(replaced[1]) and replaced[2] == pids[2]
    assert "ended with exit code -9" in server.text()
    server.wait_healthy()
    assert "订阅成功" in (await bot.say(server.url, "oAfter", "订阅") or "")

    assert server.stop(signal.SIGTERM) == 0
    assert "all workers stopped" in server.text()
    assert not any(alive(pid) for pid in replaced.values())
