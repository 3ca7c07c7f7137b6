"""The scale-out part of bench_webhook.py (`--workers N --redis URL`): 1 worker, then N.

Each is a real `neuraltalk serve --workers n` process tree sharing Redis (and PostgreSQL with
--pg-url), nothing pinned, loaded by wrk (C, 2 threads, 32 keep-alive connections) with
WeChat-signed requests prepared beforehand: the Zipf mix of plain-mode keyword queries, every
request distinct (its own MsgId, nonce and signature). Replies/s, p50/p99/max from wrk; the
replies are then checked in the workers' own /metrics: every one answered `ok`, none busy. `steal`:
the share of CPU time the host took from this machine during the run (/proc/stat).
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

from loopback import cpu_ticks, steal_share

from bot.wechat.follower import Follower

NEURALTALK = str(Path(sys.executable).parent / "neuraltalk")
WARM = 1
EXPECTED_RATE = 30_000  # more requests are prepared per second of run than any run sends

LUA = r"""
local R = dofile("%(table)s")
local offset = 0
local step, index = 1, 0
function setup(thread)
  thread:set("tid", offset)
  offset = offset + 1
end
function init(args)
  local base = tonumber(args[1])
  step = tonumber(args[2])
  index = base + tid
end
function request()
  local r = R[(index %% #R) + 1]
  index = index + step
  return r
end
function done(summary, latency, requests)
  io.write(string.format('{"requests": %%d, "seconds": %%f, "p50": %%f, "p99": %%f, ' ..
    '"max": %%f, "errors": %%d}\n', summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.status + summary.errors.timeout))
end
"""


def lua_quoted(raw: bytes) -> str:
    out = []
    for b in raw:
        ch = chr(b)
        out.append(ch if 32 <= b < 127 and ch not in '"\\' else f"\\{b:03d}")
    return '"' + "".join(out) + '"'


def prepare(folder: Path, queries: list[str], token: str, appid: str, followers: int) -> Path:
    """A Lua table of raw HTTP requests and the wrk script that sends them in turn."""
    follower = Follower(token, "", appid)
    rng = random.Random(7)
    lines = ["return {"]
    for n, query in enumerate(queries):
        openid = f"oScale{rng.randrange(followers):06d}"
        push = follower.push(follower.text(openid, query, msg_id=f"8{n:011d}"), nonce=f"8{n:011d}")
        head = (f"POST /wechat?{urlencode(push.params)} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Content-Type: text/xml\r\nContent-Length: {len(push.body)}\r\n\r\n")  # fmt: skip
        lines.append(lua_quoted(head.encode() + push.body) + ",")
    lines.append("}")
    table = folder / "requests.lua"
    table.write_text("\n".join(lines), encoding="ascii")
    script = folder / "zipf.lua"
    script.write_text(LUA % {"table": table}, encoding="ascii")
    return script


def start(env: dict[str, str], workers: int, port: int, log: Path) -> subprocess.Popen[bytes]:
    """`neuraltalk serve --workers n`, once every worker has opened the archive (each logs it):
    a worker still starting would take the CPU from the others during the measurement."""
    args = [NEURALTALK, "serve", "--port", str(port), "--workers", str(workers)]
    with log.open("ab") as out:
        process = subprocess.Popen(args, env=env, stdout=out, stderr=out, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if log.read_text(errors="replace").count("archive opened") >= workers:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
                time.sleep(1.0)
                return process
            except OSError:
                pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit(f"neuraltalk serve --workers {workers} did not come up: see {log}")


def wrk(script: Path, port: int, seconds: float, first: int, threads: int = 2) -> dict:
    duration = f"{max(round(seconds), 1)}s"  # wrk takes whole seconds
    command = ["wrk", "-t", str(threads), "-c", "32", "-d", duration, "--timeout", "10s",
               "-s", str(script), f"http://127.0.0.1:{port}/wechat", "--", str(first),
               str(threads)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    found = re.search(r"^\{.*\}$", done.stdout, re.M)
    if found is None:
        raise SystemExit(f"wrk printed no figures: {done.stdout} {done.stderr}")
    return dict(json.loads(found.group(0)))


def outcomes(port: int) -> dict[str, float]:
    from prometheus_client.parser import text_string_to_metric_families

    time.sleep(1.5)  # each worker adds its answers to /metrics every second (bot.metrics)
    page = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(page):
        for sample in family.samples:
            if sample.name == "neuraltalk_requests_total":
                key = f"{sample.labels['kind']} {sample.labels['outcome']}"
                counts[key] = counts.get(key, 0) + sample.value
    return counts


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its children (the workers), from /proc."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry) == pid or int(fields[1]) == pid:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def redis_cpu(url: str) -> float:
    import redis

    info = redis.Redis.from_url(url).info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def run(env: dict[str, str], script: Path, workers: int, port: int, seconds: float, first: int,
        log: Path) -> dict:  # fmt: skip
    """One measured run: warm up, then `seconds` of wrk; the figures, the replies' outcomes and
    the CPU time per reply of the server processes, wrk and Redis."""
    import resource

    process = start(env, workers, port, log)
    try:
        wrk(script, port, WARM, first)
        before = (tree_cpu(process.pid), resource.getrusage(resource.RUSAGE_CHILDREN),
                  redis_cpu(env["NEURALTALK_REDIS_URL"]))  # fmt: skip
        ticks = cpu_ticks()
        figures = wrk(script, port, seconds, first + int(EXPECTED_RATE * WARM))
        figures["steal"] = steal_share(ticks, cpu_ticks())
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        n = max(figures["requests"], 1)
        figures["server_us"] = (tree_cpu(process.pid) - before[0]) / n * 1e6
        wrk_cpu = after.ru_utime + after.ru_stime - before[1].ru_utime - before[1].ru_stime
        figures["wrk_us"] = wrk_cpu / n * 1e6
        figures["redis_us"] = (redis_cpu(env["NEURALTALK_REDIS_URL"]) - before[2]) / n * 1e6
        figures["outcomes"] = outcomes(port)
        figures["workers"] = workers
        return figures
    finally:
        os.killpg(process.pid, 15)
        process.wait(30)


def rate(f: dict) -> float:
    return float(f["requests"] / f["seconds"])


def report(figures: list[dict], load: str) -> None:
    """Each run, then the ratio of the N-worker runs' average rate to the 1-worker runs'; and
    what the CPU time per reply allows on 2 idle cores."""
    print(f"scale-out: Zipf plain, 32 connections (wrk), Redis shared; load average {load}")
    cpu_head = "CPU us/reply: server wrk redis"
    print(f"{'workers':>7} {'replies':>8} {'replies/s':>10} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'max ms':>7} {'errors':>7} {cpu_head:>31} {'steal':>6}  outcomes")  # fmt: skip
    for f in figures:
        cpu = f"{f['server_us']:.0f} {f['wrk_us']:.0f} {f['redis_us']:.0f}"
        print(f"{f['workers']:>7} {f['requests']:>8} {rate(f):>10.0f} {f['p50']:>7.2f} "
              f"{f['p99']:>7.2f} {f['max']:>7.1f} {f['errors']:>7} {cpu:>31} {f['steal']:>6.1%}  "
              f"{f['outcomes']}")  # fmt: skip
    one = [f for f in figures if f["workers"] == 1]
    many = [f for f in figures if f["workers"] > 1]
    ratio = average(many, rate) / average(one, rate)
    p99 = max(f["p99"] for f in many)
    n = many[0]["workers"]
    print(f"{n} workers / 1 worker: {ratio:.2f}x (target >= 1.4x: "
          f"{'met' if ratio >= 1.4 else 'MISSED'}); worst p99 with {n}: {p99:.1f} ms "
          f"(target < 10 ms: {'met' if p99 < 10 else 'MISSED'})")  # fmt: skip
    # one worker is one core at most; everything shares the machine's 2 cores
    total = lambda f: f["server_us"] + f["wrk_us"] + f["redis_us"]  # noqa: E731
    bound_one = min(1e6 / average(one, lambda f: f["server_us"]), 2e6 / average(one, total))
    bound_many = min(n * 1e6 / average(many, lambda f: f["server_us"]), 2e6 / average(many, total))
    print(f"CPU bound on 2 idle cores: 1 worker {bound_one:.0f}/s, {n} workers "
          f"{bound_many:.0f}/s: {bound_many / bound_one:.2f}x")  # fmt: skip


def average(figures: list[dict], of: Callable[[dict], float]) -> float:
    return sum(of(f) for f in figures) / len(figures)
