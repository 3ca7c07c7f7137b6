"""`neuraltalk serve --workers N`: N processes serving one port, kept alive, stopped together.

The supervisor migrates the store once, holds the port (bound with SO_REUSEPORT, never
listening, so that no other program takes it between restarts), and starts N spawned workers,
each serving the same host:port with SO_REUSEPORT: the kernel spreads new connections over
them. A worker that dies is started again (after a second if it died young, so that a broken
start-up does not spin); after CRASH_LIMIT such deaths in a row the supervisor gives up with
one line. SIGTERM or Ctrl-C stops every worker (SIGTERM, SIGKILL after STOP_WAIT seconds).
The workers keep their shared state in Redis (redis.url, required) and write their metrics to
a fresh PROMETHEUS_MULTIPROC_DIR, which any of them adds up for GET /metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing as mp
import multiprocessing.connection
import os
import shutil
import signal
import socket
import tempfile
import time
from multiprocessing.process import BaseProcess
from types import FrameType

from bot.chat.app import Pages
from bot.config import Settings
from bot.errors import UserError
from bot.metrics import MULTIPROC_VARIABLE

log = logging.getLogger("bot.chat.workers")

STOP_WAIT = 10.0
YOUNG = 5.0  # a worker dying sooner than this after its start "died young"
CRASH_LIMIT = 5


def reserve(host: str, port: int) -> socket.socket:
    """A socket bound to host:port with SO_REUSEPORT, not listening: it keeps the port ours
    (and tells which one port 0 picked) without taking any connection."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return sock


def worker_main(settings: Settings, debug: bool, number: int, pages: Pages | None) -> None:
    """One worker: the webhook (and `pages`) on the shared port until SIGTERM."""
    from bot import eventloop
    from bot.chat import server

    server.setup_logging(debug, f"[worker {number}] ")
    with contextlib.suppress(KeyboardInterrupt):
        eventloop.run(server.serve_forever(settings, debug, lambda: None, pages, reuse_port=True))


async def _migrate(url: str) -> None:
    from bot.store.store import Store

    store = await Store.open(url)
    await store.close()


class Supervisor:
    """Starts the workers, restarts those that die, stops them all on a signal."""

    def __init__(self, settings: Settings, debug: bool, pages: Pages | None) -> None:
        self.settings = settings
        self.debug = debug
        self.pages = pages
        self.ctx = mp.get_context("spawn")
        self.workers: dict[int, tuple[BaseProcess, float]] = {}  # number -> (process, started)
        self.stopping = False
        self.crashes = 0

    def start(self, number: int) -> None:
        process = self.ctx.Process(
            target=worker_main,
            args=(self.settings, self.debug, number, self.pages),
            name=f"worker-{number}",
        )
        process.start()
        self.workers[number] = (process, time.monotonic())
        log.info("worker %d of %d started, pid %d", number, self.settings.server.workers,
                 process.pid)  # fmt: skip

    def stop(self, signum: int, _frame: FrameType | None = None) -> None:
        self.stopping = True

    def watch(self) -> None:
        """Until a signal: wait for a worker to end, and start another in its place."""
        while not self.stopping:
            sentinels = [p.sentinel for p, _ in self.workers.values()]
            multiprocessing.connection.wait(sentinels, timeout=0.5)
            for number, (process, started) in list(self.workers.items()):
                if process.is_alive() or self.stopping:
                    continue
                self.replace(number, process, time.monotonic() - started)

    def replace(self, number: int, process: BaseProcess, lived: float) -> None:
        from prometheus_client import multiprocess

        process.join()
        multiprocess.mark_process_dead(process.pid)
        log.warning("worker %d (pid %d) ended with exit code %s after %.0f s; starting another",
                    number, process.pid, process.exitcode, lived)  # fmt: skip
        self.crashes = self.crashes + 1 if lived < YOUNG else 0
        if self.crashes >= CRASH_LIMIT:
            self.stopping = True
            raise UserError(
                f"workers died {CRASH_LIMIT} times in a row within {YOUNG:.0f} s of starting: "
                "see the log above, or run with --workers 1 to see why"
            )
        if lived < YOUNG:
            time.sleep(1.0)
        self.start(number)

    def stop_all(self) -> None:
        for process, _ in self.workers.values():
            if process.is_alive():
                process.terminate()
        deadline = time.monotonic() + STOP_WAIT
        for process, _ in self.workers.values():
            process.join(max(deadline - time.monotonic(), 0))
            if process.is_alive():
                log.warning("worker pid %d did not stop within %.0f s: killed", process.pid,
                            STOP_WAIT)  # fmt: skip
                process.kill()
                process.join()


def run(settings: Settings, debug: bool, hint: bool, pages: Pages | None = None) -> None:
    """Serve with server.workers processes until SIGTERM or Ctrl-C."""
    from bot.chat.server import announcement, setup_logging

    setup_logging(debug, "[supervisor] ")
    asyncio.run(_migrate(settings.storage.url))  # once, before the workers each check it
    held = reserve(settings.server.host, settings.server.port)
    settings = settings.replace(server={"port": held.getsockname()[1]})
    folder = tempfile.mkdtemp(prefix="neuraltalk-metrics-")
    os.environ[MULTIPROC_VARIABLE] = folder  # inherited by the spawned workers
    supervisor = Supervisor(settings, debug, pages)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, supervisor.stop)
    try:
        for number in range(1, settings.server.workers + 1):
            supervisor.start(number)
        announcement(settings, hint, settings.server.workers, pages is not None)()
        supervisor.watch()
    finally:
        supervisor.stop_all()
        held.close()
        shutil.rmtree(folder, ignore_errors=True)
        log.info("all workers stopped")
