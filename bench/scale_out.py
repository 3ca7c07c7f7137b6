"""The scale-out part of bench_webhook.py (`--workers N --redis URL`): 1 worker, then N.

Each is a real `neuraltalk serve --workers n` process tree sharing Redis (and PostgreSQL with
--pg-url), nothing pinned, loaded by wrk (C, 2 threads, 32 keep-alive connections) with
WeChat-signed requests prepared beforehand: the Zipf mix of plain-mode keyword queries, every
request distinct (its own MsgId, nonce and signature). Replies/s, p50/p99/max from wrk; the
replies are then checked in the workers' own /metrics: every one answered `ok`, none busy.
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
from pathlib import Path
from urllib.parse import urlencode

from bot.wechat.follower import Follower

NEURALTALK = str(Path(sys.executable).parent / "neuraltalk")
WARM = 1
EXPECTED_RATE = 15_000  # more requests are prepared per second of run than any run sends

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
        push = follower.push(follower.text(openid, query, msg_id=f"8{n:011d}"))
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

    page = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(page):
        for sample in family.samples:
            if sample.name == "neuraltalk_requests_total":
                key = f"{sample.labels['kind']} {sample.labels['outcome']}"
                counts[key] = counts.get(key, 0) + sample.value
    return counts


def run(env: dict[str, str], script: Path, workers: int, port: int, seconds: float, first: int,
        log: Path) -> dict:  # fmt: skip
    """One measured run: warm up, then `seconds` of wrk; the figures and the replies' outcomes."""
    process = start(env, workers, port, log)
    try:
        wrk(script, port, WARM, first)
        figures = wrk(script, port, seconds, first + int(EXPECTED_RATE * WARM))
        figures["outcomes"] = outcomes(port)
        figures["workers"] = workers
        return figures
    finally:
        os.killpg(process.pid, 15)
        process.wait(30)


def rate(f: dict) -> float:
    return float(f["requests"] / f["seconds"])


def report(figures: list[dict], load: str) -> None:
    """Each run, then the ratio of the N-worker runs' total rate to the 1-worker runs'."""
    print(f"scale-out: Zipf plain, 32 connections (wrk), Redis shared; load average {load}")
    print(f"{'workers':>7} {'replies':>8} {'replies/s':>10} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'max ms':>7} {'errors':>7}  outcomes (from /metrics)")  # fmt: skip
    for f in figures:
        print(f"{f['workers']:>7} {f['requests']:>8} {rate(f):>10.0f} {f['p50']:>7.2f} "
              f"{f['p99']:>7.2f} {f['max']:>7.1f} {f['errors']:>7}  {f['outcomes']}")  # fmt: skip
    one = [rate(f) for f in figures if f["workers"] == 1]
    many = [f for f in figures if f["workers"] > 1]
    ratio = sum(rate(f) for f in many) / len(many) / (sum(one) / len(one))
    p99 = max(f["p99"] for f in many)
    n = many[0]["workers"]
    print(f"{n} workers / 1 worker: {ratio:.2f}x (target >= 1.4x: "
          f"{'met' if ratio >= 1.4 else 'MISSED'}); worst p99 with {n}: {p99:.1f} ms "
          f"(target < 10 ms: {'met' if p99 < 10 else 'MISSED'})")  # fmt: skip
