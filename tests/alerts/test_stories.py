"""Story grouping on real feed items: copies, updates and new headlines join; same-topic stories don't."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlite_utils

from alerts.match.models import Document, WatchlistMatch
from alerts.pipeline import process_new_articles
from alerts.store import open_store
from alerts.stories import StoryIndex, fingerprint, parse_time
from crawler.store import insert_article
from tests.conftest import CORPUS, SEED, need

NOW = datetime(2024, 1, 2, tzinfo=UTC)
ASIA = CORPUS / "news" / "rss_link_database_2023_asia.jsonl"


def everything(doc: Document) -> list[WatchlistMatch]:
    return [WatchlistMatch("all", True, 1.0, 1.0, ("any",), ())]


@pytest.fixture(scope="module")
def corpus() -> dict[str, dict]:
    with need(ASIA).open(encoding="utf-8") as lines:
        return {row["id"]: row for row in map(json.loads, lines)}


@pytest.fixture
def db(db_path: Path) -> sqlite_utils.Database:
    return open_store(db_path)


def store(db: sqlite_utils.Database, items: list[dict]) -> list[int]:
    ids = []
    for item in items:
        article_id = insert_article(db, {"url": item["url"], "source": item.get("source", "feed"),
                                         "title": item["title"], "text": item["text"],
                                         "published": item.get("date")})
        assert article_id
        ids.append(article_id)
    return ids


def story_of(db: sqlite_utils.Database) -> dict[int, int]:
    return dict(db.execute("SELECT article_id, story_id FROM story_articles").fetchall())


@pytest.mark.parametrize(("first", "second", "kind"), [
    ("rss2023-3e94f5529b3db2d8", "rss2023-fc307f3a8c173f5e", "updated article: new URL, edited headline"),
    ("rss2023-26a3da79363000a5", "rss2023-2e36623e009088ff", "same teaser under a different headline"),
    ("rss2023-0079bc35f24ea493", "rss2023-7e9e1d81308ca8c1", "title-only entry and a copy with a teaser"),
    ("rss2023-11772c0db4d147f8", "rss2023-374a8a65352012a2", "the same wire copy in two sections"),
])
def test_real_near_duplicates_join_one_story(db, corpus, first, second, kind):
    a, b = store(db, [corpus[first], corpus[second]])
    report = process_new_articles(db, everything, {}, now=NOW)
    assert (report.stories_new, report.stories_joined) == (1, 1), kind
    assert story_of(db)[a] == story_of(db)[b]


def test_syndicated_copies_of_the_seed_story_across_outlets(db):
    body = need(SEED).read_text(encoding="utf-8")
    lines = [line for line in body.splitlines() if len(line) > 80]
    copies = [  # the full article (as extracted), a shortened wire copy, a trimmed copy with a trailer
        {"url": "https://scmp.example/a", "title": "Amid China worries, Japan-Vietnam sign defence export "
         "deal", "text": "\n".join(lines), "source": "scmp"},
        {"url": "https://jt.example/b", "title": "Japan, Vietnam sign defense equipment transfer accord",
         "text": "HANOI (Kyodo) - " + "\n".join(lines[:6]), "source": "japantoday"},
        {"url": "https://cna.example/c", "title": "Japan to export defence equipment to Vietnam",
         "text": "\n".join(lines[:5]) + "\nReporting by staff; editing by desk.", "source": "cna"},
    ]
    ids = store(db, copies)
    report = process_new_articles(db, everything, {}, now=NOW)
    assert (report.stories_new, report.stories_joined) == (1, 2)
    assert len({story_of(db)[i] for i in ids}) == 1


def test_different_stories_on_the_same_topic_stay_apart(db, corpus):
    shoal = [row for row in corpus.values()
             if "second thomas" in (row["title"] + row["text"]).lower()
             or "scarborough shoal" in (row["title"] + row["text"]).lower()]
    assert len(shoal) >= 6
    ids = store(db, sorted(shoal, key=lambda r: r["date"]))
    process_new_articles(db, everything, {}, now=NOW)
    titles = {row[0]: row[1] for row in db.execute("SELECT id, title FROM articles")}
    groups: dict[int, list[str]] = {}
    for article_id, story_id in story_of(db).items():
        groups.setdefault(story_id, []).append(titles[article_id])
    merged = [g for g in groups.values() if len(g) > 1]
    # Every shoal incident of late 2023 is its own story; only true copies may share one.
    for group in merged:
        words = [set(t.lower().split()) for t in group]
        assert len(words[0] & words[1]) / len(words[0] | words[1]) > 0.5, group
    assert len(groups) >= len(ids) - 2


def test_the_window_keeps_a_later_story_apart():
    text = "Chinese coast guard vessels fired water cannon at Philippine boats near the shoal on Saturday."
    index = StoryIndex()
    index.add(1, 10, fingerprint("Water cannon fired at Philippine boats", text),
              parse_time("2023-11-10T08:00:00+00:00"))
    same = fingerprint("Water cannon fired at Philippine boats again", text)
    assert index.find(same, parse_time("2023-11-11T08:00:00+00:00")) is not None
    assert index.find(same, parse_time("2023-12-10T08:00:00+00:00")) is None


def test_stories_survive_a_restart(db, corpus):
    first, second = corpus["rss2023-3e94f5529b3db2d8"], corpus["rss2023-fc307f3a8c173f5e"]
    store(db, [first])
    process_new_articles(db, everything, {}, now=NOW)
    store(db, [second])  # next run: the index is rebuilt from the signatures in the database
    report = process_new_articles(db, everything, {}, now=NOW)
    assert report.stories_joined == 1


MANILA = ("The Philippine coast guard said its crew were unhurt and the vessel was towed back to port "
          "after the encounter, the third this month, which Manila protested through diplomatic channels.")
BEIJING = ("Beijing's foreign ministry said the Chinese side acted lawfully and professionally to expel "
           "vessels that intruded into waters it claims, and urged restraint from all parties concerned.")


@pytest.mark.parametrize(("first", "second"), [
    ("Chinese coast guard fires water cannon at Philippine vessels near Sabina Shoal",
     "Chinese coast guard fires water cannon at Philippine vessels near Thitu Island"),
    ("US approves sale of F-16 fighter jets and missiles to Taiwan",
     "US approves sale of F-16 fighter jets and missiles to Turkey"),
])
def test_headlines_naming_different_places_or_buyers_stay_two_stories(first, second):
    a, b = fingerprint(first, MANILA), fingerprint(second, BEIJING)
    assert a.title is not None and b.title is not None
    assert a.title.jaccard(b.title) >= 0.7  # the wording alone would join them
    index = StoryIndex()
    index.add(1, 10, a, NOW)
    assert index.find(b, NOW) is None


@pytest.mark.parametrize(("first", "second"), [
    # One headline names more (the agency): the same story.
    ("Japan and Vietnam sign deal on transfer of defence equipment and technology",
     "Japan and Vietnam sign deal on transfer of defence equipment and technology: Kyodo"),
    # Title Case: capitals name nothing, so reworded headlines still join.
    ("China Coast Guard Fires Water Cannon At Philippine Supply Boat Near Ayungin Shoal",
     "China Coast Guard Fires Water Cannon On Philippine Supply Boat Near Ayungin Shoal"),
])
def test_reworded_headlines_of_one_story_still_join(first, second):
    index = StoryIndex()
    index.add(1, 10, fingerprint(first, MANILA), NOW)
    found = index.find(fingerprint(second, BEIJING), NOW)
    assert found is not None and found.story_id == 10 and found.via == "title"


def test_headlines_naming_different_places_stay_apart_after_a_restart(db):
    base = {"text": "", "date": "2024-01-01T08:00:00+00:00"}
    store(db, [{**base, "url": "https://a.example/1", "text": MANILA,
                "title": "Chinese coast guard fires water cannon at Philippine vessels near Sabina Shoal"}])
    process_new_articles(db, everything, {}, now=NOW)
    store(db, [{**base, "url": "https://b.example/2", "text": BEIJING,
                "title": "Chinese coast guard fires water cannon at Philippine vessels near Thitu Island"}])
    report = process_new_articles(db, everything, {}, now=NOW)  # the index is rebuilt from the database
    assert report.stories_new == 1 and report.stories_joined == 0
    assert len(set(story_of(db).values())) == 2
