"""Extraction on saved Asia-Pacific pages: headline, first paragraph and date, boilerplate left out."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.extract import clean_title, extract_article, extract_file
from tests.conftest import CORPUS
from tests.crawler.sites import ROOT, article_html

PAGES = CORPUS / "pages" / "fundus-test-data"
# Known misses, kept visible: (page, what is missed)
KNOWN_MISSES = {
    "HankookIlbo_2026_01_29.html.gz": "script-rendered page: no text, no date",
    "YomiuriShimbun_2024_12_03.html.gz": "lead paragraph is dropped as boilerplate",
}


def _cases() -> list[tuple[Path, str, dict]]:
    cases = []
    if not PAGES.exists():
        return cases
    for country in sorted(p for p in PAGES.iterdir() if p.is_dir()):
        meta = json.loads((country / "meta.info").read_text())
        for expected_file in sorted(country.glob("*.json")):
            expected = json.loads(expected_file.read_text())
            versions = sorted(expected, key=lambda key: int(key[1:]))
            pages = sorted(country.glob(expected_file.stem + "_*.html.gz"))
            for version, page in zip(versions, pages, strict=False):
                cases.append((page, meta[page.name]["url"], expected[version]))
    return cases


def _norm(text: str) -> str:
    return re.sub(r"[\s\"']+", " ", text).strip()


@pytest.mark.parametrize(
    ("page", "url", "expected"),
    [
        pytest.param(
            *case,
            id=case[0].name,
            marks=[pytest.mark.xfail(reason=KNOWN_MISSES[case[0].name])]
            if case[0].name in KNOWN_MISSES
            else [],
        )
        for case in _cases()
    ]
    or [pytest.param(None, None, None, marks=pytest.mark.skip(reason=f"corpus not found at {PAGES}"))],
)
def test_asia_pacific_pages(page: Path, url: str, expected: dict) -> None:
    result = extract_article(gzip.decompress(page.read_bytes()), url)
    assert result.extracted
    paragraphs = [p for section in expected["body"]["sections"] for p in section["paragraphs"]]
    assert _norm(paragraphs[0][:60]) in _norm(result.text)
    assert (result.date or "")[:10] == (expected.get("publishing_date") or "")[:10]
    assert "cookie" not in result.text.lower()[:200]


@pytest.mark.parametrize(
    ("title", "site", "clean"),
    [
        ("US, Manila launch war games - Taipei Times", None, "US, Manila launch war games"),
        (
            "停戦「最も合意に近い」 最終案に双方同意か | 毎日新聞",
            None,
            "停戦「最も合意に近い」 最終案に双方同意か",
        ),
        ("Storm: a long headline about weather", None, "Storm: a long headline about weather"),
        ("Short | Daily Bugle", "Daily Bugle", "Short"),
    ],
)
def test_site_name_is_dropped_from_titles(title: str, site: str | None, clean: str) -> None:
    assert clean_title(title, site) == clean


def test_feed_values_fill_what_the_page_lacks() -> None:
    page = b"<html><body><article>" + b"<p>The frigate deal was signed in Manila on Monday.</p>" * 20
    page += b"</article></body></html>"
    result = extract_article(
        page,
        "https://x.example/a",
        fallback_title="Frigate deal signed",
        fallback_date="2026-03-02T09:00:00+08:00",
    )
    assert result.extracted and result.title == "Frigate deal signed"
    assert result.date == "2026-03-02T09:00:00+08:00"


@pytest.mark.parametrize(
    ("body", "reason"),
    [(b"", "empty"), (b"%PDF-1.7\n...", "not_html"), (b"just some words, no markup", "not_html")],
)
def test_non_html_gives_the_feed_text(body: bytes, reason: str) -> None:
    result = extract_article(body, "https://x.example/a", fallback_title="T", fallback_summary="S")
    assert (result.extracted, result.reason, result.title, result.text) == (False, reason, "T", "S")


def test_extract_file_reads_gzip_and_plain(tmp_path: Path) -> None:
    html = article_html("Patrol boats collide", "Two patrol boats collided near the atoll.")
    (tmp_path / "a.html").write_text(html)
    (tmp_path / "b.html.gz").write_bytes(gzip.compress(html.encode()))
    for name in ("a.html", "b.html.gz"):
        record = extract_file(tmp_path / name, "https://news.example/patrol")
        assert set(record) == {"file", "title", "text", "date", "authors", "language", "url"}
        assert record["title"] == "Patrol boats collide" and "near the atoll" in record["text"]
        assert (
            record["date"] == "2026-03-02T08:30:00+08:00" and record["url"] == "https://news.example/patrol"
        )
    json.dumps(record)


def test_extraction_runs_in_worker_processes() -> None:
    code = (
        "import asyncio, os\n"
        "from crawler.pool import extract_in_pool, get_pool, shutdown_pool\n"
        "from tests.crawler.sites import article_html\n"
        "async def main():\n"
        "    page = article_html('Pool', 'Pool body text.').encode()\n"
        "    r = await extract_in_pool(2, page, 'https://x.example/p')\n"
        "    worker = get_pool(2).schedule(os.getpid).result(timeout=60)\n"
        "    print(r.title, worker != os.getpid())\n"
        "asyncio.run(main()); shutdown_pool()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "Pool True", out.stderr
