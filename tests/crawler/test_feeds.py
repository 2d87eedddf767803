"""Feeds and sitemaps parse correctly, including legacy Asian encodings, on the real corpus files."""

from __future__ import annotations

import gzip
import json

import pytest

from crawler.errors import FeedError
from crawler.feeds import parse_feed
from crawler.sitemaps import parse_sitemap
from tests.conftest import CORPUS, need

FEEDS = CORPUS / "feeds"

# (file, entries, a string that must be in the first title, decoded properly)
LEGACY = [
    ("chardet/Big5/coolloud.org.tw.xml", 20, "不見棺材不走人"),
    ("chardet/GB2312/acnnewswire.net.xml", 8, "中国银联"),
    ("chardet/EUC-KR/acnnewswire.net.xml", 8, "이용 계약을 체결"),
    ("chardet/EUC-JP/mimizun.com.xml", 15, "楽天祭り"),
    ("chardet/EUC-JP/overcube.com.atom.xml", 15, "あけましておめでとう"),
    ("chardet/CP949/ricanet.com.xml", 10, "구라치다"),
    ("chardet/TIS-620/opentle.org.xml", 25, "ซอฟแวร์โอเพนซอร์ส"),
    ("rss-parser/encoding-gb2312.xml", 20, "习近平"),
    ("rss-parser/uolNoticias.rss", 15, "Bolsonaro"),
]


@pytest.mark.parametrize(("name", "count", "needle"), LEGACY)
def test_legacy_encoded_feeds_decode(name: str, count: int, needle: str) -> None:
    body = need(FEEDS / name).read_bytes()
    entries = parse_feed(body, "https://feeds.example/" + name)
    assert len(entries) == count
    assert needle in entries[0].title
    assert not any("\ufffd" in e.title or "Ã" in e.title for e in entries[:5])
    assert all(e.url.startswith("http") for e in entries)


def test_cp949_feed_declared_euc_kr_has_no_mojibake() -> None:
    entries = parse_feed(
        need(FEEDS / "chardet/CP949/ricanet.com.xml").read_bytes(), "https://ricanet.com/rss"
    )
    text = " ".join(e.title + e.summary for e in entries)
    assert sum("\uac00" <= ch <= "\ud7a3" for ch in text) > 50  # Hangul syllables, not Latin-1 junk


def test_dates_keep_their_offset_even_when_feedparser_rejects_them() -> None:
    acn = parse_feed(need(FEEDS / "chardet/GB2312/acnnewswire.net.xml").read_bytes(), "https://a.example/")
    assert acn[0].published is not None and acn[0].published.endswith("+09:00")
    uol = parse_feed(need(FEEDS / "rss-parser/uolNoticias.rss").read_bytes(), "https://uol.example/")
    assert uol[0].published == "2018-09-24T19:42:40-03:00"  # "Seg, 24 Set 2018" in Portuguese


def test_guardian_rss_authors_and_plain_text_summaries() -> None:
    entries = parse_feed(need(FEEDS / "rss-parser/guardian.rss").read_bytes(), "https://www.theguardian.com/")
    assert len(entries) == 55
    assert any(e.authors for e in entries)
    assert not any("<p>" in e.summary for e in entries)


def test_json_feed() -> None:
    entries = parse_feed(
        need(FEEDS / "trafilatura/feed.json").read_bytes(), "https://feeds.npr.org/1019/feed.json"
    )
    assert len(entries) == 25
    assert entries[0].url.startswith("https://www.npr.org/")
    assert entries[0].published == "2021-10-29T10:26:00-04:00"


def test_wrong_charset_header_is_overridden_by_the_bytes() -> None:
    title = "南海仲裁案裁決，菲律賓外交部表示歡迎"
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        f"<item><title>{title}</title><link>https://x.example/1</link></item></channel></rss>"
    )
    headers = {"Content-Type": "text/xml; charset=utf-8"}
    entries = parse_feed(body.encode("big5"), "https://x.example/feed", headers)
    assert entries[0].title == title


@pytest.mark.parametrize(
    "body",
    [b"", b"<html><body><h1>Welcome</h1></body></html>", b"\x00\x01garbage", b"<rss><channel><item><title>"],
)
def test_not_a_feed_raises_feed_error(body: bytes) -> None:
    with pytest.raises(FeedError, match=r"feed https://x\.example/feed"):
        parse_feed(body, "https://x.example/feed")


