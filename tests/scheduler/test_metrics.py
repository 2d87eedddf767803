"""The daemon's /metrics and /healthz endpoint, over real HTTP on loopback."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import requests

from scheduler.metrics import Metrics, MetricsServer


@pytest.fixture
def served() -> Iterator[tuple[Metrics, MetricsServer]]:
    metrics = Metrics()
    server = MetricsServer(metrics, "127.0.0.1", 0, stale_after=60)
    server.start()
    yield metrics, server
    server.stop()


def test_metrics_expose_crawls_articles_and_deliveries(served: tuple[Metrics, MetricsServer]) -> None:
    metrics, server = served
    metrics.crawls.labels("kyodo", "ok").inc()
    metrics.articles.labels("kyodo").inc(7)
    metrics.deliveries.labels("delivered").inc(2)
    body = requests.get(server.url + "/metrics", timeout=5).text
    assert 'newswatch_crawls_total{outcome="ok",source="kyodo"} 1.0' in body
    assert 'newswatch_articles_total{source="kyodo"} 7.0' in body
    assert 'newswatch_deliveries_total{outcome="delivered"} 2.0' in body


def test_healthz_turns_503_when_the_scheduler_stops_ticking(served: tuple[Metrics, MetricsServer]) -> None:
    metrics, server = served
    ok = requests.get(server.url + "/healthz", timeout=5)
    assert ok.status_code == 200 and ok.json()["status"] == "ok"
    metrics.last_tick_at = time.time() - 3600
    stale = requests.get(server.url + "/healthz", timeout=5)
    assert stale.status_code == 503 and json.loads(stale.text)["status"] == "stale"
    assert requests.get(server.url + "/other", timeout=5).status_code == 404


def test_counts_are_read_back_from_the_registry() -> None:
    metrics = Metrics()
    metrics.crawls.labels("kyodo", "ok").inc(2)
    metrics.crawls.labels("nhk", "broken").inc()
    metrics.deliveries.labels("delivered").inc(3)
    assert metrics.value("newswatch_crawls_total", {"source": "kyodo", "outcome": "ok"}) == 2
    assert metrics.value("newswatch_crawls_total", {"source": "never", "outcome": "ok"}) == 0
    assert metrics.total("newswatch_crawls_total") == 3
    assert metrics.total("newswatch_crawls_total", outcome="broken") == 1
    assert metrics.value("newswatch_deliveries_total", {"outcome": "delivered"}) == 3
