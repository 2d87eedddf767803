"""`${VAR}` secrets in source URLs and headers never show: not in output, logs, the database or notices.

The feed needs `?apikey=<secret>` and a header token; a second source has `user:<secret>@host` and fails.
Every secret value carries the marker SECRET, so one search per place proves the point.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
from pathlib import Path

from tests.e2e_site import CALM_TEXT, CALM_TITLE, NEWSWATCH, article_page, free_port, rss_feed, wait_for
from tests.loopback import LoopbackHTTPServer, Request, Response, WebhookReceiver

KEY, PASSWORD, TOKEN = "k3y-SECRET-f33d", "p4ss-SECRET-w0rd", "t0k-SECRET-hdr"

CONFIG = """\
database: nw.db
crawl: {{download_delay: 0.0}}
delivery: {{every: 1s, retry_base: 1s}}
operations: {{targets: [ops], source_failing_after: 1s}}
targets:
  - {{name: ops, kind: webhook, url: "{hook}"}}
sources:
  - name: keyed
    kind: feed
    url: "{site}/feed.xml?apikey=${{FEED_KEY}}"
    headers: {{X-Api-Token: "${{HDR_TOKEN}}"}}
    every: 1s
  - name: locked
    kind: feed
    url: "http://reader:${{FEED_PASSWORD}}@127.0.0.1:{closed}/feed.xml"
    every: 1s
watchlists: []
"""


def _env() -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    env.update({"FEED_KEY": KEY, "FEED_PASSWORD": PASSWORD, "HDR_TOKEN": TOKEN})
    return env


def _keyed_site(site: LoopbackHTTPServer) -> None:
    feed = rss_feed(site, [("/news/ramen", CALM_TITLE, "Noodles.")]).encode()

    def answer(request: Request) -> Response:
        if f"apikey={KEY}".replace("/", "%2F") not in request.path and f"apikey={KEY}" not in request.path:
            return Response(403, b"no key", {"Content-Type": "text/plain"})
        if request.headers.get("x-api-token") != TOKEN:
            return Response(401, b"no token", {"Content-Type": "text/plain"})
        return Response(200, feed, {"Content-Type": "application/rss+xml"})

    site.route("/feed.xml", answer)
    site.add("/news/ramen", article_page(CALM_TITLE, CALM_TEXT))


def _no_secret(text: str, where: str) -> None:
    assert "SECRET" not in text, f"a secret leaked into {where}: {text[max(0, text.find('SECRET') - 200):][:400]}"


def test_secrets_stay_out_of_output_logs_database_status_and_notices(
    site: LoopbackHTTPServer, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    _keyed_site(site)
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG.format(hook=receiver.url("/ops"), site=site.base_url, closed=free_port()),
                      encoding="utf-8")
    env = _env()

    crawl = subprocess.run([*NEWSWATCH, "crawl", "--once", "--config", str(config)], env=env, cwd=tmp_path,
                           capture_output=True, text=True, timeout=180, check=False)
    assert crawl.returncode == 0, crawl.stderr
    assert "keyed: 1 new articles, ok" in crawl.stdout, "the key and the header reached the feed"
    assert "locked: 0 new articles, FAILED" in crawl.stdout and "reader:***@127.0.0.1" in crawl.stdout
    _no_secret(crawl.stdout, "crawl --once output")
    _no_secret(crawl.stderr, "crawl --once logs")
    article_requests = site.requests_to("/news/ramen")
    assert article_requests and all("x-api-token" not in r.headers for r in article_requests), \
        "the source's headers go with its own index request only"
    for request in article_requests:
        _no_secret(json.dumps(request.headers), "an article request (Referer?)")

    database = tmp_path / "nw.db"
    with sqlite3.connect(database) as conn:
        rows = conn.execute("SELECT name, url, error FROM sources ORDER BY name").fetchall()
        dump = "\n".join(conn.iterdump())
    assert rows[0][0] == "keyed" and rows[0][1].endswith("/feed.xml?apikey=***")
    assert rows[1][1].startswith("http://reader:***@127.0.0.1")
    _no_secret(dump, "the database (iterdump)")
    for path in tmp_path.glob("nw.db*"):
        assert b"SECRET" not in path.read_bytes(), f"a secret is in the bytes of {path.name}"

    status = subprocess.run([*NEWSWATCH, "status", "--json", "--config", str(config)], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=120, check=False)
    assert status.returncode == 0, status.stderr
    assert "locked" in status.stdout
    _no_secret(status.stdout + status.stderr, "status --json")

    daemon = subprocess.Popen([*NEWSWATCH, "run", "--config", str(config)], env=env, cwd=tmp_path, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert wait_for(lambda: any(b"locked" in r.body for r in receiver.received)), "a failing-source notice"
    finally:
        daemon.send_signal(signal.SIGTERM)
        _out, err = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, err
    notices = [json.dumps(json.loads(r.body)) for r in receiver.received]
    assert any("reader:***@127.0.0.1" in n for n in notices)
    for notice in notices:
        _no_secret(notice, "a notice")
    _no_secret(err, "the daemon's log")


def test_source_headers_follow_redirects_on_the_same_origin_only(site: LoopbackHTTPServer, tmp_path: Path) -> None:
    with LoopbackHTTPServer() as other:  # another port: another origin
        feed = rss_feed(other, [("/news/ramen", CALM_TITLE, "Noodles.")])
        other.add("/feed.xml", feed, content_type="application/rss+xml")
        other.add("/news/ramen", article_page(CALM_TITLE, CALM_TEXT))
        site.add("/moved.xml", "", status=301, headers={"Location": "/again.xml"})
        site.add("/again.xml", "", status=302, headers={"Location": other.url("/feed.xml")})
        config = tmp_path / "config.yaml"
        config.write_text(
            # the other origin is another loopback port: allowed here, where only header scoping is tested
            "database: nw.db\ncrawl: {download_delay: 0.0, allow_networks: [127.0.0.1/32]}\nwatchlists: []\nsources:\n"
            f"  - {{name: moved, kind: feed, url: '{site.url('/moved.xml')}', "
            "headers: {X-Api-Token: '${HDR_TOKEN}'}}\n", encoding="utf-8")
        crawl = subprocess.run([*NEWSWATCH, "crawl", "--once", "--config", str(config)], env=_env(),
                               cwd=tmp_path, capture_output=True, text=True, timeout=180, check=False)
        assert crawl.returncode == 0, crawl.stderr
        assert "moved: 1 new articles, ok" in crawl.stdout, crawl.stdout + crawl.stderr
        assert site.requests_to("/again.xml")[0].headers.get("x-api-token") == TOKEN
        assert other.requests_to("/feed.xml") and all("x-api-token" not in r.headers for r in other.requests)
