"""`newswatch crawl --once` says why a source stored fewer articles than its index listed."""

from __future__ import annotations

import email.utils
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.e2e_site import run_newswatch
from tests.loopback import LoopbackHTTPServer


def test_crawl_once_line_says_why_nothing_was_new(site: LoopbackHTTPServer, tmp_path: Path) -> None:
    old = email.utils.format_datetime(datetime.now(UTC) - timedelta(days=10))
    items = "".join(f"<item><title>Old {i}</title><link>{site.url(f'/news/old-{i}')}</link>"
                    f"<pubDate>{old}</pubDate></item>" for i in range(12))
    items += "<item><title>Tag</title><link>tag:news.example,2026:1</link></item>"
    site.add("/feed.xml", f'<?xml version="1.0"?><rss version="2.0"><channel><title>B</title>{items}'
             "</channel></rss>", "application/rss+xml")
    config = tmp_path / "config.yaml"
    config.write_text("database: newswatch.db\ncrawl:\n  download_delay: 0.0\n  extraction_workers: 1\n"
                      f"sources:\n  - {{name: old-news, kind: feed, url: '{site.url('/feed.xml')}'}}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    done = run_newswatch(["crawl", "--once", "--config", str(config)], env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert ("old-news: 0 new articles, ok (12 entries, all older than max_age_days=3; "
            "1 entries skipped: not http(s))") in done.stdout
    assert site.requests_to("/news/old-0") == []
