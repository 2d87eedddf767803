"""What matching produces and reads: a document, the evidence of each hit and a watchlist's verdict.

Frozen, slotted dataclasses with no behaviour; the one value shared with the delivery half is
`Evidence` (messages quote it). Settings read: none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Field = Literal["title", "lead", "body"]


@dataclass(frozen=True, slots=True)
class Evidence:
    """One term or entity hit that counted towards a match, with the sentence it stood in."""

    rule: str  # name of the rule (group) that used this hit
    term: str  # the term or alias as written in the watchlist/gazetteer
    entity: str | None  # gazetteer entity id when the hit came through an entity
    field: Field
    sentence: str  # the sentence (trimmed to ~300 chars) the hit was found in
    weight: float


@dataclass(frozen=True, slots=True)
class WatchlistMatch:
    """The verdict of one watchlist on one document, explained."""

    watchlist: str
    matched: bool
    score: float
    threshold: float
    rules: tuple[str, ...]  # rules that were satisfied
    evidence: tuple[Evidence, ...]
    reason: str = ""  # human-readable one-liner, e.g. why it did not match


@dataclass(frozen=True, slots=True)
class Document:
    """What the matcher reads: a title, an optional lead (teaser/summary) and a body."""

    title: str
    body: str = ""
    lead: str = ""
