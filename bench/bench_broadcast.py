"""Benchmark: a broadcast to 100,000 subscribers on the custom channel, rate limit off.

The fake WeChat API runs in its own process, answering every message in 20 ms; the broadcast
is the real command (`neuraltalk broadcast ISSUE --yes --channel custom`) in its own process.
Prints the sending rate (messages / the run's own "time taken"), the wall time including
start-up and planning, the broadcaster's own peak memory (ru_maxrss) and CPU time, and the
duplicates seen by the fake. Targets: >= 2,000 messages/s, < 200 MB, no duplicate.

First, in the same run, the harness's own ceiling: a bare aiohttp client (no database, no
planning) sending as many messages at the same concurrency to a fake of its own. On a shared
machine both figures move together; the broadcast's share of the ceiling is the comparable one.

    .venv/bin/python bench/bench_broadcast.py [--subscribers N] [--concurrency N] [--pg URL]
    .venv/bin/python bench/bench_broadcast.py --faults [--subscribers N] ...

--faults runs under FAULTS instead (busy 5%, drops 1%, lost answers 1%, the token expiring
every 500 calls), kills the broadcaster with kill -9 three times at random moments, resumes,
and prints the deliveries left in doubt by each kill (at most --concurrency), the duplicates,
and those who never received it against the in-doubt count reported.

With --pg (or NEURALTALK_TEST_PG_URL) the same runs against PostgreSQL, in a schema of its own.
BENCH_PREFIX="python -m cProfile -o prof.out" runs the broadcaster under that prefix.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loopback import free_port  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from bot.store.schema import deliveries, interactions, subscribers  # noqa: E402
from bot.store.store import Store  # noqa: E402
from index.ingest import ingest  # noqa: E402

ISSUE = "2020-04-26"
BIN = Path(sys.executable).parent
FAKE = (
    "import json, sys; from aiohttp import web; "
    "from bot.fake_wechat.server import create_mock_app; "
    "from bot.eventloop import new_event_loop; "
    "web.run_app(create_mock_app(json.loads(sys.argv[2])), host='127.0.0.1', "
    "port=int(sys.argv[1]), print=None, access_log=None, loop=new_event_loop())"
)
CALM = {"latency": 0.02}
CEILING = """
import asyncio, json, sys, time, aiohttp
from bot.eventloop import run
url, count, concurrency = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
async def main():
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        token_url = f"{url}/cgi-bin/token?grant_type=client_credential&appid=a&secret=b"
        async with session.get(token_url) as resp:
            token = (await resp.json())["access_token"]
        send = f"{url}/cgi-bin/message/custom/send?access_token={token}"
        left = iter(range(count))
        async def sender():
            for i in left:
                body = {"touser": f"c{i:07d}", "msgtype": "text", "text": {"content": "x"}}
                async with session.post(send, data=json.dumps(body)) as resp:
                    await resp.read()
        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        print(count / (time.perf_counter() - started))
