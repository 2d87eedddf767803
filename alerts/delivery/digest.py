"""What a digest says: many stories for one target in one message.

`load_digest()` reads a digest row's entries (``outbox_items``) into a `Digest`: one `Alert` per
story — naming the watchlists it is listed for, in the order the stories were held — plus why they
were held (a daily or hourly digest, quiet hours, a rate limit) and the time zone its times are
shown in. `Digest.sections()` groups the stories by their best-scoring watchlist, which is how the
email, Slack and plain-text layouts list them; `digest_text()` is the plain-text layout (email text
part, Apprise). Article text stays raw here; channels escape it (see `alerts.delivery.messages`).

Settings read: none.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from alerts.delivery.messages import SENTENCE_MAX, SUMMARY_MAX, TITLE_MAX, Alert, safe_url, story_alert, truncate
from alerts.delivery.outbox import OutboxEntry
from alerts.delivery.shaping import zone
from alerts.links import StoryLinks
from crawler.errors import StoreError

logger = logging.getLogger(__name__)

_LABELS = {
    "digest:daily": "Daily digest",
    "digest:hourly": "Hourly digest",
    "quiet_hours": "Held during quiet hours",
    "rate_limit": "Held by the rate limit",
}
_WHY = {
    "digest:daily": "daily digest",
    "digest:hourly": "hourly digest",
    "quiet_hours": "held during quiet hours",
    "rate_limit": "over the rate limit",
}


@dataclass(frozen=True, slots=True)
class Digest:
    """Everything a channel needs to send one digest. Story text fields are raw (unescaped)."""

    key: str  # idempotency key, stable across retries
    target: str
    created_at: str
    due_at: str
    timezone: str
    stories: tuple[Alert, ...]
    reasons: tuple[str, ...]  # why its stories were held, in order of first appearance
    first_at: str  # when its first story was held
    last_at: str  # when its last story was held

    @property
    def label(self) -> str:
        """``Daily digest``, ``Hourly digest``, ``Held during quiet hours``, … or ``Digest`` when mixed."""
        return _LABELS.get(self.reasons[0], "Digest") if len(set(self.reasons)) == 1 else "Digest"

    @property
    def title(self) -> str:
        """``Daily digest: 12 stories``."""
        count = len(self.stories)
        return f"{self.label}: {count} {'story' if count == 1 else 'stories'}"

    @property
    def watchlist_names(self) -> tuple[str, ...]:
        return tuple(sorted({name for story in self.stories for name in story.watchlist_names}))

    @property
    def why(self) -> str:
        """``daily digest, held during quiet hours`` — the reasons in words."""
        return ", ".join(_WHY.get(r, r) for r in self.reasons)

    def local(self, stamp: str | None) -> str:
        """A stored UTC time shown in the digest's time zone: ``2024-06-02 08:00 Asia/Manila``."""
        if not stamp:
            return ""
        try:
            moment = datetime.fromisoformat(stamp)
        except ValueError:
            return stamp
        if moment.tzinfo is None:
            return stamp
        return f"{moment.astimezone(zone(self.timezone)).strftime('%Y-%m-%d %H:%M')} {self.timezone}"

    def sections(self) -> list[tuple[str, list[Alert]]]:
        """Stories grouped by their best-scoring watchlist (ties: by name), in watchlist name order."""
        groups: dict[str, list[Alert]] = {}
        for story in self.stories:
            ranked = sorted(story.watchlists, key=lambda hit: (-hit.score, hit.name))
            best = ranked[0].name if ranked else ""
            groups.setdefault(best, []).append(story)
        return sorted(groups.items())


def load_digest(db: sqlite_utils.Database, entry: OutboxEntry, links: StoryLinks | None = None) -> Digest:
    """The digest a row of kind ``digest`` stands for.

    Stories that no longer exist (pruned) are left out with a warning. With `links` (the workbench's
    public address), each story carries its page and judge links, as an alert does.

    Raises:
        StoreError: none of its stories exists any more.
    """
    rows = db.execute(
        "SELECT story_id, watchlist, reason, added_at FROM outbox_items WHERE outbox_id = ? ORDER BY rowid",
        [entry.id],
    ).fetchall()
    names: dict[int, list[str]] = {}
    reasons: list[str] = []
    for story_id, watchlist, reason, _added in rows:
        names.setdefault(story_id, []).append(watchlist)
        if reason not in reasons:
            reasons.append(reason)
    stories = []
    for story_id, watchlists in names.items():
        try:
            stories.append(story_alert(db, story_id, tuple(sorted(set(watchlists))),
                                       key=f"{entry.idempotency_key}:{story_id}", target=entry.target,
                                       created_at=entry.created_at, links=links))
        except StoreError as exc:
            logger.warning("digest: outbox row %d leaves out story %d: %s", entry.id, story_id, exc)
    if not stories:
        raise StoreError(f"outbox row {entry.id}: none of the digest's {len(names)} stories exists any more")
    added = [r[3] for r in rows]
    return Digest(key=entry.idempotency_key, target=entry.target, created_at=entry.created_at,
                  due_at=entry.due_at or entry.created_at, timezone=entry.tz or "UTC", stories=tuple(stories),
                  reasons=tuple(reasons), first_at=min(added), last_at=max(added))


def story_meta(story: Alert) -> str:
    """``scmp · 2024-06-01T07:00:00+00:00 · also reported by cna, kyodo`` (raw text)."""
    others = [o for o in story.outlets if o != story.outlet]
    also = f"also reported by {', '.join(others[:8])}" + (f" and {len(others) - 8} more" if len(others) > 8 else "")
    return " · ".join(filter(None, [story.outlet, story.published or "", also if others else ""]))


def best_evidence(story: Alert) -> str:
    """One line of evidence for a story: ``term: sentence`` of its best watchlist, or ""."""
    for hit in sorted(story.watchlists, key=lambda h: -h.score):
        for ev in hit.evidence[:1]:
            return f"{truncate(ev.term, 80)}: {truncate(ev.sentence, SENTENCE_MAX)}"
    return ""


def digest_text(digest: Digest) -> str:
    """The digest as plain text: a heading, then per watchlist a numbered list of stories."""
    lines = [f"{digest.title} for {digest.target}",
             f"Due {digest.local(digest.due_at)}; held {digest.local(digest.first_at)} to "
             f"{digest.local(digest.last_at)} ({digest.why})."]
    number = 0
    for watchlist, stories in digest.sections():
        lines += ["", f"== {watchlist} ({len(stories)}) =="]
        for story in stories:
            number += 1
            lines.append(f"{number}. {truncate(story.title, TITLE_MAX)}")
            lines.append(f"   {safe_url(story.url)}")
            lines.append(f"   {story_meta(story)}")
            others = [n for n in story.watchlist_names if n != watchlist]
            if others:
                lines.append(f"   also on: {', '.join(others)}")
            evidence = best_evidence(story)
            if evidence:
                lines.append(f"   {evidence}")
            if story.summary:
                lines.append(f"   {truncate(story.summary, SUMMARY_MAX // 2)}")
            judge = story_links(story, watchlist)
            if judge is not None:
                lines.append(f"   Open in newswatch: {judge[0]}" + (f" · not relevant: {judge[1]}" if judge[1] else ""))
    return "\n".join(lines)


def story_links(story: Alert, watchlist: str) -> tuple[str, str] | None:
    """(story page, "not relevant for `watchlist`" link or "") of a digest story, None without links."""
    if story.links is None:
        return None
    return story.links.story, dict(story.links.not_relevant).get(watchlist, "")
