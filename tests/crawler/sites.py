"""Helpers for crawler tests: realistic pages and feeds, and a crawl in a fresh process.

`run_crawl()` runs `python -m crawler.runner` in a subprocess (a Twisted reactor cannot restart, so
every crawl needs its own process) and returns the reports; the loopback servers keep running in the
test process. Handlers here build the hostile and conditional responses the tests need.
"""

from __future__ import annotations

import dataclasses
import email.utils
import gzip
import json
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.loopback import Request, Response

ROOT = Path(__file__).resolve().parents[2]

NAV = "".join(f'<li><a href="/section/{n}">Section {n}</a></li>' for n in range(20))
PARAGRAPH = (
    "The coast guard said the vessels had entered the disputed waters near the shoal early on Tuesday, "
    "and officials in the capital summoned the ambassador to lodge a formal protest over the incident. "
)


def article_html(
    title: str,
    body: str,
    *,
    date: str = "2026-03-02T08:30:00+08:00",
    lang: str = "en",
    canonical: str | None = None,
) -> str:
    """A page shaped like a real news article: navigation, ads, the story, a newsletter box, a footer."""
    paragraphs = "".join(f"<p>{body} {PARAGRAPH}</p>" for _ in range(4))
    link = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    return f"""<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">
<title>{title} | Daily Bugle</title>
<meta property="og:title" content="{title}"><meta property="article:published_time" content="{date}">
<meta name="author" content="Jane Reporter">{link}</head><body>
<header><nav><ul>{NAV}</ul></nav></header>
<div class="ad">Advertisement: buy the best boats today, limited offer!</div>
<main><article><h1>{title}</h1><p class="byline">By Jane Reporter</p>{paragraphs}</article></main>
<aside class="newsletter">Sign up for our newsletter to get the top stories every morning.</aside>
<footer>Copyright Daily Bugle. All rights reserved. Privacy policy. Terms of use.</footer></body></html>"""


def rss(items: Sequence[tuple[str, str, str]], *, encoding: str = "utf-8") -> bytes:
    """An RSS 2.0 feed of (link, title, description) items, dated now, in the given encoding."""
    now = email.utils.format_datetime(email.utils.localtime())
    body = "".join(
        f"<item><title>{t}</title><link>{link}</link><description>{d}</description><pubDate>{now}</pubDate></item>"
        for link, t, d in items
    )
    text = (
        f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel><title>Bugle</title>'
        f"<link>http://example.test/</link><description>news</description>{body}</channel></rss>"
    )
    return text.encode(encoding)


def conditional(body: bytes, etag: str, content_type: str = "application/rss+xml") -> Any:
    """A handler answering 304 to a matching If-None-Match, else the body with that ETag."""

    def handler(request: Request) -> Response:
        if request.headers.get("if-none-match") == etag:
            return Response(304, b"", {"ETag": etag})
        return Response(200, body, {"Content-Type": content_type, "ETag": etag})

    return handler


def gzip_bomb(inflated_bytes: int) -> bytes:
    """A small gzip body that inflates to `inflated_bytes` of zeros."""
    return gzip.compress(b"\0" * inflated_bytes, compresslevel=9)


def run_crawl(
    db_path: Path,
    sources: Sequence[Any],
    timeout: float = 120,
    scrapy_settings: Mapping[str, str] | None = None,
    **options: Any,
) -> list[dict[str, Any]]:
    """Crawl `sources` (SourceSpec) once in a fresh Python process; return the reports as dicts.

    `scrapy_settings` are passed as `-s NAME=VALUE` (e.g. an extension that records the stats).
    """
    options.setdefault("download_delay", 0.0)
    options.setdefault("autothrottle", False)
    options.setdefault("extraction_workers", 1)
    specs = [dataclasses.asdict(s) for s in sources]
    started = time.monotonic()
    extra = [arg for name, value in (scrapy_settings or {}).items() for arg in ("-s", f"{name}={value}")]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "crawler.runner",
            "--db",
            str(db_path),
            "--sources-json",
            json.dumps(specs),
            "--options-json",
            json.dumps(options),
            *extra,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(f"crawl process failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    reports = json.loads(proc.stdout.strip().splitlines()[-1])
    for report in reports:
        report["_wall"] = time.monotonic() - started
        report["_stderr"] = proc.stderr
    return reports
