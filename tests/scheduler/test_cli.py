"""The command line as a person uses it: dry-run matching, extraction, test alerts, backtests, stories."""

from __future__ import annotations

import gzip
import json
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from alerts import process_new_articles
from crawler import insert_article
from scheduler.cli import main
from scheduler.config import load_config
from scheduler.schema import open_store
from scheduler.tasks import match_pending
from tests.conftest import SEED, need
from tests.e2e_site import CALM_TEXT, CALM_TITLE, NEWSWATCH, SEED_TITLE, article_page, seed_paragraphs
from tests.loopback import WebhookReceiver

ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT = str(ROOT / "config.yaml")


def _config_with_webhook(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "config.yaml"
    default = (ROOT / "config.yaml").read_text(encoding="utf-8")
    watchlists = default[default.index("# WATCHLISTS-BEGIN"):default.index("# WATCHLISTS-END")]
    watchlists = watchlists.replace("[slack-analysts, email-analysts, webhook-archive]", "[hook]")
    path.write_text(f"database: nw.db\ntargets:\n  - {{name: hook, kind: webhook, url: '{url}'}}\n{watchlists}",
                    encoding="utf-8")
    return path


def test_match_jsonl_writes_one_line_per_input_with_the_watchlists() -> None:
    lines = [
        {"id": "a", "title": "Chinese coast guard fires water cannon at Philippine boat near Second Thomas Shoal",
         "text": "Manila protested the latest incident in the South China Sea."},
        {"id": "b", "title": "Poland signs deal to buy 96 Apache helicopters from the US", "text": ""},
        {"id": "c", "title": "Joe Scarborough hosts a new morning show", "text": "The MSNBC host returns."},
    ]
    stdin = "\n".join(json.dumps(item) for item in lines) + "\n"
    result = CliRunner().invoke(main, ["match", "--jsonl", "-", "--config", DEFAULT], input=stdin)
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.stdout.splitlines()]  # stdout: JSON only
    assert [o["id"] for o in out] == ["a", "b", "c"]
    assert out[0]["watchlists"] == ["maritime-disputes"]
    assert out[1]["watchlists"] == ["arms-deals"]
    assert out[2]["watchlists"] == []
    assert any(e["sentence"] for m in out[0]["matches"] for e in m["evidence"])


def test_match_jsonl_reports_a_bad_line_and_goes_on() -> None:
    stdin = ('{"id": 1, "title": "Poland signs deal to buy 96 Apache helicopters from the US"}\nnot json\n'
             '[1, 2]\n{"id": 4, "title": "Chinese coast guard fires water cannon near Second Thomas Shoal"}\n')
    result = CliRunner().invoke(main, ["match", "--jsonl", "-", "--config", DEFAULT], input=stdin)
    assert result.exit_code == 1
    assert "Error: line 2 of the input is not JSON" in result.stderr
    assert "Error: line 3 of the input is not an object" in result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == [1, None, None, 4], "one output line per input line, in order"
    assert out[0]["watchlists"] == ["arms-deals"] and out[3]["watchlists"] == ["maritime-disputes"]
    assert out[1]["line"] == 2 and "not JSON" in out[1]["error"]
    assert "2 input line(s) were not JSON objects" in result.stderr


def test_match_jsonl_writes_each_result_before_reading_the_next_line() -> None:
    """A pipe stays open: the answer to the first line must come out before the second is written."""
    with subprocess.Popen([*NEWSWATCH, "match", "--jsonl", "-", "--config", DEFAULT], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT) as proc:
        assert proc.stdin is not None and proc.stdout is not None
        stdout = proc.stdout
        try:
            proc.stdin.write('{"id": "first", "title": "Poland signs deal to buy 96 Apache helicopters"}\n')
            proc.stdin.flush()
            answer: list[str] = []
            reader = threading.Thread(target=lambda: answer.append(stdout.readline()), daemon=True)
            reader.start()
            reader.join(timeout=90)  # generous: compiling the watchlists takes seconds on a busy machine
            assert answer, "no answer to the first line while the input stays open"
            first = json.loads(answer[0])
            assert first["id"] == "first" and first["watchlists"] == ["arms-deals"]
            proc.stdin.write('{"id": "second", "title": "Cat show draws record crowd"}\n')
            proc.stdin.close()
            assert json.loads(stdout.readline())["id"] == "second"
            assert proc.wait(timeout=60) == 0
        finally:
            if proc.poll() is None:
                proc.kill()


def test_match_explains_an_html_page(tmp_path: Path) -> None:
    need(SEED)
    page = tmp_path / "story.html.gz"
    page.write_bytes(gzip.compress(article_page(SEED_TITLE, seed_paragraphs()).encode()))
    result = CliRunner().invoke(main, ["match", str(page), "--config", DEFAULT])
    assert result.exit_code == 0, result.output
    assert "maritime-disputes" in result.output and "arms-deals" in result.output
    assert "Spratly" in result.output  # the evidence sentence is shown


