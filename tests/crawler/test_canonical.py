"""URL variants that caused duplicate alerts collapse to one canonical URL."""

from __future__ import annotations

import pytest

from crawler.canonical import canonicalize_url

BASE = "https://www.example.com/news/2026/03/02/coast-guard-shoal"


@pytest.mark.parametrize(
    "variant",
    [
        BASE,
        BASE + "/",
        BASE + "?utm_source=rss&utm_medium=feed&utm_campaign=x",
        BASE + "#comments",
        BASE + "?fbclid=IwAR0abc&gclid=xyz",
        "HTTPS://WWW.EXAMPLE.COM:443/news/2026/03/02/coast-guard-shoal",
        BASE + "/amp",
        BASE + "/amp/",
        BASE + "?amp=1",
        BASE + "?outputType=amp",
        "https://amp.example.com/news/2026/03/02/coast-guard-shoal",
        "https://m.example.com/news/2026/03/02/coast-guard-shoal",
        "https://www.example.com/amp/news/2026/03/02/coast-guard-shoal",
        BASE + "/index.html",
        "https://www.example.com//news/2026/03/02/coast-guard-shoal",
    ],
)
def test_variants_collapse_to_one_url(variant: str) -> None:
    assert canonicalize_url(variant) == BASE


def test_content_parameters_are_kept_and_sorted() -> None:
    url = "https://example.com/article.php?page=2&id=991&utm_term=x"
    assert canonicalize_url(url) == "https://example.com/article.php?id=991&page=2"


def test_output_json_is_not_mistaken_for_amp() -> None:
    assert canonicalize_url("https://example.com/a?output=json") == "https://example.com/a?output=json"


def test_amp_html_suffix_and_non_default_port() -> None:
    assert canonicalize_url("http://Example.com:8080/story.amp.html") == "http://example.com:8080/story.html"


def test_scheme_is_not_forced_without_a_redirect() -> None:
    # http -> https is only applied when the site redirects (the crawler stores the final URL)
    assert canonicalize_url("http://example.com/a/") == "http://example.com/a"


def test_non_http_urls_are_left_alone() -> None:
    assert canonicalize_url(" mailto:desk@example.com ") == "mailto:desk@example.com"