def test_news_sitemap_with_publication_dates() -> None:
    sitemap = parse_sitemap(
        need(FEEDS / "advertools/news_sitemap.xml").read_bytes(), "https://www.nytimes.com/s.xml"
    )
    assert len(sitemap.entries) == 6
    first = sitemap.entries[0]
    assert first.url.startswith("https://www.nytimes.com/") and " " not in first.url
    assert first.title.startswith("Quarantine Was Driving Me Crazy")
    assert first.published == "2020-05-11T09:00:01+00:00"


def test_sitemap_index_and_gzip() -> None:
    import gzip

    index = (
        b'<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<sitemap><loc>https://x.example/news.xml.gz</loc><lastmod>2026-03-01</lastmod></sitemap></sitemapindex>"
    )
    parsed = parse_sitemap(gzip.compress(index), "https://x.example/index.xml")
    assert [ref.url for ref in parsed.sitemaps] == ["https://x.example/news.xml.gz"]
    assert parsed.sitemaps[0].lastmod == "2026-03-01T00:00:00+00:00"


def test_gzip_bomb_sitemap_is_refused() -> None:
    import gzip

    with pytest.raises(FeedError, match="inflates past"):
        bomb = gzip.compress(b"<urlset>" + b" " * 5_000_000)
        parse_sitemap(bomb, "https://x.example/s.xml.gz", max_bytes=100_000)


# --- Feeds shaped like other projects' test files (real bodies from the corpus, served oddly) ---

NPR_JSON = FEEDS / "trafilatura/feed.json"
NPR_URL = "https://feeds.npr.org/1019/feed.json"


def test_json_feed_items_without_url_do_not_invent_addresses_from_opaque_ids() -> None:
    data = json.loads(need(NPR_JSON).read_bytes())
    for item in data["items"]:
        del item["url"]  # NPR's ids are bare numbers such as "1050315385"
    assert parse_feed(json.dumps(data).encode(), NPR_URL) == []


@pytest.mark.parametrize(
    ("item_id", "expected"),
    [("https://x.example/story/1", ["https://x.example/story/1"]), ("1050315385", []),
     ("/story/1", []), ("tag:x.example,2026:1", []), ("httpd-1", []), ("ftp://x.example/1", [])],
)
def test_json_feed_id_is_a_link_only_when_an_absolute_http_url(item_id: str, expected: list[str]) -> None:
    body = json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": [{"id": item_id, "title": "t"}]})
    assert [e.url for e in parse_feed(body.encode(), "https://x.example/feed.json")] == expected


@pytest.mark.parametrize(
    ("entry_id", "expected"),
    [("https://x.example/story/1", ["https://x.example/story/1"]), ("httpd-1", []), ("ftp://x.example/1", []),
     ("http:relative", [])],
)
def test_atom_id_is_a_link_only_when_an_absolute_http_url(entry_id: str, expected: list[str]) -> None:
    body = (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
        f"<entry><id>{entry_id}</id><title>Story</title><updated>2026-03-02T00:00:00Z</updated></entry>"
        "<entry><id>urn:x:2</id><title>Other</title><link href=\"https://x.example/other\"/>"
        "<updated>2026-03-02T00:00:00Z</updated></entry></feed>"
    ).encode()
    urls = [e.url for e in parse_feed(body, "https://x.example/atom.xml")]
    assert urls == [*expected, "https://x.example/other"]


@pytest.mark.parametrize("prefix", [b"\xef\xbb\xbf", b"\xef\xbb\xbf\r\n  ", b"\n \xef\xbb\xbf\t"])
def test_json_feed_after_a_byte_order_mark(prefix: bytes) -> None:
    entries = parse_feed(prefix + need(NPR_JSON).read_bytes(), NPR_URL)
    assert len(entries) == 25 and entries[0].url.startswith("https://www.npr.org/")


@pytest.mark.parametrize("name", ["rss-parser/guardian.rss", "chardet/EUC-JP/overcube.com.atom.xml",
                                  "trafilatura/feed.json"])
def test_feed_served_as_raw_gzip_is_inflated(name: str) -> None:
    body = need(FEEDS / name).read_bytes()
    expected = parse_feed(body, "https://x.example/feed")
    assert expected
    assert parse_feed(gzip.compress(body), "https://x.example/feed.gz") == expected


def test_raw_gzip_feed_bomb_stays_bounded() -> None:
    bomb = gzip.compress(b"<rss>" + b" " * 5_000_000, compresslevel=9)
    with pytest.raises(FeedError, match=r"feed https://x\.example/f\.gz .*inflates past 100000 bytes"):
        parse_feed(bomb, "https://x.example/f.gz", max_bytes=100_000)
