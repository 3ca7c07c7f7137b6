"""Fixtures shared by the test modules: the real corpus, the real PostgreSQL, a SQLite store,
the fake WeChat API on loopback, and archive indexes built once per session."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from broadcast_support import fresh_store_url

from bot.cli.main import main
from bot.fake_wechat.server import MockWeChat, serve_mock
from bot.store.store import Store

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "issues"
PG_VARIABLE = "NEURALTALK_TEST_PG_URL"
REDIS_VARIABLE = "NEURALTALK_TEST_REDIS_URL"
SERVICES = (("PostgreSQL", PG_VARIABLE), ("Redis", REDIS_VARIABLE))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Skips in one line: the PostgreSQL and Redis tests without their variable, the browser
    tests without Chromium (tests/test_web_browser.py), and anything else."""
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        return
    parts, explained = [], 0
    for name, variable in SERVICES:
        count = sum(variable in str(r.longrepr) for r in skipped)
        if count:
            parts.append(f"{count} {name} tests skipped: set {variable} to run them")
            explained += count
    browser = [r for r in skipped if "no Chromium" in str(r.longrepr)]
    if browser:
        parts.append(
            f"{len(browser)} browser tests skipped: no Chromium (apt-get install chromium)"
        )
    others = len(skipped) - explained - len(browser)
    if others:
        parts.append(f"{others} other tests skipped (run pytest -rs)")
    terminalreporter.write_line("; ".join(parts), yellow=True)


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """issues/, the 30 real issues the project serves."""
    return CORPUS


@pytest.fixture(scope="session")
def pg_url() -> str:
    """A PostgreSQL URL from NEURALTALK_TEST_PG_URL; the test skips without it."""
    url = os.environ.get(PG_VARIABLE)
    if not url:
        pytest.skip(f"no PostgreSQL: set {PG_VARIABLE}=postgresql://postgres@127.0.0.1:5432/test")
    return url


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A Redis URL from NEURALTALK_TEST_REDIS_URL; the test skips without it. Tests keep their
    keys under a prefix of their own (scale_support.redis_prefix)."""
    url = os.environ.get(REDIS_VARIABLE)
    if not url:
        pytest.skip(f"no Redis: set {REDIS_VARIABLE}=redis://127.0.0.1:6379/0")
    return url


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A Redis key prefix of this test's own; its keys are deleted afterwards."""
    from scale_support import delete_prefix, new_prefix

    prefix = new_prefix()
    yield prefix
    delete_prefix(redis_url, prefix)


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of issues/2020-04-26.md, built once per session with index.ingest (read-only)."""
    from index.ingest import ingest

    index_dir = tmp_path_factory.mktemp("sample-index")
    ingest(index_dir, [ROOT / "issues" / "2020-04-26.md"])
    return index_dir


@pytest.fixture(scope="session")
def corpus_index(corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of the whole corpus, built once per session with index.ingest (read-only)."""
    from index.ingest import ingest

    index_dir = tmp_path_factory.mktemp("corpus-index")
    report = ingest(index_dir, [corpus_dir])
    assert not report.errors, report.errors
    return index_dir


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An SQLite store in tmp_path named by NEURALTALK_STORAGE_URL; no neuraltalk.yaml around."""
    url = f"sqlite:///{tmp_path}/data/neuraltalk.db"
    (tmp_path / "data").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NEURALTALK_CONFIG", raising=False)
    monkeypatch.setenv("NEURALTALK_STORAGE_URL", url)
    return url


@pytest.fixture
def neuraltalk(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """`neuraltalk ARGS` in this process: exit code, stdout, stderr."""

    def run(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as done:
            main(list(args))
        out, err = capsys.readouterr()
        return int(done.value.code or 0), out, err

    return run


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty store's URL: a test taking it runs on SQLite, then on PostgreSQL (a schema
    of its own, dropped afterwards; skipped without NEURALTALK_TEST_PG_URL)."""
    yield from fresh_store_url(request, tmp_path)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """A real SQLite store in tmp_path (test_store*.py override it for both databases)."""
    store = await Store.open(f"sqlite:///{tmp_path / 'nt.db'}")
    yield store
    await store.close()


@pytest.fixture
async def mock() -> AsyncIterator[MockWeChat]:
    """The fake WeChat API server on a free loopback port."""
    async with serve_mock() as server:
        yield server


@pytest.fixture(scope="module")
def mock_process() -> Iterator[str]:
    """`neuraltalk mock-wechat` in its own process on a free loopback port; yields its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    command = [str(Path(sys.executable).parent / "neuraltalk"), "mock-wechat", "--port", str(port)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def rehearsal(db_url: str, mock_process: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """`mock_process` as the API, with credentials; a fresh account (no menu) for each test."""
    monkeypatch.setenv("NEURALTALK_WECHAT_API_BASE_URL", mock_process)
    monkeypatch.setenv("NEURALTALK_WECHAT_APPID", "wx-trial")
    monkeypatch.setenv("NEURALTALK_WECHAT_SECRET", "trial")
    request = urllib.request.Request(f"{mock_process}/_mock/reset", data=b"", method="POST")
    urllib.request.urlopen(request, timeout=5).close()
    return mock_process
