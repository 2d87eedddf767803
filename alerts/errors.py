"""Exceptions of the alerts package.

    NewswatchError (crawler.errors)
    └── AlertsError                   alerts package
        ├── WatchlistError            a watchlist or gazetteer entry is invalid (.loc says where)
        └── DeliveryError             a channel could not deliver (.channel, .status, .retryable,
                                      .retry_after)
"""

from __future__ import annotations

from crawler.errors import NewswatchError

Loc = tuple[str | int, ...]
"""A key path in the config file, e.g. ``("watchlists", 1, "rules", 0, "near")``."""


def dotted(loc: Loc) -> str:
    """``("watchlists", 1, "rules", 0, "near")`` as people write it: ``watchlists[1].rules[0].near``."""
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")


class AlertsError(NewswatchError):
    """Something in matching or delivery failed in a way the caller should report."""


class WatchlistError(AlertsError):
    """A watchlist (or gazetteer entry) is invalid.

    The key path is kept as a tuple so that the scheduler can find the line it stands on without
    parsing a string back; ``path`` is the same path written for people.

    Attributes:
        loc: where in the config the problem is, e.g. ``("watchlists", 1, "rules", 0, "near")``.
        path: ``loc`` written as ``watchlists[1].rules[0].near`` ("" when ``loc`` is empty).
        detail: the message without the path.
    """

    def __init__(self, message: str, loc: Loc = ()) -> None:
        path = dotted(loc)
        super().__init__(f"{path}: {message}" if path else message)
        self.loc = loc
        self.path = path
        self.detail = message


class DeliveryError(AlertsError):
    """A delivery attempt failed.

    Attributes:
        channel: target name.
        status: HTTP status or SMTP reply code, None for connection errors and timeouts.
        retryable: whether trying again later can succeed (5xx, 429, timeouts: yes; 4xx: no).
        retry_after: seconds the receiver asked us to wait (429 Retry-After), if any.
    """

    def __init__(self, message: str, *, channel: str, status: int | None = None,
                 retryable: bool = True, retry_after: float | None = None) -> None:
        super().__init__(f"{channel}: {message}")
        self.channel = channel
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after
