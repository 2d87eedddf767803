"""Every article gets a language: detected from its text, the page's declaration kept when it agrees."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler import extract_article
from crawler.language import detect_language

SHARED = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "pages" / "fundus-test-data"

# Headlines written for these tests, one per language the default config follows.
HEADLINES = {
    "zh": "中国海警船在黄岩岛附近向菲律宾补给船发射水炮",
    "ja": "尖閣諸島周辺の領海に中国海警局の船が侵入、海上保安庁が警告",
    "ko": "정부, 독도 인근 해역 조사에 대해 일본에 강력 항의",
    "vi": "Tàu hải cảnh Trung Quốc xâm phạm vùng đặc quyền kinh tế của Việt Nam ở Biển Đông",
    "tl": "Binomba ng tubig ng China Coast Guard ang bangka ng Pilipinas malapit sa Ayungin Shoal",
    "en": "Japan agrees to export defence equipment to Vietnam under new transfer accord",
}


@pytest.mark.parametrize("language", sorted(HEADLINES))
def test_headlines_get_their_language(language: str) -> None:
    assert detect_language(HEADLINES[language]) == language


def test_a_declaration_that_agrees_is_kept_because_it_is_more_specific() -> None:
    assert detect_language("中國海警船在黃岩島附近對菲律賓船隻使用水炮", declared="zh-tw") == "zh-tw"


def test_a_wrong_declaration_loses_to_a_confident_detection() -> None:
    page = (
        '<html lang="en"><head><title>Biển Đông</title></head><body><article><h1>Biển Đông</h1>'
        + "<p>Tàu hải cảnh Trung Quốc tiếp tục xâm phạm vùng đặc quyền kinh tế của Việt Nam, "
        "Bộ Ngoại giao phản đối mạnh mẽ và yêu cầu rút ngay các tàu khỏi khu vực.</p>" * 8
        + "</article></body></html>"
    )
    assert extract_article(page.encode(), "https://example.test/a").language == "vi"


def test_a_feed_item_with_no_page_gets_a_language_from_its_headline() -> None:
    result = extract_article(b"", "https://example.test/a", fallback_title=HEADLINES["ja"])
    assert result.extracted is False and result.language == "ja"


def test_nothing_to_read_keeps_the_declaration() -> None:
    assert detect_language("", "", declared="ko") == "ko"
    assert detect_language("12:30", "") is None


@pytest.mark.parametrize(("page", "language"), [
    ("jp/AsahiShimbun_2025_01_13.html.gz", "ja"),
    ("kr/MBN_2025_06_03.html.gz", "ko"),
    ("cn/People_2024_04_24.html.gz", "zh"),
    ("vn/VnExpress_2025_10_22.html.gz", "vi"),
    ("id/MediaIndonesia_2026_01_20.html.gz", "id"),
    ("tw/TaipeiTimes_2024_10_15.html.gz", "en"),
])
def test_real_pages_get_their_language(page: str, language: str) -> None:
    import gzip

    path = SHARED / page
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared corpus sits beside the project")
    result = extract_article(gzip.decompress(path.read_bytes()), "https://example.test/page")
    assert (result.language or "").split("-")[0] == language
