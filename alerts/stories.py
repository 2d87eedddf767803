"""Near-duplicate grouping: articles that tell the same story (wire copy, syndication, an updated or
re-published article, a new headline on the same text) become one story.

Each article gets two MinHash signatures (datasketch): one over word bigrams of its title, lead and
body (the *text* signature) and one over the words of its title (the *title* signature). A MinHash
LSH index over recent stories proposes candidates; a candidate is accepted when the estimated Jaccard
similarity reaches `TEXT_THRESHOLD` (text) or `TITLE_THRESHOLD` (title, only for titles of at least
`TITLE_MIN_WORDS` words, so "Picture of the day" does not glue unrelated items), and the story was
active within `WINDOW` of the article. The title signature catches a title-only feed entry whose
teaser differs; the text signature catches the same text under another headline.

A title join is refused when each headline names something the other does not ("… fires water cannon
near Sabina Shoal" / "… near Thitu Island"): similar wording about two places, two countries or two
weapons is two incidents, and joining them would swallow the second one's alert. Names are the
capitalised words after the first of a sentence-case headline (`title_names`); a Title Case headline
tells nothing by its capitals, so it never refuses a join. One-sided extra names ("…: Kyodo") join.

Settings read: none; the thresholds are module constants measured with `bench/bench_stories.py`.
"""

from __future__ import annotations

import itertools
import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import sqlite_utils
from datasketch import MinHash, MinHashLSH

from crawler.store import article_titles
from crawler.timeutil import iso, parse_iso

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
    title_words: frozenset[str] = frozenset()  # casefolded words of the headline
    names: frozenset[str] = frozenset()  # those of them that name something (see ``title_names``)

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


_DOTTED = re.compile(r"\b((?:[^\W\d_]\.){2,})")  # U.S., U.K.: one word, as written without dots


def title_names(title: str) -> tuple[frozenset[str], frozenset[str]]:
    """The casefolded words of a headline, and those that name something.

    A name is a capitalised word other than the first, in a headline written in sentence case; in
    Title Case (most words of four letters or more capitalised) no word is taken for a name.
    """
    text = _DOTTED.sub(lambda m: m.group(1).replace(".", "") + " ", unicodedata.normalize("NFKC", title))
    words = _WORD.findall(text)
    folded = frozenset(w.casefold() for w in words)
    long_words = [w for w in words if len(w) >= 4 and not w.isupper()]
    capitalised = sum(w[:1].isupper() for w in long_words)
    if not long_words or capitalised > 0.6 * len(long_words):
        return folded, frozenset()
    return folded, frozenset(w.casefold() for w in words[1:] if w[:1].isupper())


def _same_word(a: str, b: str) -> bool:
    """Words close enough to name the same thing: Australia/Australian, Japan/Japanese, a cut-off end."""
    if len(a) >= 4 and len(b) >= 4:
        return a[:4] == b[:4]
    return len(a) >= 2 and len(b) >= 2 and (a.startswith(b) or b.startswith(a))


def _names_only_in(names: frozenset[str], other_words: frozenset[str]) -> bool:
    return any(not any(_same_word(name, word) for word in other_words) for name in names - other_words)


def name_one_another_apart(a: Fingerprint, b: Fingerprint) -> bool:
    """Whether each headline names something the other does not (two incidents, not one)."""
    return _names_only_in(a.names, b.title_words) and _names_only_in(b.names, a.title_words)


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
    words_of_title, names = title_names(title)
    return Fingerprint(text=_minhash(bigrams), title=title_mh, title_words=words_of_title, names=names)


def _from_bytes(data: bytes | None) -> MinHash | None:
    if not data:
        return None
    return MinHash(num_perm=NUM_PERM, hashvalues=np.frombuffer(data, dtype=_DTYPE), scheme=SCHEME)


def parse_time(value: str | None) -> datetime | None:
    """An ISO 8601 string as an aware datetime (naive means UTC); None when missing or unreadable."""
    if not value:
        return None
    try:
        return parse_iso(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None


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
        titles = article_titles(db, [row[0] for row in rows]) if rows else {}
        for article_id, story_id, text_sig, title_sig, published in rows:
            words, names = title_names(titles.get(article_id) or "")
            fp = Fingerprint(text=_from_bytes(text_sig), title=_from_bytes(title_sig), title_words=words, names=names)
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
                if via == "title" and name_one_another_apart(fp, other):
                    continue
                if best is None or similarity > best.similarity:
                    best = StoryMatch(story_id, similarity, via)
        return best
