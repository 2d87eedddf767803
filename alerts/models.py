"""Domain values of the alerts package: watchlist match results and delivery targets.

Frozen, slotted dataclasses; no behaviour beyond small derived properties. Settings read: none.
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


TargetKind = Literal["slack", "webhook", "email", "apprise"]


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int = 587
    username: str | None = None
    password: str | None = None
    starttls: bool = True
    ssl: bool = False
    timeout: float = 20.0

    def __repr__(self) -> str:  # never show the password
        return f"SmtpSettings(host={self.host!r}, port={self.port!r}, username={self.username!r})"


@dataclass(frozen=True, slots=True)
class TargetSpec:
    """A delivery target, with its secrets already resolved from the environment.

    `url` is used by slack/webhook/apprise; `smtp`, `sender` and `recipients` by email; `secret`
    signs generic webhooks (HMAC-SHA256). `repr` hides secrets so they never reach logs.
    """

    name: str
    kind: TargetKind
    url: str | None = None
    secret: str | None = None
    smtp: SmtpSettings | None = None
    sender: str | None = None
    recipients: tuple[str, ...] = ()
    timeout: float = 10.0

    def __repr__(self) -> str:
        return f"TargetSpec(name={self.name!r}, kind={self.kind!r})"
