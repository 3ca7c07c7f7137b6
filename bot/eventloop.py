"""The event loop our commands run on: uvloop's (libuv) where it is installed, else asyncio's.

uvloop spends about a quarter less CPU per HTTP request than asyncio's own loop (measured with
bench/bench_broadcast.py: 1,442–1,471 against 1,132 messages/s in one run), and a broadcast or
the webhook is mostly HTTP requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run(main) on a new uvloop loop (asyncio's where uvloop is missing)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - a platform without uvloop (Windows)
        return asyncio.run(main)
    return uvloop.run(main)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A new loop of the same kind, for aiohttp's web.run_app(loop=...)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()
