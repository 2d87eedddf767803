"""Shared fixtures: loopback servers, a fresh database path, a clean environment."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.writer import close_shared_stores
from tests.loopback import LoopbackHTTPServer, SMTPSink, WebhookReceiver

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
CORPUS = SHARED / "corpus"
SEED = SHARED / "seed" / "000_bd552f2eaf8b448e.txt"


def need(path: Path) -> Path:
    """Skip the calling test, with the reason, when the shared corpus is not beside the checkout."""
    if not path.exists():
        pytest.skip(f"shared test data not found at {path} (clone with ../shared beside the project)")
    return path


@pytest.fixture(autouse=True)
def _close_store_threads() -> Iterator[None]:
    """Each test's crawls share one store thread per database (crawler.writer); end them with the test."""
    yield
    close_shared_stores()


@pytest.fixture(autouse=True)
def _clean_newswatch_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("NEWSWATCH_"):
            monkeypatch.delenv(name)


@pytest.fixture
def site() -> Iterator[LoopbackHTTPServer]:
    with LoopbackHTTPServer() as server:
        yield server


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as server:
        yield server


@pytest.fixture
def smtp_sink() -> Iterator[SMTPSink]:
    with SMTPSink() as sink:
        yield sink


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "newswatch.db"
