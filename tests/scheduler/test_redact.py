"""The process-wide redaction of `${VAR}` values in log records (scheduler.redact)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from scheduler.config import load_config
from scheduler.redact import install_redaction, redact

SECRET = "s3cr3t/val ue&x"


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield out
    finally:
        root.removeHandler(handler)


def test_log_records_and_tracebacks_are_masked_in_every_encoding(stream: io.StringIO) -> None:
    install_redaction([SECRET])
    log = logging.getLogger("tests.redact")
    log.warning("GET https://h/feed?key=%s and %s", "s3cr3t%2Fval%20ue%26x", SECRET)
    log.warning("form body key=s3cr3t%2Fval+ue%26x")
    try:
        raise ValueError(f"bad url https://u:{SECRET}@h/")
    except ValueError:
        log.exception("fetch failed")
    text = stream.getvalue()
    assert "s3cr3t" not in text
    assert text.count("***") == 4 and "ValueError: bad url https://u:***@h/" in text


def test_loading_a_config_registers_its_secrets_for_every_later_log_line(
    tmp_path: Path, stream: io.StringIO
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("sources:\n  - {name: a, kind: feed, url: 'https://h/f?k=${FEED_KEY}'}\n", encoding="utf-8")
    loaded = load_config(config, environ={"FEED_KEY": "k-87a6f-0001"})
    assert loaded.sources[0].display_url == "https://h/f?k=***"
    assert "k-87a6f-0001" not in repr(loaded)
    install_redaction()
    logging.getLogger("scrapy.core.engine").error("Error downloading <GET https://h/f?k=k-87a6f-0001>")
    assert "k-87a6f-0001" not in stream.getvalue() and "k=***" in stream.getvalue()


def test_ports_and_flags_are_not_treated_as_secrets() -> None:
    install_redaction(["587", "true", "abc"])
    assert redact("port 587, starttls true, abc") == "port 587, starttls true, abc"


def test_a_password_written_in_a_source_url_is_not_shown(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("sources:\n  - {name: a, kind: feed, url: 'https://reader:hunter22@h/feed'}\n",
                      encoding="utf-8")
    assert load_config(config, environ={}).sources[0].display_url == "https://reader:***@h/feed"
