"""Benchmark of the archive: ingest, cold `neuraltalk search`, query latency; corpus and synthetic.

    python bench/bench_archive.py [--entries 100000] [--runs 5] [--passes 5] [--skip-synthetic]
                                  [--against REV] [--against-synthetic]

Prints the figures; targets on the 2-core machine: corpus ingest < 2 s, cold search < 1.5 s,
p99 < 5 ms on the corpus and < 50 ms at 100,000 entries. Not a test: nothing is asserted.
Latency is measured in a child process per code tree: the 50 queries once (nothing cached
yet), then `--passes` more times, then 300 distinct combinations of 2-3 of their words, each
asked once (as the webhook's distinct-query benchmark does); p50/p99 of wall time, and the
mean CPU time per search. Other people may run benchmarks on the same machine: the load
average is printed, and `--against REV` measures the code of git revision REV (e.g. HEAD~1) in
the same run, alternating with the working tree, on the same inputs (the synthetic archive
only with --against-synthetic: the old code can take minutes to ingest it).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "issues"

QUERIES = [
    "量化", "tengine", "MobileNet", "OpenCV", "华为", "剪枝", "TVM", "arm", "int8", "BERT",
    "低比特", "推理", "GPU", "NPU", "芯片", "蒸馏", "ONNX", "CUDA", "模型压缩", "YOLO",
    "Paddle Lite", "TFLite", "高通 骁龙", "麒麟", "NCNN", "MNN", "稀疏", "二值", "Transformer",
    "论文 量化", "开源 Tengine", "新闻 华为", "热身 苹果", "博文 部署", "quantization", "pruning",
    "distillation", "inference", "deploy", "compiler", "Tengnie", "mobilenett", "TensorRTT",
    "华为 麒麟 芯片", "量化 int8 arm", "苹果 M1", "超分辨率", "目标检测", "手机 端侧 推理",
    "qwzxqwzx",
]  # fmt: skip
DISTINCT = 300


def distinct_queries() -> list[str]:
    sections = {"论文", "开源", "新闻", "热身", "博文"}
    words = sorted({w for q in QUERIES for w in q.split()} - sections)
    combos = [" ".join(c) for n in (2, 3) for c in itertools.combinations(words, n)]
    return random.Random(4).sample(combos, DISTINCT)


def neuraltalk(tree: Path | None, index_dir: Path, *args: str) -> tuple[float, float, int, str]:
    """Wall time, CPU time (with its children), peak memory (MB) and output of `neuraltalk ...`."""
    env = {**os.environ, "NEURALTALK_ARCHIVE_INDEX_DIR": str(index_dir), "COLUMNS": "200"}
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    exe = Path(sys.executable).with_name("neuraltalk")
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        child = subprocess.Popen([str(exe), *args], env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if child.returncode not in (0, 1):
            raise SystemExit(f"neuraltalk {' '.join(args)} failed: {err.read().strip()}")
        output = out.read()
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024, output


def percentiles(times: list[float]) -> str:
    cuts = statistics.quantiles(times, n=100)
    return f"p50 {cuts[49] * 1000:.2f} ms, p99 {cuts[98] * 1000:.2f} ms"


def measure_latency(index_dir: Path, passes: int) -> dict[str, object]:
    """In the child: search timings (seconds) for the three query sets."""
    from index.search import Archive

    archive = Archive.open(index_dir)
    timings: dict[str, list[float]] = {"first": [], "warm": [], "distinct": []}
    cpu: dict[str, float] = dict.fromkeys(timings, 0.0)
    runs = [("first", QUERIES), *[("warm", QUERIES)] * passes, ("distinct", distinct_queries())]
    try:
        for name, queries in runs:
            for query in queries:
                started, cpu_started = time.perf_counter(), time.process_time()
                archive.search(query, limit=20)
                timings[name].append(time.perf_counter() - started)
                cpu[name] += time.process_time() - cpu_started
    finally:
        archive.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    return {
        "timings": timings,
        "cpu": {k: cpu[k] / len(timings[k]) for k in timings},
        "peak": peak,
    }


def latency(tree: Path | None, index_dir: Path, passes: int) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(tree or ROOT)}
    command = [sys.executable, __file__, "--latency-of", str(index_dir), "--passes", str(passes)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    data = json.loads(done.stdout)
    figures = {
        f"latency, {name}": f"{percentiles(times)}; CPU {data['cpu'][name] * 1000:.2f} ms/search"
        for name, times in data["timings"].items()
    }
    figures["searching process peak memory"] = f"{data['peak']} MB"
    return figures


def bench(label: str, source: Path, work: Path, trees: dict[str, Path | None], args) -> None:
    figures: dict[str, dict[str, str]] = {name: {} for name in trees}
    for name, tree in trees.items():
        index_dir = work / f"{label}-{name}-index"
        wall, cpu, peak, output = neuraltalk(tree, index_dir, "ingest", str(source))
        inside = re.search(r"(?:time: |; )([0-9.]+) s$", output, re.MULTILINE)
        figures[name]["ingest"] = (
            f"{wall:.2f} s whole process ({inside.group(1) if inside else '?'} s inside), "
            f"CPU {cpu:.2f} s, peak {peak} MB"
        )
    for name in trees:
        figures[name]["entries"] = str(count_entries(work / f"{label}-{name}-index"))
    cold: dict[str, list[float]] = {name: [] for name in trees}
    for _ in range(args.runs):  # alternating, so that both trees see the same load
        for name, tree in trees.items():
            cold[name].append(neuraltalk(tree, work / f"{label}-{name}-index", "search", "量化")[0])
    for name, times in cold.items():
        figures[name]["cold search 量化"] = (
            f"median {statistics.median(times):.2f} s, max {max(times):.2f} s ({args.runs} runs)"
        )
    for name, tree in trees.items():
        figures[name].update(latency(tree, work / f"{label}-{name}-index", args.passes))
    for metric in figures[next(iter(trees))]:
        row = " | ".join(f"{name}: {figures[name][metric]}" for name in trees)
        print(f"[{label}] {metric}: {row}")
    print(f"[{label}] load average after: {os.getloadavg()[0]:.2f}")


def count_entries(index_dir: Path) -> int:
    from index.layout import current_dir, load_meta

    meta = load_meta(current_dir(index_dir))
    return sum(info["entries"] for info in meta["issues"].values())


def checkout(revision: str, work: Path) -> Path:
    """The files of a git revision, in a folder of `work`."""
    tree = work / f"tree-{re.sub(r'[^A-Za-z0-9]', '_', revision)}"
    tree.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    return tree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5, help="cold-start runs")
    parser.add_argument("--passes", type=int, default=5, help="warm passes over the 50 queries")
    parser.add_argument("--skip-synthetic", action="store_true")
    parser.add_argument("--against", metavar="REV", help="also measure git revision REV")
    parser.add_argument("--against-synthetic", action="store_true")
    parser.add_argument("--latency-of", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.latency_of:  # the child of latency(): PYTHONPATH names the code tree
        print(json.dumps(measure_latency(args.latency_of, args.passes)))
        return
    sys.path.insert(0, str(ROOT))
    if not CORPUS.is_dir():
        raise SystemExit(f"the corpus is not at {CORPUS}")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="neuraltalk-bench-") as tmp:
        work = Path(tmp)
        trees: dict[str, Path | None] = {"now": None}
        if args.against:
            trees[args.against] = checkout(args.against, work)
        bench("corpus", CORPUS, work, trees, args)
        if args.skip_synthetic:
            return
        sys.path.insert(0, str(ROOT / "bench"))
        from make_synthetic import write_archive

        started = time.perf_counter()
        issues = write_archive(work / "synthetic", args.entries, 20, seed=1)
        print(f"[synthetic] wrote {issues} issue files in {time.perf_counter() - started:.1f} s")
        if not args.against_synthetic:
            trees = {"now": None}
        bench("synthetic", work / "synthetic", work, trees, args)


if __name__ == "__main__":
    main()
