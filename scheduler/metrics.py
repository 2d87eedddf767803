"""Prometheus metrics and a health check for the daemon, served on a local port.

The registry is the daemon's only set of counters: logs and tests read numbers back from it
(`Metrics.value`) instead of keeping a second tally beside it.

`GET /metrics` is the Prometheus text format (prometheus_client, own registry so tests and several
daemons in one process never collide); `GET /healthz` answers 200 with a JSON body while the scheduler
ticks, 503 when it has not completed a tick for three delivery intervals.

Settings read: `metrics.host`, `metrics.port` (0 = off).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Enum, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from crawler.source_states import STATES

logger = logging.getLogger(__name__)


class Metrics:
    """The daemon's counters, gauges and histograms, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.crawls = Counter("newswatch_crawls_total", "Crawls run, by source and outcome",
                              ["source", "outcome"], registry=r)
        self.crawl_seconds = Histogram("newswatch_crawl_duration_seconds", "Duration of one crawl of a source",
                                       ["source"], registry=r,
                                       buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300))
        self.source_failures = Gauge("newswatch_source_consecutive_failures",
                                     "Consecutive failed crawls of a source", ["source"], registry=r)
        # One sample per state and source, 1 for the current one: alert on `{newswatch_source_state="empty"} == 1`.
        self.source_state = Enum("newswatch_source_state", "State of a source (ok, empty, quiet, failing, ...)",
                                 ["source"], registry=r, states=list(STATES))
        self.articles = Counter("newswatch_articles_total", "New articles stored", ["source"], registry=r)
        self.matched = Counter("newswatch_articles_matched_total", "Articles that matched a watchlist", registry=r)
        self.alerts = Counter("newswatch_alerts_enqueued_total", "Alerts written to the outbox", registry=r)
        self.deliveries = Counter("newswatch_deliveries_total", "Delivery attempts by outcome",
                                  ["outcome"], registry=r)
        self.publication_to_alert = Histogram(
            "newswatch_publication_to_alert_seconds", "From an article's publication (or fetch) to its alert "
            "reaching the target", ["target"], registry=r,
            buckets=(5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600))
        self.fetch_to_alert = Histogram(
            "newswatch_fetch_to_alert_seconds", "From storing an article to its alert reaching the target",
            ["target"], registry=r, buckets=(0.5, 1, 2, 5, 10, 30, 60, 300, 1800))
        self.last_tick = Gauge("newswatch_last_tick_timestamp_seconds",
                               "Unix time the scheduler last completed a job", registry=r)
        self.last_tick_at = time.time()
        self.last_tick.set(self.last_tick_at)

    def tick(self) -> None:
        """A job completed: the scheduler is alive (`/healthz`)."""
        self.last_tick_at = time.time()
        self.last_tick.set(self.last_tick_at)

    def render(self) -> bytes:
        """The registry in Prometheus' text format (the body of `/metrics`)."""
        return generate_latest(self.registry)

    def value(self, name: str, labels: Mapping[str, str] | None = None) -> float:
        """Read one sample back from the registry: 0.0 when it was never recorded.

        Args:
            name: the sample's name as exposed, e.g. `newswatch_crawls_total`.
            labels: its labels, e.g. `{"source": "kyodo", "outcome": "ok"}`.
        """
        return self.registry.get_sample_value(name, dict(labels or {})) or 0.0

    def total(self, name: str, **match: str) -> float:
        """Sum of every sample of `name` whose labels include `match` (e.g. all sources' crawls)."""
        found = 0.0
        for family in self.registry.collect():
            for sample in family.samples:
                if sample.name == name and all(sample.labels.get(k) == v for k, v in match.items()):
                    found += sample.value
        return found


class MetricsServer:
    """`/metrics` and `/healthz` on a background thread; `stale_after` seconds without a tick is unhealthy."""

    def __init__(self, metrics: Metrics, host: str, port: int, stale_after: float) -> None:
        self.metrics = metrics
        self.stale_after = stale_after
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    self._send(200, owner.metrics.render(), CONTENT_TYPE_LATEST)
                elif path == "/healthz":
                    age = time.time() - owner.metrics.last_tick_at
                    healthy = age <= owner.stale_after
                    body = json.dumps({"status": "ok" if healthy else "stale",
                                       "seconds_since_last_job": round(age, 1)}).encode()
                    self._send(200 if healthy else 503, body, "application/json")
                else:
                    self._send(404, b"not found: try /metrics or /healthz\n", "text/plain")

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="newswatch-metrics", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()
        logger.info("metrics on %s/metrics, health on %s/healthz", self.url, self.url)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
