"""Outlets in the region's languages, in their own (often legacy) encodings: crawled, decoded, matched, and the match
explained in the original script (the evidence quotes the words as the outlet wrote them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerts import Document
from crawler.items import SourceSpec
from crawler.store import iter_articles_after, open_store
from scheduler.config import load_config
from tests.crawler.sites import run_crawl
from tests.loopback import LoopbackHTTPServer

ROOT = Path(__file__).resolve().parent.parent

# Written for this test (not from any outlet): language, encoding, headline, body, the watchlist it
# must match, and a word of the original script that the evidence must quote.
STORIES = [
    ("zh-hans", "gb18030", "中国海警船在南海对菲律宾补给船使用水炮",
     "菲律宾外交部就中国海警船使用水炮一事提出强烈抗议。事件发生在仁爱礁附近海域。", "maritime-disputes", "水炮"),
    ("zh-hant", "big5", "日本同意向菲律賓出口護衛艦",
     "兩國簽署國防裝備轉讓協定，日本將向菲律賓出口退役護衛艦。", "arms-deals", "護衛艦"),
    ("ja", "shift_jis", "中国海警局の船が尖閣諸島周辺の領海に侵入",
     "海上保安庁によると、中国海警局の船４隻が領海に侵入した。政府は抗議した。", "maritime-disputes", "領海"),
    ("ko", "euc-kr", "정부, 필리핀에 FA-50 전투기 12대 수출 계약 체결",
     "방위사업청은 필리핀 국방부와 FA-50 전투기 수출 계약을 체결했다고 밝혔다.", "arms-deals", "전투기"),
    ("vi", "utf-8", "Tàu hải cảnh Trung Quốc phun vòi rồng vào tàu cá Việt Nam",
     "Bộ Ngoại giao phản đối việc tàu hải cảnh Trung Quốc phun vòi rồng vào tàu cá của ngư dân.", "maritime-disputes",
     "vòi rồng"),
    ("tl", "utf-8", "Bumili ang Pilipinas ng dalawang barkong pandigma",
     "Pinirmahan ng kagawaran ang kontrata para sa dalawang barkong pandigma na bibilhin sa Korea.", "arms-deals",
     "barkong pandigma"),
    ("id", "iso-8859-1", "Indonesia menandatangani kontrak pembelian 42 pesawat tempur",
     "Kementerian Pertahanan menandatangani kontrak pembelian pesawat tempur dari Prancis.", "arms-deals",
     "pesawat tempur"),
    ("ms", "windows-1252", "Kapal pengawal pantai China menceroboh perairan Malaysia",
     "Wisma Putra membantah kapal pengawal pantai China yang menceroboh perairan negara di Laut China Selatan.",
     "maritime-disputes", "menceroboh"),
]


def _page(title: str, body: str, encoding: str, language: str) -> bytes:
    html = (f'<!DOCTYPE html><html lang="{language}"><head><meta charset="{encoding}">'
            f"<title>{title}</title></head><body><article><h1>{title}</h1>"
            + f"<p>{body}</p>" * 3 + "</article></body></html>")
    return html.encode(encoding)


def _feed(site: LoopbackHTTPServer, path: str, title: str, encoding: str) -> bytes:
    item = f"<item><title>{title}</title><link>{site.url(path)}</link><description>{title}</description></item>"
    return (f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel><title>t</title>'
            f"<link>{site.base_url}</link><description>d</description>{item}</channel></rss>").encode(encoding)


@pytest.mark.parametrize(("language", "encoding", "title", "body", "watchlist", "quoted"), STORIES,
                         ids=[s[0] for s in STORIES])
def test_a_regional_outlet_in_its_legacy_encoding_is_matched_and_explained_in_its_script(
        tmp_path: Path, language: str, encoding: str, title: str, body: str, watchlist: str, quoted: str) -> None:
    with LoopbackHTTPServer() as site:
        site.add("/story", _page(title, body, encoding, language), f"text/html; charset={encoding}")
        site.add("/feed.xml", _feed(site, "/story", title, encoding), f"application/rss+xml; charset={encoding}")
        (report,) = run_crawl(tmp_path / "nw.db", [SourceSpec(name=language, kind="feed", url=site.url("/feed.xml"))])
    assert report["new_articles"] == 1, report
    (article,) = list(iter_articles_after(open_store(tmp_path / "nw.db"), 0))
    assert article.title == title and body[:10] in (article.text or "")  # decoded, not mojibake
    assert (article.language or "").split("-")[0] == language.split("-")[0]
    matcher = load_config(ROOT / "config.yaml").matcher
    verdicts = {m.watchlist: m for m in matcher.match(Document(title=article.title, body=article.text or ""))}
    assert verdicts[watchlist].matched, verdicts[watchlist].reason
    assert any(quoted in e.term or quoted in e.sentence for e in verdicts[watchlist].evidence)
