"""Domain values of delivery: targets, routes and shaping (digests, quiet hours, rate limits), receipts.

Frozen, slotted dataclasses; no behaviour beyond small derived properties. Shaping values
(`RouteSpec`, `DigestSchedule`, `QuietHours`, `RateLimit`) are described for users in docs/alerts.md.
Settings read: none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from typing import Literal

from alerts.links import StoryLinks

TargetKind = Literal["slack", "webhook", "email", "apprise"]
SLACK_API_URL = "https://slack.com/api"


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """An SMTP server: plain, STARTTLS (`starttls`) or implicit TLS (`ssl`), with optional AUTH.

    The server's certificate is always verified: against the system's CA store, or against `ca_file`
    (a PEM file of CA certificates, or the server's own self-signed certificate) when set.
    """

    host: str
    port: int = 587
    username: str | None = None
    password: str | None = None
    starttls: bool = True
    ssl: bool = False
    timeout: float = 20.0
    ca_file: str | None = None

    def __repr__(self) -> str:  # never show the password
        return f"SmtpSettings(host={self.host!r}, port={self.port!r}, username={self.username!r})"


@dataclass(frozen=True, slots=True)
class Receipt:
    """Where a sent message landed, when the channel says: Slack's message `ts` and channel id.

    Kept on the delivered outbox row so that story updates can reply in the message's thread.
    """

    ts: str
    channel: str


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily window in which a target only gets alerts scoring at least `min_score` at once.

    Everything else is held and sent as one digest when the window ends. `start` > `end` wraps
    midnight (22:00–07:00). `min_score` None means nothing breaks through.
    """

    start: time
    end: time
    timezone: str = "UTC"  # IANA name, e.g. Asia/Tokyo
    min_score: float | None = None


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most `max` immediate alert messages to a target in any `per_seconds` window; the rest are
    folded into one digest sent when the window allows."""

    max: int
    per_seconds: int


@dataclass(frozen=True, slots=True)
class DigestSchedule:
    """When a digest goes out: every hour on the hour, or daily at `at`, local time in `timezone`."""

    every: Literal["hourly", "daily"]
    at: time | None = None  # daily only
    timezone: str = "UTC"  # IANA name, e.g. Asia/Manila


@dataclass(frozen=True, slots=True)
class RouteSpec:
    """How one watchlist alerts one target: at once (`digest` None) or in a digest, and after how
    many different outlets reported the story."""

    target: str
    digest: DigestSchedule | None = None
    min_outlets: int = 1


@dataclass(frozen=True, slots=True)
class TargetSpec:
    """A delivery target, with its secrets already resolved from the environment.

    `url` is used by slack (incoming webhook)/webhook/apprise; `smtp`, `sender` and `recipients` by
    email; `secret` signs generic webhooks (HMAC-SHA256). A slack target with `token` (a bot token) and
    `channel` posts through Slack's Web API at `api_url` instead of a webhook, which lets story updates
    be sent as thread replies. `links`, set when the workbench has a public address, puts the story's
    page (and, in Slack and email, one-click judge links) in alerts. `repr` hides secrets so they never
    reach logs.
    """

    name: str
    kind: TargetKind
    url: str | None = None
    secret: str | None = None
    smtp: SmtpSettings | None = None
    sender: str | None = None
    recipients: tuple[str, ...] = ()
    timeout: float = 10.0
    quiet_hours: QuietHours | None = None
    rate_limit: RateLimit | None = None
    token: str | None = None  # slack: bot token (xoxb-…), a secret
    channel: str | None = None  # slack with token: channel id, e.g. C0123ABCD
    api_url: str = SLACK_API_URL  # slack with token: Web API base URL
    links: StoryLinks | None = None  # the workbench's public address: story and judge links (alerts.links)

    @property
    def threads(self) -> bool:
        """Whether this target can reply in a thread under an alert (Slack in bot-token mode)."""
        return self.kind == "slack" and bool(self.token)

    def __repr__(self) -> str:
        return f"TargetSpec(name={self.name!r}, kind={self.kind!r})"