run(main())
"""
CEILING_RATE = [1.0]  # measured first, by ceiling()
FAULTS = {  # the faults run: what goes wrong, then kill -9 three times and resume
    "latency": 0.02,
    "busy_probability": 0.05,
    "drop_probability": 0.01,
    "lost_answer_probability": 0.01,
    "expire_token_every": 500,
    "seed": 1,
}


# The broadcaster runs under this small launcher, which reports its child's peak memory and CPU:
# a child's ru_maxrss counts the memory of the process it was forked from (kept across exec),
# so forked straight from this benchmark (which loaded jieba to build the index) it would
# report this process's ~140 MB instead of its own.
LAUNCHER = """
import json, os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    json.dump([usage.ru_maxrss, usage.ru_utime + usage.ru_stime], out)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def start_fake(faults: dict[str, object]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", FAKE, str(port), json.dumps(faults)], cwd=ROOT)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    return proc, f"http://127.0.0.1:{port}"


async def populate(url: str, count: int) -> None:
    """count subscribers inside the 48-hour window, inserted in bulk (set-up, not measured)."""
    store = await Store.open(url)
    now = datetime.now(UTC)
    try:
        for start in range(0, count, 5000):
            ids = [f"bench{i:07d}" for i in range(start, min(start + 5000, count))]
            async with store.write() as conn:
                await conn.execute(
                    subscribers.insert(),
                    [{"openid": o, "status": "active", "all_issues": True, "subscribed_at": now}
                     for o in ids],
                )  # fmt: skip
                await conn.execute(
                    interactions.insert(), [{"openid": o, "last_at": now} for o in ids]
                )
    finally:
        await store.close()


async def pg_schema(pg_url: str, name: str, create: bool) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(pg_url.replace("postgresql://", "postgresql+asyncpg://", 1))
    async with engine.begin() as conn:
        sql = f"CREATE SCHEMA {name}" if create else f"DROP SCHEMA IF EXISTS {name} CASCADE"
        await conn.execute(text(sql))
    await engine.dispose()


def fake_stats(url: str) -> dict[str, object]:
    with urllib.request.urlopen(f"{url}/_mock/stats", timeout=30) as resp:
        return json.loads(resp.read())


def bench_env(store_url: str, api: str, index: Path) -> dict[str, str]:
    return {
        **os.environ,
        "NEURALTALK_STORAGE_URL": store_url,
        "NEURALTALK_WECHAT_API_BASE_URL": api,
        "NEURALTALK_WECHAT_APPID": "wxbench",
        "NEURALTALK_WECHAT_SECRET": "bench",
        "NEURALTALK_ARCHIVE_INDEX_DIR": str(index),
        "NEURALTALK_BROADCAST_RATE": "0",
    }


async def sending(url: str) -> tuple[int, int, int]:
    """Deliveries left 'sending' with no outcome (in flight at a kill), those whose answer was
    lost (in doubt with errcode -3), and the in-doubt count the campaign reports."""
    store = await Store.open(url)
    try:
        listed = await store.list_campaigns()
        if not listed:
            return 0, 0, 0
        d = deliveries.c
        stmt = (
            select(d.errcode.is_(None), func.count())
            .where(d.status == "sending")
            .group_by(d.errcode.is_(None))
        )
        async with store.read() as conn:
            rows = dict((await conn.execute(stmt)).all())
        return rows.get(True, 0), rows.get(False, 0), listed[0][1].in_doubt
    finally:
        await store.close()


def run_faults(label: str, store_url: str, index: Path, count: int, concurrency: int) -> None:
    """Faults, kill -9 three times at random moments, resume; what reached whom, and doubt."""
    asyncio.run(populate(store_url, count))
    fake, api = start_fake(FAULTS)
    env = bench_env(store_url, api, index)
    args = [str(BIN / "neuraltalk"), "broadcast", ISSUE, "--yes", "--channel", "custom"]
    args += ["--concurrency", str(concurrency)]
    rng = random.Random(3)
    kills: list[str] = []
    try:
        before = lost_before = 0
        for _ in range(3):
            proc = subprocess.Popen(
                args,
                env=env,
                cwd=index.parent,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            target = int(fake_stats(api)["messages"]) + rng.randint(count // 20, count // 5)  # type: ignore[call-overload]
            while proc.poll() is None and int(fake_stats(api)["messages"]) < target:  # type: ignore[call-overload]
                time.sleep(0.05)
            proc.kill()
            proc.wait()
            after, lost, _ = asyncio.run(sending(store_url))
            kills.append(f"{after - before} (+{lost - lost_before} answers lost)")
            before, lost_before = after, lost
        done = subprocess.run(args, env=env, cwd=index.parent, capture_output=True, text=True)
        stats = fake_stats(api)
    finally:
        fake.terminate()
        fake.wait(10)
    in_doubt = asyncio.run(sending(store_url))[2]
    per_openid: dict[str, int] = stats["per_openid"]  # type: ignore[assignment]
    dupes = sum(1 for n in per_openid.values() if n > 1)
    never = count - len(per_openid)
    print(
        f"{label:<10} faults {json.dumps(FAULTS)}, kill -9 x3 then resume (exit "
        f"{done.returncode}): in doubt per kill {', '.join(kills)} (concurrency {concurrency}); "
        f"{dupes} duplicates; {never} never received, {in_doubt} reported in doubt "
        f"({'ok' if never <= in_doubt else 'NOT OK'}: never received <= in doubt)"
    )


def ceiling(count: int, concurrency: int) -> float:
    """Messages/s of a bare client at `concurrency` against a fake of its own (no database)."""
    fake, api = start_fake(CALM)
    try:
        done = subprocess.run(
            [sys.executable, "-c", CEILING, api, str(count), str(concurrency)],
            cwd=ROOT, capture_output=True, text=True, check=True,
        )  # fmt: skip
    finally:
        fake.terminate()
        fake.wait(10)
    rate = float(done.stdout)
    print(f"ceiling    a bare client, {count} messages at concurrency {concurrency}: {rate:,.0f}/s")
    return rate


def run_one(label: str, store_url: str, index: Path, count: int, concurrency: int) -> None:
    asyncio.run(populate(store_url, count))
    fake, api = start_fake(CALM)
    env = bench_env(store_url, api, index)
    usage_path = index.parent / f"usage-{label}.json"
    args = [
        sys.executable,
        "-c",
        LAUNCHER,
        str(usage_path),
        *os.environ.get("BENCH_PREFIX", "").split(),
        str(BIN / "neuraltalk"),
        "broadcast",
        ISSUE,
        "--yes",
        "--channel",
        "custom",
    ]
    args += ["--concurrency", str(concurrency)]
    out_path = index.parent / f"broadcast-{label}.out"
    try:
        started = time.monotonic()
        with open(out_path, "w+") as out:
            proc = subprocess.run(args, env=env, cwd=index.parent, stdout=out, stderr=out)
            wall = time.monotonic() - started
            out.seek(0)
            output = out.read()
        maxrss_kb, cpu = json.loads(usage_path.read_text())
        peak_mb = maxrss_kb / 1024
        stats = fake_stats(api)
    finally:
        fake.terminate()
        fake.wait(10)
    if proc.returncode != 0:
        raise SystemExit(f"{label}: broadcast failed:\n{output}")
    taken = float(re.search(r"time taken\s+([\d.]+) s", output).group(1))  # type: ignore[union-attr]
    per_openid: dict[str, int] = stats["per_openid"]  # type: ignore[assignment]
    dupes = sum(1 for n in per_openid.values() if n > 1)
    print(
        f"{label:<10} {count} subscribers, concurrency {concurrency}: "
        f"{len(per_openid)} received, {dupes} duplicates; sending {taken:.1f} s = "
        f"{count / taken:,.0f} messages/s ({count / taken / CEILING_RATE[0]:.0%} of the ceiling); "
        f"wall {wall:.1f} s with start-up and planning; "
        f"broadcaster peak memory {peak_mb:.0f} MB, CPU {cpu:.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--pg", default=os.environ.get("NEURALTALK_TEST_PG_URL"))
    parser.add_argument("--faults", action="store_true", help="the faults run instead")
    opts = parser.parse_args()
    run = run_faults if opts.faults else run_one
    if not opts.faults:
        CEILING_RATE[0] = ceiling(min(opts.subscribers, 30_000), opts.concurrency)
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index"
        ingest(index, [ROOT / "issues" / f"{ISSUE}.md"])
        run("SQLite", f"sqlite:///{tmp}/bench.db", index, opts.subscribers, opts.concurrency)
        if opts.pg:
            name = f"bench_{uuid.uuid4().hex[:10]}"
            asyncio.run(pg_schema(opts.pg, name, True))
            try:
                url = f"{opts.pg}?schema={name}"
                run("PostgreSQL", url, index, opts.subscribers, opts.concurrency)
            finally:
                asyncio.run(pg_schema(opts.pg, name, False))
        else:
            print("PostgreSQL: skipped (pass --pg URL or set NEURALTALK_TEST_PG_URL)")


if __name__ == "__main__":
    main()
