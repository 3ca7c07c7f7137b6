"""The web archive under load on loopback: `python bench/bench_web.py [--seconds N]`.

One server process (pinned to CPU 0, the application `neuraltalk serve` runs, over an index of
issues/) and a load generator on CPU 1 with 32 keep-alive connections asking for gzip: wrk
(Debian's) when it is installed, else an aiohttp client in its own process. Pages: `/`, an issue
(the largest), `/search?q=量化`, `/feed.xml`, and then searches that are all different (three
topic words in any order: each one searched and rendered, never cached; aiohttp client). Prints
requests/s, p50 and p99 per page, and the page's size. Targets: p99 < 20 ms for cached pages,
< 50 ms for search pages."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import multiprocessing as mp
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loopback import free_port, pin, wait_until_up  # noqa: E402

from bot.config import Settings  # noqa: E402

CORPUS = ROOT / "issues"
CONNECTIONS = 32
TOPIC_WORDS = (
    "量化 Tengine MNN TensorRT 剪枝 蒸馏 NCNN TVM MobileNet YOLO BERT 华为 高通 骁龙 麒麟 苹果 "
    "GPU NPU DSP FPGA ARM OpenCV TFLite PyTorch Paddle 推理 编译器 稀疏 二值 int8 检测 分割 人脸 "
    "语音 Transformer 芯片 端侧 模型压缩 低比特 卷积 算子 Vulkan OpenCL"
)
TOPICS = TOPIC_WORDS.split()
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def serve(port: int, settings: Settings, cpu: int) -> None:
    """The server process: the webhook's application with the archive's pages."""
    pin(cpu)
    from bot import web as web_archive
    from bot.chat.app import create_app
    from bot.chat.server import serve as serve_app

    async def forever() -> None:
        app = create_app(settings, pages=web_archive.mount)
        async with serve_app(app, "127.0.0.1", port):
            await asyncio.Event().wait()

    asyncio.run(forever())


async def _load(urls: list[str], seconds: float) -> tuple[float, list[float], int]:
    import aiohttp

    cycle = itertools.cycle(urls)
    latencies: list[float] = []
    failed = 0
    connector = aiohttp.TCPConnector(limit=CONNECTIONS)
    headers = {"Accept-Encoding": "gzip"}
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal failed
            while time.perf_counter() < deadline:
                url = next(cycle)
                started = time.perf_counter()
                async with session.get(url) as response:
                    await response.read()
                    failed += response.status != 200
                latencies.append((time.perf_counter() - started) * 1000)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
        took = time.perf_counter() - began
    return took, latencies, failed


def load_process(urls: list[str], seconds: float, q: mp.Queue, cpu: int) -> None:
    pin(cpu)
    q.put(asyncio.run(_load(urls, seconds)))


def with_aiohttp(urls: list[str], seconds: float, cpu: int) -> dict[str, float]:
    ctx = mp.get_context("spawn")
    q: mp.Queue = ctx.Queue()
    process = ctx.Process(target=load_process, args=(urls, seconds, q, cpu))
    process.start()
    took, latencies, failed = q.get()
    process.join()
    latencies.sort()
    return {"rps": len(latencies) / took, "p50": latencies[len(latencies) // 2],
            "p99": latencies[int(len(latencies) * 0.99)], "failed": failed}  # fmt: skip


def with_wrk(url: str, seconds: float, cpu: int) -> dict[str, float]:
    command = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{max(int(seconds), 1)}s", "--latency",
               "-H", "Accept-Encoding: gzip", url]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True,
                         preexec_fn=lambda: pin(cpu)).stdout  # fmt: skip
    figures = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}  # type: ignore[union-attr]
    for name, percent in (("p50", "50"), ("p99", "99")):
        value, unit = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()  # type: ignore[union-attr]
        figures[name] = float(value) * UNITS[unit]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    figures["failed"] = float(bad.group(1)) if bad else 0.0
    return figures


def start_server(settings: Settings, cpu: int) -> tuple[mp.Process, int]:
    port = free_port()
    process = mp.get_context("spawn").Process(target=serve, args=(port, settings, cpu))
    process.start()
    wait_until_up(f"http://127.0.0.1:{port}/")
    return process, port


def sizes(url: str) -> tuple[int, int]:
    import gzip
    import urllib.request

    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=10) as response:
        squeezed = response.read()
    return len(gzip.decompress(squeezed)), len(squeezed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per page")
    parser.add_argument("--no-wrk", action="store_true", help="the aiohttp client, not wrk")
    parser.add_argument("--no-pin", action="store_true", help="leave both processes unpinned")
    args = parser.parse_args()
    from index.ingest import ingest

    largest = max(CORPUS.glob("*.md"), key=lambda p: p.stat().st_size).stem
    with tempfile.TemporaryDirectory() as tmp:
        ingest(Path(tmp) / "index", [CORPUS])
        settings = Settings().replace(
            archive={"index_dir": f"{tmp}/index", "issues_dir": str(CORPUS)},
            storage={"url": f"sqlite:///{tmp}/nt.db"},
        )
        server_cpu, client_cpu = (-1, -1) if args.no_pin else (0, 1)
        process, port = start_server(settings, server_cpu)
        try:
            base = f"http://127.0.0.1:{port}"
            rows = run_all(base, largest, args.seconds, args.no_wrk, client_cpu)
        finally:
            process.terminate()
            process.join(10)
    report(rows, args.seconds)


def run_all(base: str, largest: str, seconds: float, no_wrk: bool, cpu: int) -> list[tuple]:
    wrk = shutil.which("wrk") is not None and not no_wrk
    pages = [
        ("/", "/", 20),
        (f"issue {largest}", f"/issues/{largest}", 20),
        ("/search?q=量化", f"/search?q={quote('量化')}", 50),
        ("/feed.xml", "/feed.xml", 20),
    ]
    rows = []
    for name, path, target in pages:
        plain, squeezed = sizes(base + path)  # also renders it once: the cached page is measured
        if wrk:
            figures = with_wrk(base + path, seconds, cpu)
        else:
            figures = with_aiohttp([base + path], seconds, cpu)
        rows.append((name, "wrk" if wrk else "aiohttp", plain, squeezed, figures, target))
    triples = [" ".join(words) for words in itertools.permutations(TOPICS, 3)]
    random.Random(7).shuffle(triples)  # 74,046 queries: none is asked twice in a run
    distinct = [f"{base}/search?q={quote(q)}" for q in triples]
    figures = with_aiohttp(distinct, seconds, cpu)
    rows.append(("search, each query new", "aiohttp", 0, 0, figures, 50))
    return rows


def report(rows: list[tuple], seconds: float) -> None:
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"web archive, {CONNECTIONS} connections, {seconds:g} s a page, load average {load}")
    print(f"{'page':<26} {'client':<8} {'size (gzip)':>16} {'req/s':>8} {'p50 ms':>7} "
          f"{'p99 ms':>7} {'target':>10} {'failed':>6}")  # fmt: skip
    for name, client, plain, squeezed, f, target in rows:
        size = f"{plain / 1024:.1f}K ({squeezed / 1024:.1f}K)" if plain else "-"
        met = f"<{target} " + ("met" if f["p99"] < target else "MISSED")
        print(
            f"{name:<26} {client:<8} {size:>16} {f['rps']:>8,.0f} {f['p50']:>7.2f} "
            f"{f['p99']:>7.2f} {met:>10} {int(f['failed']):>6}"
        )


if __name__ == "__main__":
    main()
