"""One word for what is happening to a source, from its stored health: ok, failing, gone quiet…

``newswatch status``, the metrics and the workbench's sources page all need the same answer to "is
this source all right?", and the answer is more than "did the last fetch work". The failure users
complain about most is a feed that keeps answering 200 (or 304) but has silently stopped publishing;
so a source is also judged against its own usual rhythm.

States, most urgent first (a source is in the first that applies):

``disabled``
    Failing for longer than ``operations.disable_after``: no longer crawled until re-enabled
    (``newswatch sources enable NAME``).
``blocked``
    The outlet refuses us (403/401, 429 past its ``Retry-After`` budget, a bot wall).
``failing``
    The last attempt failed for another reason (DNS, timeout, 5xx, broken feed…).
``quiet``
    Fetches work, but no new article for :data:`QUIET_GAPS` times its usual gap between new
    articles (and at least :data:`QUIET_FLOOR_SECONDS`).
``empty``
    The last fetch worked but the index listed no entries at all (a feed with no items, a sitemap
    with no URLs, a section page with no article links). The count is that of the last time the
    index was read and parsed: a 304 or an unchanged body after it keeps the source ``empty``.
``not modified``
    The last fetch was answered 304 (or an unchanged body): nothing new, which is normal.
``ok``
    The last fetch worked and listed entries.
``new``
    Never crawled yet.

A 304 never makes a failing source healthy: the failure is cleared only by a fetch that returned the
index and parsed it (``crawler.store.record_source_result`` keeps the failure on a 304).

Settings read: none (callers pass ``disable_after``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

QUIET_GAPS = 5.0  # this many usual gaps with nothing new, and a source has gone quiet
QUIET_FLOOR_SECONDS = 6 * 3600.0  # never call a source quiet sooner than this
STATES = ("disabled", "blocked", "failing", "quiet", "empty", "not modified", "ok", "new")
BLOCKED_CLASSES = frozenset({"blocked"})


@dataclass(frozen=True, slots=True)
class SourceFacts:
    """What the store knows about a source, as the classifier needs it (times are aware datetimes)."""

    last_attempt: datetime | None
    last_success: datetime | None
    last_status: int | None
    consecutive_failures: int
    failing_since: datetime | None
    error_class: str | None
    last_entries: int | None  # entries the last successful index listed (None: unknown)
    last_new_article: datetime | None
    usual_gap_seconds: float | None  # mean time between new articles (None: no history yet)
    disabled_since: datetime | None = None


def quiet_after(facts: SourceFacts) -> float | None:
    """Seconds without a new article after which the source counts as quiet (None: no rhythm known)."""
    if facts.usual_gap_seconds is None or facts.usual_gap_seconds <= 0:
        return None
    return max(QUIET_GAPS * facts.usual_gap_seconds, QUIET_FLOOR_SECONDS)


def source_state(facts: SourceFacts, now: datetime) -> str:
    """The state of one source now (one of :data:`STATES`)."""
    if facts.disabled_since is not None:
        return "disabled"
    if facts.last_attempt is None:
        return "new"
    if facts.consecutive_failures > 0:
        return "blocked" if facts.error_class in BLOCKED_CLASSES else "failing"
    limit = quiet_after(facts)
    since = facts.last_new_article or facts.last_success
    if limit is not None and since is not None and (now - since).total_seconds() > limit:
        return "quiet"
    if facts.last_entries == 0:
        return "empty"
    if facts.last_status == 304:
        return "not modified"
    return "ok"


_INDEX_NAMES = {"feed": "feed", "sitemap": "sitemap", "listing": "section page"}


def state_detail(state: str, kind: str) -> str | None:
    """A few words to show after `state` where the word alone would leave users guessing, else None.

    ``empty`` sits beside a fetch that worked, so it needs to say what was empty: the source's own
    index, which is where to look (a moved feed, a changed page layout, a `link_pattern` that no
    longer matches). One wording for `newswatch status` and the workbench's sources page.
    """
    if state == "empty":
        return f"its {index_name(kind)} listed no entries when last read"
    return None


def index_name(kind: str) -> str:
    """What users call the index of a source of this kind: feed, sitemap, section page."""
    return _INDEX_NAMES.get(kind, "index")


def should_disable(facts: SourceFacts, now: datetime, disable_after_seconds: float | None) -> bool:
    """Whether a failing source has failed long enough to be switched off (never when the setting is off)."""
    if not disable_after_seconds or facts.disabled_since is not None or facts.consecutive_failures == 0:
        return False
    started = facts.failing_since or facts.last_attempt
    return started is not None and (now - started).total_seconds() >= disable_after_seconds
