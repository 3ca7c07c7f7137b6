"""Benchmark of the archive: ingest, cold `neuraltalk search`, query latency; corpus and synthetic.

    python bench/bench_archive.py [--entries 100000] [--runs 5] [--skip-synthetic]

Prints the figures; targets on the 2-core machine: corpus ingest < 2 s, cold search < 1.5 s,
p99 < 5 ms on the corpus and < 50 ms at 100,000 entries. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
sys.path.insert(0, str(ROOT))

QUERIES = [
    "量化", "tengine", "MobileNet", "OpenCV", "华为", "剪枝", "TVM", "arm", "int8", "BERT",
    "低比特", "推理", "GPU", "NPU", "芯片", "蒸馏", "ONNX", "CUDA", "模型压缩", "YOLO",
    "Paddle Lite", "TFLite", "高通 骁龙", "麒麟", "NCNN", "MNN", "稀疏", "二值", "Transformer",
    "论文 量化", "开源 Tengine", "新闻 华为", "热身 苹果", "博文 部署", "quantization", "pruning",
    "distillation", "inference", "deploy", "compiler", "Tengnie", "mobilenett", "TensorRTT",
    "华为 麒麟 芯片", "量化 int8 arm", "苹果 M1", "超分辨率", "目标检测", "手机 端侧 推理",
    "qwzxqwzx",
]  # fmt: skip


def neuraltalk(index_dir: Path, *args: str) -> tuple[float, str]:
    """Wall time and output of one `neuraltalk ...` process (the installed entry point)."""
    env = {**os.environ, "NEURALTALK_ARCHIVE_INDEX_DIR": str(index_dir), "COLUMNS": "200"}
    exe = Path(sys.executable).with_name("neuraltalk")
    started = time.perf_counter()
    done = subprocess.run([str(exe), *args], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"neuraltalk {' '.join(args)} failed: {done.stderr.strip()}")
    return elapsed, done.stdout


def cold_search(index_dir: Path, runs: int) -> str:
    times = [neuraltalk(index_dir, "search", "量化")[0] for _ in range(runs)]
    return f"median {statistics.median(times):.2f} s, max {max(times):.2f} s over {runs} runs"


def latency(index_dir: Path, passes: int) -> str:
    from index.search import Archive

    archive = Archive.open(index_dir)
    try:
        first = []
        for query in QUERIES:  # first pass: nothing cached yet (spelling vocabulary is built here)
            started = time.perf_counter()
            archive.search(query)
            first.append(time.perf_counter() - started)
        timings = []
        for _ in range(passes):
            for query in QUERIES:
                started = time.perf_counter()
                archive.search(query)
                timings.append(time.perf_counter() - started)
    finally:
        archive.close()
    cuts = statistics.quantiles(timings, n=100)
    return (
        f"p50 {cuts[49] * 1000:.1f} ms, p99 {cuts[98] * 1000:.1f} ms, "
        f"max {max(timings) * 1000:.1f} ms over {len(timings)} searches of {len(QUERIES)} "
        f"queries (first pass: p50 {statistics.median(first) * 1000:.1f} ms, "
        f"max {max(first) * 1000:.1f} ms)"
    )


def bench(label: str, source: Path, work: Path, runs: int, passes: int) -> None:
    from index.build import current_dir, load_meta

    index_dir = work / f"{label}-index"
    wall, output = neuraltalk(index_dir, "ingest", str(source))
    inside = re.search(r"time: ([0-9.]+) s", output)
    meta = load_meta(current_dir(index_dir))
    entries = sum(info["entries"] for info in meta["issues"].values())
    print(f"[{label}] {len(meta['issues'])} issues, {entries} entries")
    print(
        f"[{label}] ingest: {wall:.2f} s for the whole `neuraltalk ingest` process, "
        f"{inside.group(1) if inside else '?'} s of it ingesting"
    )
    print(f"[{label}] cold `neuraltalk search 量化`: {cold_search(index_dir, runs)}")
    print(f"[{label}] query latency: {latency(index_dir, passes)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5, help="cold-start runs")
    parser.add_argument("--passes", type=int, default=5, help="passes over the 50 queries")
    parser.add_argument("--skip-synthetic", action="store_true")
    args = parser.parse_args()
    if not CORPUS.is_dir():
        raise SystemExit(f"the corpus is not at {CORPUS}")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="neuraltalk-bench-") as tmp:
        work = Path(tmp)
        bench("corpus", CORPUS, work, args.runs, args.passes)
        if args.skip_synthetic:
            return
        from make_synthetic import write_archive

        started = time.perf_counter()
        issues = write_archive(work / "synthetic", args.entries, 20, seed=1)
        print(f"[synthetic] wrote {issues} issue files in {time.perf_counter() - started:.1f} s")
        bench("synthetic", work / "synthetic", work, args.runs, args.passes)


if __name__ == "__main__":
    main()
