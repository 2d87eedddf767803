"""The default watchlists on crawled articles (title, lead and body), not only on headlines.

A long article whose title and lead are about something else and whose body names the South China Sea,
or a weapons purchase, once in passing must not alert; a headline-only feed item about the topic must;
an article whose body keeps coming back to the topic must; and the seed story (a defence export deal
framed by the sea disputes) alerts on both watchlists, matched as the crawler matches it: the extracted
page text as body. The texts here are written for these tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from alerts.match.gazetteer import load_gazetteer
from alerts.match.matcher import Matcher, compile_matcher
from alerts.match.models import Document
from alerts.match.watchlist import parse_watchlists
from crawler.extract import extract_article
from tests.conftest import SEED, need
from tests.e2e_site import SEED_TITLE, article_page, seed_paragraphs

ROOT = Path(__file__).resolve().parents[2]

COFFEE = [
    "Vietnam's coffee exporters shipped a record 1.9 million tonnes in the first nine months of the year, "
    "the agriculture ministry said on Monday, as drought in Brazil pushed global prices to new highs.",
    "Farmers in the Central Highlands said the windfall had paid for new irrigation pumps and drying yards, "
    "and several cooperatives plan to buy roasting equipment to sell more of their beans as finished coffee.",
    "Robusta prices in London have doubled in a year, and traders expect them to stay high while stocks in "
    "European warehouses remain thin.",
    "Most of the beans leave from ports on the coast of the South China Sea, where tensions between Beijing "
    "and Hanoi have flared in recent years, before they are shipped on to Europe, Japan and the United States.",
    "The ministry expects exports to reach 2.5 million tonnes by December if the harvest in Dak Lak province "
    "is not delayed by the rains.",
    "Roasters in Ho Chi Minh City said domestic demand was also growing, with young customers paying more for "
    "speciality blends served in the city's cafés.",
    "Exporters warned that a shortage of shipping containers could hold up deliveries in the final quarter.",
    "The government has asked banks to extend cheap credit to growers who replant ageing trees.",
]

SUMMIT = [
    "Philippine President Ferdinand Marcos Jr flew to Tokyo on Friday for two days of talks with Prime "
    "Minister Shigeru Ishiba on trade, investment and energy.",
    "The visit comes a week after Chinese coast guard ships fired water cannon at a Philippine supply boat "
    "near Second Thomas Shoal, the third such incident this year.",
    "Manila summoned China's ambassador and said the blockade of the resupply mission violated its "
    "sovereign rights in its exclusive economic zone.",
    "Beijing claims almost all of the South China Sea and accused the Philippine vessels of intruding into "
    "Chinese waters.",
    "Officials said Marcos would also sign agreements on railways and on Japanese investment in Philippine "
    "power plants.",
]


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    raw = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    return compile_matcher(parse_watchlists(raw["watchlists"]), load_gazetteer(raw.get("gazetteer") or []))


def _verdicts(matcher: Matcher, doc: Document) -> dict[str, bool]:
    return {r.watchlist: r.matched for r in matcher.match(doc)}


def test_a_long_article_naming_the_sea_once_in_passing_does_not_alert(matcher: Matcher) -> None:
    doc = Document(title="Vietnam's coffee exports hit a record as prices soar",
                   lead="Exporters shipped more beans than ever as drought in Brazil lifted prices.",
                   body="\n\n".join(COFFEE))
    assert _verdicts(matcher, doc)["maritime-disputes"] is False


def test_a_long_article_naming_a_weapons_purchase_once_in_passing_does_not_alert(matcher: Matcher) -> None:
    passing = ("Vietnam, which buys most of its weapons from Russia, has kept close trade ties with Moscow, "
               "and Russian importers took a larger share of the harvest this year.")
    body = [*COFFEE[:3], passing, *COFFEE[4:]]
    doc = Document(title="Vietnam's coffee exports hit a record as prices soar",
                   lead="Exporters shipped more beans than ever as drought in Brazil lifted prices.",
                   body="\n\n".join(body))
    assert _verdicts(matcher, doc)["arms-deals"] is False


@pytest.mark.parametrize(("title", "watchlist"), [
    ("Chinese coast guard fires water cannon at Philippine boat near Second Thomas Shoal", "maritime-disputes"),
    ("Japan to sell Patriot missiles to the United States", "arms-deals"),
])
def test_a_headline_only_feed_item_on_the_topic_alerts(matcher: Matcher, title: str, watchlist: str) -> None:
    assert _verdicts(matcher, Document(title=title))[watchlist] is True


def test_an_article_whose_body_keeps_coming_back_to_the_dispute_alerts(matcher: Matcher) -> None:
    doc = Document(title="Marcos heads to Tokyo for talks on trade and energy",
                   lead="The Philippine leader will meet Japan's prime minister on Friday.",
                   body="\n\n".join(SUMMIT))
    assert _verdicts(matcher, doc)["maritime-disputes"] is True


def test_the_seed_story_as_the_crawler_extracts_it_alerts_on_both_watchlists(matcher: Matcher) -> None:
    need(SEED)
    page = article_page(SEED_TITLE, seed_paragraphs()).encode()
    article = extract_article(page, "https://news.example/japan-vietnam-defence-deal")
    assert article.extracted and "Spratly" in article.text
    doc = Document(title=article.title, body=article.text)  # no feed summary: the body must carry it
    assert _verdicts(matcher, doc) == {"maritime-disputes": True, "arms-deals": True}
