"""What the benchmarks share: a free loopback port, and pinning a process to one CPU."""

from __future__ import annotations

import os
import socket


def free_port() -> int:
    """A port nobody listens on at this moment, on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def pin(cpu: int) -> None:
    """Run on that CPU only (-1, or a CPU this machine lacks: wherever the system likes)."""
    if hasattr(os, "sched_setaffinity") and 0 <= cpu < (os.cpu_count() or 1):
        os.sched_setaffinity(0, {cpu})
