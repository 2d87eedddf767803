"""Near-duplicate grouping: articles that tell the same story (wire copy, syndication, an updated or
re-published article, a new headline on the same text) become one story.

Each article gets two MinHash signatures (datasketch): one over word bigrams of its title, lead and
body (the *text* signature) and one over the words of its title (the *title* signature). A MinHash
LSH index over recent stories proposes candidates; a candidate is accepted when the estimated Jaccard
similarity reaches `TEXT_THRESHOLD` (text) or `TITLE_THRESHOLD` (title, only for titles of at least
`TITLE_MIN_WORDS` words, so "Picture of the day" does not glue unrelated items), and the story was
active within `WINDOW` of the article. The title signature catches a title-only feed entry whose
teaser differs; the text signature catches the same text under another headline.

Settings read: none; the thresholds are module constants measured with `bench/bench_stories.py`.
"""

from __future__ import annotations

import itertools
import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import sqlite_utils
from datasketch import MinHash, MinHashLSH

from alerts.store import iso

logger = logging.getLogger(__name__)

NUM_PERM = 128
SCHEME = "affine32"  # pinned: stored signatures must be read back with the scheme that made them
_DTYPE = np.uint32
TEXT_THRESHOLD = 0.4
TITLE_THRESHOLD = 0.7
TITLE_MIN_WORDS = 5
BODY_WORDS = 150  # the lead: shortened copies keep the top of the article, updates change the tail
WINDOW = timedelta(days=3)

_WORD = re.compile(r"\w+", re.UNICODE)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """The two signatures of one article (either may be None when there is no text to hash)."""

    text: MinHash | None
    title: MinHash | None

    def text_bytes(self) -> bytes | None:
        return None if self.text is None else self.text.hashvalues.astype(_DTYPE).tobytes()

    def title_bytes(self) -> bytes | None:
        return None if self.title is None else self.title.hashvalues.astype(_DTYPE).tobytes()


@dataclass(frozen=True, slots=True)
class StoryMatch:
    """The story an article joins: its id, the estimated similarity and which signature found it."""

    story_id: int
    similarity: float
    via: str  # "text" or "title"


def _tokens(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).casefold()
    out: list[str] = []
    for word in _WORD.findall(text):
        if _CJK.search(word):  # no spaces in CJK scripts: characters stand in for words
            out.extend(word)
        else:
            out.append(word)
    return out


def _minhash(shingles: Iterable[str]) -> MinHash | None:
    items = [s.encode("utf-8") for s in set(shingles)]
    if not items:
        return None
    mh = MinHash(num_perm=NUM_PERM, scheme=SCHEME)
    mh.update_batch(items)
    return mh


def fingerprint(title: str, lead: str = "", body: str = "") -> Fingerprint:
    """The text and title signatures of one article.

    Args:
        title: the headline.
        lead: teaser or feed summary.
        body: the extracted text.

    Returns:
        A Fingerprint; `title` is None for titles shorter than `TITLE_MIN_WORDS` words.
    """
    words = _tokens(title) + _tokens(lead) + _tokens(body)[:BODY_WORDS]
    bigrams = [f"{a} {b}" for a, b in itertools.pairwise(words)] or words
    title_words = _tokens(title)
    title_mh = _minhash(title_words) if len(title_words) >= TITLE_MIN_WORDS else None
    return Fingerprint(text=_minhash(bigrams), title=title_mh)


def _from_bytes(data: bytes | None) -> MinHash | None:
    if not data:
        return None
    return MinHash(num_perm=NUM_PERM, hashvalues=np.frombuffer(data, dtype=_DTYPE), scheme=SCHEME)


def parse_time(value: str | None) -> datetime | None:
    """An ISO 8601 string as an aware datetime (naive means UTC); None when missing or unreadable."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class StoryIndex:
    """An in-memory LSH index of the signatures of recently active stories.

    Build it with `StoryIndex.load(db, now)` (stories that received an article within `WINDOW`),
    ask it with `find()`, and `add()` each article once its transaction has committed.
    """

    def __init__(self) -> None:
        self._text = MinHashLSH(threshold=TEXT_THRESHOLD * 0.8, num_perm=NUM_PERM)
        self._title = MinHashLSH(threshold=TITLE_THRESHOLD * 0.8, num_perm=NUM_PERM)
        self._signatures: dict[int, Fingerprint] = {}
        self._story_of: dict[int, int] = {}
        self._published: dict[int, datetime] = {}

    @classmethod
    def load(cls, db: sqlite_utils.Database, now: datetime) -> StoryIndex:
        """Index the articles of every story that received an article within `WINDOW` before `now`."""
        index = cls()
        rows = db.execute(
            "SELECT sa.article_id, sa.story_id, sa.signature, sa.title_signature, s.last_published "
            "FROM story_articles sa JOIN stories s ON s.id = sa.story_id "
            "WHERE s.last_seen >= ? ORDER BY sa.article_id",
            [iso(now - WINDOW)],
        ).fetchall()
        for article_id, story_id, text_sig, title_sig, published in rows:
            fp = Fingerprint(text=_from_bytes(text_sig), title=_from_bytes(title_sig))
            index.add(article_id, story_id, fp, parse_time(published))
        logger.debug("story index: %d articles of recent stories loaded", len(rows))
        return index

    def __len__(self) -> int:
        return len(self._signatures)

    def add(self, article_id: int, story_id: int, fp: Fingerprint, published: datetime | None) -> None:
        """Index one article as a member of `story_id`, published at `published` (if known)."""
        if article_id in self._signatures:
            return
        self._signatures[article_id] = fp
        self._story_of[article_id] = story_id
        if published is not None:
            known = self._published.get(story_id)
            self._published[story_id] = published if known is None else max(known, published)
        if fp.text is not None:
            self._text.insert(article_id, fp.text)
        if fp.title is not None:
            self._title.insert(article_id, fp.title)

    def _in_window(self, story_id: int, published: datetime | None) -> bool:
        latest = self._published.get(story_id)
        if published is None or latest is None:
            return True
        return abs(published - latest) <= WINDOW

    def find(self, fp: Fingerprint, published: datetime | None) -> StoryMatch | None:
        """The story this fingerprint belongs to, or None for a new story.

        Args:
            fp: the article's fingerprint.
            published: when the article was published, if known; a story whose newest article is
                more than `WINDOW` apart from it is a different story on the same topic.
        """
        best: StoryMatch | None = None
        for via, sig, lsh, threshold in (
            ("text", fp.text, self._text, TEXT_THRESHOLD),
            ("title", fp.title, self._title, TITLE_THRESHOLD),
        ):
            if sig is None:
                continue
            for article_id in lsh.query(sig):
                other = self._signatures[article_id]
                other_sig = other.text if via == "text" else other.title
                if other_sig is None:
                    continue
                similarity = float(sig.jaccard(other_sig))
                story_id = self._story_of[article_id]
                if similarity < threshold or not self._in_window(story_id, published):
                    continue
                if best is None or similarity > best.similarity:
                    best = StoryMatch(story_id, similarity, via)
        return best
