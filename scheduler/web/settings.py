"""The ``web:`` section of config.yaml, and the plain settings the workbench runs on.

`WebModel` is the pydantic model ``scheduler.config`` validates the section with (``extra="forbid"``,
every field with a default and help text, so the README's settings reference lists them);
`to_settings()` turns it into a frozen `WebSettings`.

Access rules (enforced by ``scheduler.web.security`` and checked at start by `check_exposure()`):
bound to a loopback address with no password, the workbench is open to local users; bound to any
other address it needs `password` or `trusted_user_header` (honoured only from `trusted_proxies`).
Atom feeds always need their per-feed token.

Settings read: ``web.host``, ``web.port``, ``web.public_url``, ``web.password``, ``web.secret_key``,
``web.judge_link_days``, ``web.trusted_user_header``, ``web.trusted_proxies``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from alerts.links import TOKEN_DAYS

DEFAULT_PORT = 8765
JUDGE_LINK_DAYS = TOKEN_DAYS  # alerts.links' default: a month of inbox is a month of one-click judging


class WebModel(BaseModel):
    """The ``web:`` section as written in config.yaml."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field(default="127.0.0.1", description="address the workbench listens on; anything but "
                      "loopback needs password or trusted_user_header")
    port: int = Field(default=0, ge=0, le=65535, description="port; 0 means `newswatch run` does not serve the "
                      "workbench (`newswatch web` then uses 8765)")
    public_url: str | None = Field(default=None, description="the workbench's address as readers see it (links "
                                   "in Atom feeds and OPML), e.g. https://news.example.org/nw")
    password: str | None = Field(default=None, description="password of the workbench (HTTP Basic; any user "
                                 "name, recorded with judgements); use ${NEWSWATCH_WEB_PASSWORD}")
    secret_key: str | None = Field(default=None, description="key that signs feed and CSRF tokens; generated "
                                   "once and kept in the database when unset")
    judge_link_days: int = Field(default=JUDGE_LINK_DAYS, ge=1, le=366, description="how long the one-click "
                                 "\"not relevant\" links in alerts stay valid, in days from when the alert was queued")
    trusted_user_header: str | None = Field(default=None, description="header a reverse proxy sets to the "
                                            "signed-in user, e.g. X-Forwarded-User")
    trusted_proxies: list[str] = Field(default_factory=lambda: ["127.0.0.1", "::1"], description="addresses "
                                       "or networks (CIDR) whose trusted_user_header is believed")

    @field_validator("public_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"public_url must start with http:// or https://, got {value!r}")
        return value.rstrip("/") if value else None

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"trusted_proxies: {item!r} is not an address or network (e.g. 10.0.0.0/8)") from None
        return value

    @model_validator(mode="after")
    def _not_open(self) -> WebModel:
        check_exposure(to_settings(self))
        return self


@dataclass(frozen=True, slots=True)
class WebSettings:
    """What the workbench runs on. `repr` hides the password and the key."""

    host: str = "127.0.0.1"
    port: int = 0
    public_url: str | None = None
    password: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    trusted_user_header: str | None = None
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")


def to_settings(model: WebModel) -> WebSettings:
    """The validated section as WebSettings (empty strings mean unset)."""
    return WebSettings(host=model.host, port=model.port, public_url=model.public_url,
                       password=model.password or None, secret_key=model.secret_key or None,
                       trusted_user_header=model.trusted_user_header or None,
                       trusted_proxies=tuple(model.trusted_proxies))


def is_loopback(host: str) -> bool:
    """Whether `host` (an address or ``localhost``) only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(settings: WebSettings) -> None:
    """Refuse to serve the workbench open to the network.

    Raises:
        ValueError: bound beyond loopback with neither a password nor a trusted proxy header.
    """
    if not is_loopback(settings.host) and not settings.password and not settings.trusted_user_header:
        raise ValueError(f"web.host {settings.host!r} is reachable from other machines, so the workbench needs "
                         "web.password (e.g. ${NEWSWATCH_WEB_PASSWORD}) or web.trusted_user_header behind a "
                         "reverse proxy; or bind it to 127.0.0.1")