def test_extract_prints_json_lines(tmp_path: Path) -> None:
    page = tmp_path / "calm.html"
    page.write_text(article_page(CALM_TITLE, CALM_TEXT), encoding="utf-8")
    result = CliRunner().invoke(main, ["extract", str(page), "--url", "https://news.example/ramen", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)  # stdout only: a stray stderr line from another thread is not JSON
    assert data["title"] == CALM_TITLE
    assert "Komazawa Olympic Park" in data["text"] and "Privacy policy" not in data["text"]
    assert set(data) >= {"file", "title", "text", "date", "authors", "language", "url"}


def test_test_alert_reaches_the_target_and_a_refusal_is_an_error(tmp_path: Path, receiver: WebhookReceiver) -> None:
    config = _config_with_webhook(tmp_path, receiver.url("/hook"))
    ok = CliRunner().invoke(main, ["test-alert", "hook", "--config", str(config)])
    assert ok.exit_code == 0, ok.output
    assert len(receiver.received) == 1
    receiver.script([403])
    refused = CliRunner().invoke(main, ["test-alert", "hook", "--config", str(config)])
    assert refused.exit_code == 1 and "403" in refused.output
    unknown = CliRunner().invoke(main, ["test-alert", "nope", "--config", str(config)])
    assert unknown.exit_code == 1 and "configured: hook" in unknown.output


def test_backtest_and_stories_on_stored_articles(tmp_path: Path, receiver: WebhookReceiver) -> None:
    need(SEED)
    config_path = _config_with_webhook(tmp_path, receiver.url("/hook"))
    db = open_store(tmp_path / "nw.db")
    body = "\n".join(seed_paragraphs())
    insert_article(db, {"url": "https://a.example/seed", "source": "scmp", "title": SEED_TITLE, "text": body})
    insert_article(db, {"url": "https://b.example/seed-copy", "source": "kyodo", "title": SEED_TITLE,
                        "text": body})
    insert_article(db, {"url": "https://a.example/ramen", "source": "scmp", "title": CALM_TITLE,
                        "text": " ".join(CALM_TEXT)})
    db.close()

    result = CliRunner().invoke(main, ["backtest", "--watchlist", "arms-deals", "--config", str(config_path)])
    assert result.exit_code == 0, result.output
    assert "2 article(s) would have alerted on arms-deals" in result.output
    assert "ramen" not in result.output.lower()

    report = match_pending(load_config(config_path))
    assert report.matched == 2 and report.alerts_enqueued == 1, "two outlets, one story, one alert"
    stories = CliRunner().invoke(main, ["stories", "--config", str(config_path)])
    assert stories.exit_code == 0, stories.output
    assert "2 article(s) from scmp, kyodo" in stories.output
    assert stories.output.count("#") == 1


def test_backtest_since_counts_from_when_articles_were_fetched(tmp_path: Path, receiver: WebhookReceiver) -> None:
    """An old story fetched today is in the window; a recent date on a page fetched 30 days ago is out."""
    need(SEED)
    config_path = _config_with_webhook(tmp_path, receiver.url("/hook"))
    body = "\n".join(seed_paragraphs())
    long_ago = (datetime.now(UTC) - timedelta(days=30)).isoformat(timespec="seconds")
    yesterday = (datetime.now(UTC) - timedelta(days=1)).isoformat(timespec="seconds")
    db = open_store(tmp_path / "nw.db")
    insert_article(db, {"url": "https://a.example/seed", "source": "scmp", "title": SEED_TITLE, "text": body,
                        "published": "2019-01-01T00:00:00+00:00"})
    insert_article(db, {"url": "https://b.example/seed-copy", "source": "kyodo", "title": SEED_TITLE, "text": body,
                        "published": yesterday, "fetched_at": long_ago})
    db.close()
    week = CliRunner().invoke(main, ["backtest", "--watchlist", "arms-deals", "--since", "7d", "--json",
                                     "--config", str(config_path)])
    assert week.exit_code == 0, week.output
    assert [json.loads(line)["url"] for line in week.output.splitlines()] == ["https://a.example/seed"]


def test_alerts_retry_requeues_dead_letters(tmp_path: Path, receiver: WebhookReceiver) -> None:
    need(SEED)
    config_path = _config_with_webhook(tmp_path, receiver.url("/hook"))
    config = load_config(config_path)
    db = open_store(config.database)
    insert_article(db, {"url": "https://a.example/seed", "source": "scmp", "title": SEED_TITLE,
                        "text": "\n".join(seed_paragraphs())})
    from alerts import compile_matcher, deliver_due

    process_new_articles(db, compile_matcher(config.watchlists, config.gazetteer).match, config.routes())
    receiver.script([404])
    assert deliver_due(db, config.targets).dead == 1
    db.close()

    status = json.loads(CliRunner().invoke(main, ["status", "--json", "--config", str(config_path)]).output)
    assert status["outbox"]["hook"]["dead"] == 1
    retried = CliRunner().invoke(main, ["alerts", "retry", "--config", str(config_path)])
    assert retried.exit_code == 0 and "1 dead alert(s) queued again" in retried.output
    db = open_store(config.database)
    assert deliver_due(db, config.targets).delivered == 1
    db.close()
    assert len(receiver.received) == 1


@pytest.mark.parametrize("with_file", [False, True])
def test_match_needs_exactly_one_input(with_file: bool, tmp_path: Path) -> None:
    story = tmp_path / "x.txt"
    story.write_text("hello", encoding="utf-8")
    args = ["match", str(story), "--jsonl", "-"] if with_file else ["match"]
    result = CliRunner().invoke(main, [*args, "--config", DEFAULT])
    assert result.exit_code == 2
    assert "give either FILE or --jsonl" in result.output
