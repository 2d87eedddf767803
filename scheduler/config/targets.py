"""Targets: the validated ``targets`` models turned into `alerts.TargetSpec` values, or switched off.

A target whose settings use a ``${VAR}`` that is unset or empty is disabled with one INFO line, not
an error: the shipped config.yaml runs before any secret is set. Checks that span keys of one target
(a slack url or a bot token, not both; email needs smtp, from and to; ca_file exists) live here.

Settings read: ``targets`` (the models of ``scheduler.config.models``).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from pathlib import Path
from typing import Any

from alerts import QuietHours, RateLimit, SmtpSettings, TargetSpec, parse_clock
from scheduler.config.locate import Locator
from scheduler.config.models import EmailTargetModel, SlackTargetModel, TargetModel
from scheduler.substitute import Substitution

logger = logging.getLogger("scheduler.config")  # one logger for all of config loading


def build_targets(models: list[TargetModel], subst: Substitution, locator: Locator,
                  problems: list[tuple[str, str]]) -> tuple[dict[str, TargetSpec], dict[str, str]]:
    """TargetSpecs of the enabled targets, and why each other target is off (name -> reason).

    Problems (file:line key, message) are appended to `problems`.
    """
    enabled: dict[str, TargetSpec] = {}
    disabled: dict[str, str] = {}
    for index, target in enumerate(models):
        lacking = subst.lacking(("targets", index))
        if not target.enabled:
            disabled[target.name] = "enabled: false"
            continue
        if lacking:
            why = "; ".join(f"{var} {state}" for var, state in sorted(lacking.items()))
            disabled[target.name] = why
            logger.info("target %s is disabled: %s (%s)", target.name, why, locator.where(("targets", index)))
            continue
        where = locator.where(("targets", index))
        spec = _spec(target, where, index, locator, problems)
        if spec is not None:
            enabled[target.name] = spec
    return enabled, disabled


def _spec(target: TargetModel, where: str, index: int, locator: Locator,
          problems: list[tuple[str, str]]) -> TargetSpec | None:
    if isinstance(target, SlackTargetModel) and (target.token or target.channel):
        if target.url or not target.token or not target.channel:
            problems.append((where, f"target {target.name!r}: a slack target takes either url (an incoming "
                             "webhook) or token and channel (a bot token), not both"))
            return None
        if target.api_url is not None and not re.match(r"^https?://", target.api_url):
            problems.append((where, f"target {target.name!r}: api_url must start with http:// or https://"))
            return None
        spec = TargetSpec(name=target.name, kind="slack", token=target.token, channel=target.channel,
                          timeout=target.timeout, **_shaping(target))
        return dataclasses.replace(spec, api_url=target.api_url) if target.api_url else spec
    if not isinstance(target, EmailTargetModel):
        if not target.url:
            needs = "a url, or token and channel" if target.kind == "slack" else "a url"
            problems.append((where, f"target {target.name!r} ({target.kind}) needs {needs}"))
            return None
        if target.kind != "apprise" and not re.match(r"^https?://", target.url):
            problems.append((where, f"target {target.name!r}: url must start with http:// or https://"))
            return None
        secret = getattr(target, "secret", None)
        return TargetSpec(name=target.name, kind=target.kind, url=target.url, secret=secret or None,
                          timeout=target.timeout, **_shaping(target))
    if target.smtp is None or not target.from_ or not target.to:
        problems.append((where, f"email target {target.name!r} needs smtp (host), from and to"))
        return None
    ca_file = None
    if target.smtp.ca_file:
        ca_path = (Path(locator.file).resolve().parent / target.smtp.ca_file).resolve()
        if not ca_path.is_file():
            problems.append((locator.where(("targets", index, "smtp", "ca_file")),
                             f"email target {target.name!r}: ca_file {str(ca_path)!r} does not exist; "
                             "give the path of a PEM file (relative to the config file)"))
            return None
        ca_file = str(ca_path)
    smtp = SmtpSettings(host=target.smtp.host, port=target.smtp.port,
                        username=target.smtp.username or None, password=target.smtp.password or None,
                        starttls=target.smtp.starttls, ssl=target.smtp.ssl, timeout=target.smtp.timeout,
                        ca_file=ca_file)
    return TargetSpec(name=target.name, kind="email", smtp=smtp, sender=target.from_,
                      recipients=tuple(target.to), timeout=target.timeout, **_shaping(target))


def _shaping(target: TargetModel) -> dict[str, Any]:
    """The target's quiet hours and rate limit as TargetSpec keyword arguments."""
    quiet = target.quiet_hours
    limit = target.rate_limit
    return {
        "quiet_hours": QuietHours(parse_clock(quiet.start), parse_clock(quiet.end), quiet.timezone, quiet.min_score)
        if quiet else None,
        "rate_limit": RateLimit(limit.max, limit.per) if limit else None,
    }
