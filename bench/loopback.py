"""What the benchmarks share: a free loopback port, waiting for a server on it, and pinning a
process to one CPU."""

from __future__ import annotations

import os
import socket
import time
import urllib.request


def free_port() -> int:
    """A port nobody listens on at this moment, on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def pin(cpu: int) -> None:
    """Run on that CPU only (-1, or a CPU this machine lacks: wherever the system likes)."""
    if hasattr(os, "sched_setaffinity") and 0 <= cpu < (os.cpu_count() or 1):
        os.sched_setaffinity(0, {cpu})


def wait_until_up(url: str, what: str = "the server", tries: int = 300) -> None:
    """Until `url` answers with a success (an error status counts as not up yet)."""
    for _ in range(tries):
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{what} did not come up at {url}")


def cpu_ticks() -> tuple[int, int]:
    """(steal, total) clock ticks of every CPU since boot, from /proc/stat ((0, 0) elsewhere):
    steal is the time the host gave this machine's CPUs to someone else."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(x) for x in stat.readline().split()[1:9]]
    except (OSError, ValueError):
        return 0, 0
    return fields[7], sum(fields)


def steal_share(before: tuple[int, int], after: tuple[int, int]) -> float:
    """The share of CPU time the host took away between two cpu_ticks() readings."""
    total = after[1] - before[1]
    return (after[0] - before[0]) / total if total > 0 else 0.0
