"""Benchmark of the reload without traffic: how long after `neuraltalk ingest` exits does a
running `neuraltalk serve`, sent no message at all, show the new counts on /healthz?

    python bench/bench_reload.py [--runs 10]

Starts `neuraltalk serve` on a free loopback port over a fresh index of one issue, then each
run ingests one more issue of issues/ with the CLI and polls /healthz every 10 ms (a GET
/healthz does not trigger a reload: only the server's background check does). Prints each
delay and min / median / max, with the load average. Target: under a second. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from loopback import free_port

ROOT = Path(__file__).resolve().parent.parent
NEURALTALK = str(Path(sys.executable).parent / "neuraltalk")


def health(port: int) -> dict[str, object]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
            return dict(json.loads(answer.read()))
    except OSError:
        return {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    issues = sorted((ROOT / "issues").glob("2*.md"))[: runs + 1]
    with tempfile.TemporaryDirectory() as work:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEURALTALK_")}
        port = free_port()
        env.update(NEURALTALK_ARCHIVE_INDEX_DIR=f"{work}/index", NEURALTALK_SERVER_PORT=str(port),
                   NEURALTALK_STORAGE_URL=f"sqlite:///{work}/nt.db")  # fmt: skip
        subprocess.run([NEURALTALK, "ingest", str(issues[0])], env=env, check=True,
                       capture_output=True)  # fmt: skip
        server = subprocess.Popen([NEURALTALK, "serve"], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            while health(port).get("issues") != 1:
                time.sleep(0.05)
            delays = []
            for number, issue in enumerate(issues[1:], start=2):
                subprocess.run([NEURALTALK, "ingest", str(issue)], env=env, check=True,
                               capture_output=True)  # fmt: skip
                done = time.monotonic()
                while health(port).get("issues") != number:
                    time.sleep(0.01)
                delays.append(time.monotonic() - done)
                print(f"ingest of {issue.name}: /healthz showed {number} issues after "
                      f"{delays[-1] * 1000:.0f} ms")  # fmt: skip
        finally:
            server.terminate()
            server.wait(10)
    load = os.getloadavg()
    print(f"reload without traffic, {len(delays)} ingests: min {min(delays) * 1000:.0f} ms, "
          f"median {statistics.median(delays) * 1000:.0f} ms, max {max(delays) * 1000:.0f} ms "
          f"(load average {load[0]:.2f})")  # fmt: skip


if __name__ == "__main__":
    main()
