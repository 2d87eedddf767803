"""Keep `${VAR}` secrets out of everything newswatch shows: log lines, tracebacks, error messages.

`scheduler.config` records every value it substituted from the environment (`Config.secrets`) and
registers it here when a config is loaded; `install_redaction()` (called once by the CLI after it sets
up logging) puts a filter on the root logger's handlers that replaces each registered value, and its
URL-encoded forms, by `***` in every record, Scrapy's and Twisted's included. Registered values are
never forgotten: after a reload the old secrets are still masked.

A value counts as secret when it is at least 4 characters long and is not a small number (a port) or
a YAML boolean word: masking "true" or "587" in every log line would hide more than it protects.

Settings read: none (values are passed in by `scheduler.config`).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "***"
_PLAIN_WORDS = frozenset({"true", "false", "yes", "no", "on", "off", "null", "none"})

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None


def worth_redacting(value: str) -> bool:
    """Whether a substituted value is treated as a secret (see the module docstring)."""
    stripped = value.strip()
    if len(stripped) < 4 or stripped.lower() in _PLAIN_WORDS:
        return False
    return not (stripped.isdigit() and len(stripped) <= 5)


def _forms(value: str) -> set[str]:
    """The value as written and as it appears inside URLs and form bodies."""
    return {value, quote(value, safe=""), quote(value), quote_plus(value), quote(value, safe="@:")}


def _compile(values: Iterable[str]) -> re.Pattern[str] | None:
    forms = {form for value in values for form in _forms(value) if form}
    if not forms:
        return None
    # Longest first, so that a secret containing another is masked whole.
    return re.compile("|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True)))


def redact(text: str, secrets: Iterable[str] | None = None) -> str:
    """`text` with every secret replaced by `***`.

    Args:
        text: any text (a message, a URL, an error).
        secrets: the values to mask; default: every value registered with `register_secrets()`.

    Returns:
        The text, masked.
    """
    pattern = _pattern if secrets is None else _compile(s for s in secrets if s)
    if pattern is None or not text:
        return text
    return pattern.sub(MASK, text)


def register_secrets(values: Iterable[str]) -> None:
    """Add values to the process-wide set masked by `redact()` and the logging filter."""
    global _pattern
    fresh = {v for v in values if v and worth_redacting(v)} - _secrets
    if not fresh:
        return
    with _lock:
        _secrets.update(fresh)
        _pattern = _compile(_secrets)


class RedactingFilter(logging.Filter):
    """Rewrites each record's message and traceback text with the secrets masked; never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _pattern is None:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: let the handler report it as usual
            return True
        if record.exc_info or record.exc_text:
            # An exception's text may quote a URL. The masked traceback joins the message, so that every
            # formatter (text or JSON) shows it, and none can format the original again.
            text = record.exc_text or logging.Formatter().formatException(record.exc_info)  # type: ignore[arg-type]
            message = f"{message}\n{text}"
            record.exc_info, record.exc_text = None, None
        record.msg, record.args = redact(message), ()
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_FILTER = RedactingFilter()


def install_redaction(secrets: Iterable[str] = ()) -> None:
    """Register `secrets` and mask them in everything the root logger's handlers write.

    Call it after the handlers are set up (the CLI does, in `_setup_logging`); calling it again is
    harmless and also covers handlers added since.
    """
    register_secrets(secrets)
    for handler in logging.getLogger().handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
