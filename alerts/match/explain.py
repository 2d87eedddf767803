"""Human-readable explanations of watchlist matches (what ``newswatch match`` prints).

For each watchlist: matched or not, score against threshold, the satisfied rules, and for each rule the
terms and entities found, the field they were in, their weight and the sentence, as written in the
original text.

Settings read: none.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from alerts.match.models import Evidence, WatchlistMatch

logger = logging.getLogger(__name__)

_FIELD_ORDER = {"title": 0, "lead": 1, "body": 2}


def _evidence_line(ev: Evidence) -> str:
    what = f"@{ev.entity} {ev.term!r}" if ev.entity else repr(ev.term)
    return f"      {what} in {ev.field} (+{ev.weight:g}): “{ev.sentence}”"


def format_match(match: WatchlistMatch) -> str:
    """Explain one watchlist's verdict on one document.

    Args:
        match: the verdict returned by ``Matcher.match``.

    Returns:
        Several lines of text, no trailing newline.
    """
    mark = "MATCH" if match.matched else "no match"
    lines = [f"{match.watchlist}: {mark} — score {match.score:g} / threshold {match.threshold:g}"]
    if match.reason:
        lines.append(f"  {match.reason}")
    for rule in match.rules:
        lines.append(f"  rule {rule}:")
        items = sorted((e for e in match.evidence if e.rule == rule), key=lambda e: _FIELD_ORDER[e.field])
        lines.extend(_evidence_line(e) for e in items)
    return "\n".join(lines)


def format_matches(matches: Sequence[WatchlistMatch]) -> str:
    """Explain every watchlist's verdict on one document, matched ones first.

    Args:
        matches: the list returned by ``Matcher.match`` (one per watchlist).

    Returns:
        The text ``newswatch match`` prints, one block per watchlist separated by blank lines.
    """
    if not matches:
        return "no watchlists configured"
    ordered = sorted(matches, key=lambda m: not m.matched)
    return "\n\n".join(format_match(m) for m in ordered)
