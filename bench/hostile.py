"""Replay the hostile set against a real daemon, one case at a time, and say what each one cost.

Each case starts a fresh `newswatch run` on loopback with one well-behaved news source (`wire`)
and whatever the case adds: a hostile feed, page or listing, a hostile alert receiver, a hostile
config edit, a secret in a source URL, a second daemon. A matching story is on `wire` from the start
and a second one is published once the hostile part has been served at least once, so the run shows
whether the daemon kept serving its other sources while it dealt with the hostile one.

Per case it prints:

- **bounded**: the daemon answered within the case's limit and its process tree's peak RSS stayed
  under `--max-rss-mb`; it then stopped on SIGTERM with exit 0;
- **serving**: both `wire` stories were alerted (seconds from publication to alert);
- **lost / duplicated** alerts of those stories at the counted receiver;
- **held**: the case's own check (no local file read, no request to the canary port, no Bcc header,
  no secret in the log or the database, the second daemon refused, …).

Everything binds 127.0.0.1; nothing is sent anywhere else (the link-local and private-range cases are
proved at the unit level in `tests/crawler/`, never here, so no packet leaves loopback).

Run: `python bench/hostile.py` (all cases, ~3–6 min), `--case NAME` (repeatable), `--list`,
`--json` for a machine-readable summary. Exit 0 when every case held.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._loopback_news import (  # noqa: E402
    NEWSWATCH,
    AlertSink,
    MailSink,
    NewsSite,
    StoryFactory,
    _quiet,
    alert_paths,
    tree_usage,
)
from tests.loopback import DripServer, LoopbackHTTPServer, Request, Response  # noqa: E402

SECRET = "hostile-bench-s3cr3t-7f2a"
CANARY_TEXT = "CANARY-LOCAL-FILE-5d1e"


# -- the world of one case ------------------------------------------------------------------------
@dataclass
class World:
    """The servers, files and daemon of one case."""

    tmp: Path
    factory: StoryFactory
    site: NewsSite = field(default_factory=NewsSite)
    hostile: LoopbackHTTPServer = field(default_factory=LoopbackHTTPServer)
    canary: LoopbackHTTPServer = field(default_factory=LoopbackHTTPServer)
    webhook: AlertSink = field(default_factory=AlertSink)
    slack: LoopbackHTTPServer | None = None
    mail: MailSink | None = None
    sources: list[dict[str, Any]] = field(default_factory=list)
    crawl: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    counted: str = "webhook"  # which receiver the wire stories are counted at
    daemon: subprocess.Popen[bytes] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def config(self) -> Path:
        return self.tmp / "config.yaml"

    @property
    def database(self) -> Path:
        return self.tmp / "newswatch.db"

    @property
    def log(self) -> Path:
        return self.tmp / "daemon.log"

    def received_paths(self) -> list[str]:
        """Article paths of every alert the counted receiver accepted (one entry per alert)."""
        return [path for receipt in _receipts(self) for path in self.paths_in(receipt.body)]

    def paths_in(self, body: bytes) -> set[str]:
        """The article paths one alert links to (an email's parts decoded first)."""
        if self.counted != "mail":
            return alert_paths(body)
        paths: set[str] = set()
        for part in message_from_bytes(body).walk():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                paths |= alert_paths(payload)
        return paths

    def database_bytes(self) -> bytes:
        """The database file and its write-ahead log, as bytes."""
        return b"".join(p.read_bytes() for p in (self.database, self.tmp / "newswatch.db-wal") if p.exists())

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        if not self.database.exists():
            return []
        with contextlib.closing(sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=30)) as db:
            try:
                return list(db.execute(sql, args))
            except sqlite3.OperationalError:
                return []


def _watchlists() -> str:
    default = (ROOT / "config.yaml").read_text(encoding="utf-8")
    return default[default.index("# WATCHLISTS-BEGIN"):default.index("# WATCHLISTS-END")]


def _targets() -> str:
    default = (ROOT / "config.yaml").read_text(encoding="utf-8")
    return default[default.index("# TARGETS-BEGIN"):default.index("# TARGETS-END")]


def write_config(world: World) -> None:
    crawl = {"download_delay": 0.0, "obey_robots_txt": False, "download_timeout": 10.0, "retry_times": 0,
             **world.crawl}
    lines = ["database: newswatch.db", "log_level: INFO", "crawl:"]
    lines += [f"  {key}: {json.dumps(value)}" for key, value in crawl.items()]
    lines += ["delivery:", "  every: 1s", "  retry_base: 1s", "  max_attempts: 50", "sources:"]
    lines += [f"  - {json.dumps(source)}" for source in world.sources]
    world.config.write_text("\n".join(lines) + "\n" + _targets() + "\n" + _watchlists() + "\n", encoding="utf-8")


def _env(world: World) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    env["NEWSWATCH_WEBHOOK_URL"] = world.webhook.url("/hook")
    env["NEWSWATCH_WEBHOOK_SECRET"] = "bench-hmac-secret"
    if world.slack is not None:
        env["NEWSWATCH_SLACK_WEBHOOK_URL"] = world.slack.url("/slack")
    if world.mail is not None:
        env.update({"NEWSWATCH_SMTP_HOST": "127.0.0.1", "NEWSWATCH_SMTP_PORT": str(world.mail.port),
                    "NEWSWATCH_SMTP_STARTTLS": "false", "NEWSWATCH_EMAIL_TO": "analysts@example.org"})
    env.update(world.env)
    return env


def start_daemon(world: World, log_name: str = "daemon.log") -> subprocess.Popen[bytes]:
    log = (world.tmp / log_name).open("wb")
    return subprocess.Popen([*NEWSWATCH, "run", "--config", str(world.config), "--stop-timeout", "20"],
                            cwd=world.tmp, env=_env(world), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def wait_for(predicate: Callable[[], bool], timeout: float, every: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return predicate()


# -- hostile material -------------------------------------------------------------------------------
def rss(items: list[tuple[str, str, str]]) -> bytes:
    body = "".join(f"<item><title>{t}</title><link>{u}</link><description>{d}</description></item>"
                   for u, t, d in items)
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>h</title>{body}</channel></rss>'.encode()


def page(title: str, text: str) -> bytes:
    paras = "".join(f"<p>{text} Paragraph {i} adds detail to the report.</p>" for i in range(6))
    head = f"<html><head><title>{title}</title></head>"
    return f"{head}<body><article><h1>{title}</h1>{paras}</article></body></html>".encode()


def _serve_calm_articles(world: World, prefix: str, count: int) -> list[str]:
    urls = []
    for i in range(count):
        path = f"/{prefix}/{i}"
        world.hostile.add(path, page(f"Harbour festival day {i}", f"Calm local story number {i} about a harbour fair."),
                          "text/html")
        urls.append(world.hostile.url(path))
    return urls


def _hostile_articles_stored(world: World, prefix: str) -> int:
    rows = world.query("SELECT count(*) FROM articles WHERE url LIKE ?", f"%/{prefix}/%")
    return int(rows[0][0]) if rows else 0


def _local_file(world: World) -> Path:
    secret = world.tmp / "private" / "notes.html"
    secret.parent.mkdir(exist_ok=True)
    secret.write_bytes(page("Spratly patrol plan", f"{CANARY_TEXT} China Coast Guard water cannon at Second "
                            "Thomas Shoal; the Philippines protests."))
    return secret


def _no_local_file(world: World) -> tuple[bool, str]:
    leaked = CANARY_TEXT.encode() in world.database_bytes() or any(
        CANARY_TEXT.encode() in r.body for r in world.webhook.snapshot())
    return not leaked, "local file never read" if not leaked else "LOCAL FILE CONTENT STORED OR SENT"


def case_file_links(world: World) -> None:
    secret = _local_file(world)
    calm = _serve_calm_articles(world, "calm", 2)
    world.hostile.add("/file.xml", rss([(f"file://localhost{secret}", "Local", "x"), (calm[0], "Calm 0", "c"),
                                        (f"file://{secret}", "Local 2", "x"), (calm[1], "Calm 1", "c")]),
                      "application/rss+xml")
    items = [{"id": "1", "url": f"file://{secret}", "title": "Local"}]
    world.hostile.add("/file.json", json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "h",
                                                "items": items}).encode(), "application/feed+json")
    world.hostile.add("/file-sitemap.xml", (
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<url><loc>file://{secret}</loc></url></urlset>").encode(), "application/xml")
    world.sources += [{"name": "file-rss", "kind": "feed", "url": world.hostile.url("/file.xml"), "every": "5s"},
                      {"name": "file-json", "kind": "feed", "url": world.hostile.url("/file.json"), "every": "5s"},
                      {"name": "file-sitemap", "kind": "sitemap", "url": world.hostile.url("/file-sitemap.xml"),
                       "every": "5s"}]


def check_file_links(world: World) -> tuple[bool, str]:
    ok, text = _no_local_file(world)
    calm = _hostile_articles_stored(world, "calm")
    return ok and calm == 2, f"{text}; {calm}/2 ordinary entries of the same feed stored"


def case_ssrf(world: World) -> None:
    world.canary.add("/internal", page("Internal admin", "Internal service answer"), "text/html")
    world.hostile.route("/redirect", lambda _r: Response(302, b"", {"Location": world.canary.url("/internal")}))
    calm = _serve_calm_articles(world, "calm", 1)
    world.hostile.add("/ssrf.xml", rss([
        (world.canary.url("/internal"), "Other loopback port", "x"),
        (world.hostile.url("/redirect"), "Redirect to another port", "x"),
        (world.canary.url("/internal").replace("http://", "ftp://"), "FTP", "x"),
        (calm[0], "Calm", "c"),
    ]), "application/rss+xml")
    world.sources.append({"name": "ssrf", "kind": "feed", "url": world.hostile.url("/ssrf.xml"), "every": "5s"})


def check_ssrf(world: World) -> tuple[bool, str]:
    hits = len(world.canary.requests)
    calm = _hostile_articles_stored(world, "calm")
    text = f"{hits} request(s) reached the other loopback port; {calm}/1 same-origin entry stored"
    return hits == 0 and calm == 1, text


def case_non_http_links(world: World) -> None:
    calm = _serve_calm_articles(world, "calm", 3)
    world.hostile.add("/odd.xml", rss([
        (calm[0], "Calm 0", "c"), ("javascript:alert(1)", "JS", "x"), ("mailto:desk@example.org", "Mail", "x"),
        (calm[1], "Calm 1", "c"), ("tag:example.org,2024:1", "Tag", "x"), ("urn:uuid:0f6e", "URN", "x"),
        (calm[2], "Calm 2", "c"),
    ]), "application/rss+xml")
    world.sources.append({"name": "odd-links", "kind": "feed", "url": world.hostile.url("/odd.xml"), "every": "5s"})


def check_non_http_links(world: World) -> tuple[bool, str]:
    calm = _hostile_articles_stored(world, "calm")
    return calm == 3, f"{calm}/3 http entries around the non-HTTP links stored"


def case_quadratic_feeds(world: World) -> None:
    lts = "<" * 300_000
    world.hostile.add("/lt.json", json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "h", "items": [
        {"id": "a", "url": world.hostile.url("/calm/0"), "title": "Calm", "content_html": lts}]}).encode(),
        "application/feed+json")
    world.hostile.add("/lt.xml", rss([(world.hostile.url("/calm/1"), "Calm", lts.replace("<", "&lt;"))]),
                      "application/rss+xml")
    _serve_calm_articles(world, "calm", 2)
    world.sources += [{"name": "lt-json", "kind": "feed", "url": world.hostile.url("/lt.json"), "every": "5s"},
                      {"name": "lt-rss", "kind": "feed", "url": world.hostile.url("/lt.xml"), "every": "5s"}]


def check_quadratic_feeds(world: World) -> tuple[bool, str]:
    calm = _hostile_articles_stored(world, "calm")
    return calm == 2, f"{calm}/2 articles of the '<'-flooded feeds stored"


def case_link_page(world: World) -> None:
    world.hostile.add("/links/0", b"<html><head>" + b"<link " * 60_000 + b"</head></html>", "text/html")
    for i in (1, 2):
        world.hostile.add(f"/links/{i}", page(f"Harbour festival {i}", "A calm harbour fair story with a long body."),
                          "text/html")
    world.hostile.add("/links.xml", rss([(world.hostile.url(f"/links/{i}"), f"Links {i}", "teaser") for i in range(3)]),
                      "application/rss+xml")
    world.sources.append({"name": "link-page", "kind": "feed", "url": world.hostile.url("/links.xml"), "every": "5s"})


def check_link_page(world: World) -> tuple[bool, str]:
    rows = world.query("SELECT count(*) FROM articles WHERE url LIKE '%/links/%' AND length(text) > 100")
    full = int(rows[0][0]) if rows else 0
    return full >= 2, f"{full}/2 ordinary pages after the '<link ' page extracted in full"


def case_link_pattern(world: World) -> None:
    links = "".join(f'<a href="/{"a" * 40}b{i}">x</a>' for i in range(20))
    links += f'<a href="{world.hostile.url("/aaa")}">fine</a>'
    world.hostile.add("/section", f"<html><body>{links}</body></html>".encode(), "text/html")
    world.hostile.add("/aaa", page("Harbour fair", "A calm harbour fair story."), "text/html")
    world.sources.append({"name": "redos-listing", "kind": "listing", "url": world.hostile.url("/section"),
                          "link_pattern": "(a+)+$", "every": "5s"})


def check_link_pattern(world: World) -> tuple[bool, str]:
    crawled = world.query("SELECT count(*) FROM sources WHERE name = 'redos-listing' AND last_attempt IS NOT NULL")
    return True, "listing with '(a+)+$' crawled" if crawled and crawled[0][0] else "listing state not recorded"


def case_email_injection(world: World) -> None:
    world.mail = MailSink()
    world.mail.__enter__()
    world.counted = "mail"
    world.notes.append("wire's second story carries an encoded-word CR/LF in its title")


def check_email_injection(world: World) -> tuple[bool, str]:
    assert world.mail is not None
    bad = [m for m in world.mail.messages if m.get("Bcc") or m.get("Reply-To")]
    return not bad and bool(world.mail.messages), f"{len(bad)} of {len(world.mail.messages)} emails with Bcc/Reply-To"


ALIAS_BOMB = "\n".join(
    ["a: &a [x, x, x, x, x, x, x, x, x]"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]" for i in range(8)]
) + "\n"


def _deep_rules(levels: int) -> str:
    rule = '{any: ["water cannon"]}'
    for _ in range(levels):
        rule = "{all: [" + rule + "]}"
    return rule


def case_config_bombs(world: World) -> None:
    world.notes.append("an alias bomb, then 300 nested rule levels, saved over config.yaml while running")


def during_config_bombs(world: World) -> None:
    good = world.config.read_text(encoding="utf-8")
    world.config.write_text(ALIAS_BOMB + good, encoding="utf-8")
    wait_for(lambda: b"reload" in world.log.read_bytes(), 120)
    deep = good.replace("watchlists:\n", "watchlists:\n  - name: deep\n    targets: [webhook-archive]\n"
                        f"    threshold: 1\n    rules: [{_deep_rules(300)}]\n", 1)
    time.sleep(1.1)  # a new modification time for the reload poll (bench only; tests never do this)
    world.config.write_text(deep, encoding="utf-8")
    wait_for(lambda: world.log.read_bytes().count(b"reload") >= 2, 120)
    time.sleep(1.1)
    world.config.write_text(good, encoding="utf-8")


def check_config_bombs(world: World) -> tuple[bool, str]:
    alive = world.daemon is not None and world.daemon.poll() is None
    rejected = world.log.read_bytes().count(b"reload rejected")
    return alive and rejected >= 2, f"daemon alive: {alive}; {rejected} edits rejected"


def case_secret_url(world: World) -> None:
    world.hostile.route("/keyed.xml", lambda r: Response(200, rss([]), {"Content-Type": "application/rss+xml"})
                        if SECRET in r.path else Response(403, b"no key", {"Content-Type": "text/plain"}))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        refused = s.getsockname()[1]
    world.env["NEWSWATCH_BENCH_KEY"] = SECRET
    world.sources += [
        {"name": "keyed", "kind": "feed", "url": world.hostile.url("/keyed.xml") + "?apikey=${NEWSWATCH_BENCH_KEY}",
         "every": "5s"},
        {"name": "keyed-down", "kind": "feed", "url": f"http://bench:${{NEWSWATCH_BENCH_KEY}}@127.0.0.1:{refused}/f.xml",
         "every": "5s"},
    ]


def check_secret_url(world: World) -> tuple[bool, str]:
    places = {"log": world.log.read_bytes(), "database": world.database_bytes(),
              "alerts": b"".join(r.body for r in world.webhook.snapshot())}
    leaks = [name for name, data in places.items() if SECRET.encode() in data]
    return not leaks, "secret in: " + ", ".join(leaks) if leaks else "secret in no log, row or alert"


def case_slow_drip(world: World) -> None:
    world.webhook.__exit__(None, None, None)
    world.webhook = DripServer(prefix=b"HTTP/1.1 200 OK").__enter__()  # type: ignore[assignment]
    world.slack = AlertSink()
    world.counted = "slack"


def check_slow_drip(world: World) -> tuple[bool, str]:
    drip: Any = world.webhook
    tried = isinstance(drip, DripServer) and drip.connections > 0
    return tried, (f"webhook dripped on {drip.connections} connection(s); Slack alerts arrived beside it"
                   if tried else "the dripping webhook was never tried")


class SlackErrorSink(AlertSink):
    """A Slack incoming webhook that answers 200 with an error body, as Slack does for bad blocks."""

    def respond(self, request: Request) -> Response:
        return Response(200, b"invalid_blocks", {"Content-Type": "text/plain"})


def case_slack_error(world: World) -> None:
    world.slack = SlackErrorSink()


def check_slack_error(world: World) -> tuple[bool, str]:
    rows = world.query("SELECT count(*) FROM outbox WHERE target = 'slack-analysts' AND status = 'delivered'")
    delivered = int(rows[0][0]) if rows else 0
    return delivered == 0, f"{delivered} alerts counted delivered on a 200 'invalid_blocks'"


def during_two_daemons(world: World) -> None:
    second = start_daemon(world, "second.log")
    try:
        second.wait(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(second.pid, signal.SIGTERM)
        second.wait(timeout=60)
    world.notes.append(f"second daemon exit {second.returncode}")


def check_two_daemons(world: World) -> tuple[bool, str]:
    text = (world.tmp / "second.log").read_text(encoding="utf-8", errors="replace")
    refused = "in use by another newswatch" in text
    exited = any("second daemon exit" in n and not n.endswith(" 0") for n in world.notes)
    return refused and exited, "second daemon refused with a message" if refused and exited else "second daemon ran"


@dataclass(frozen=True)
class Case:
    name: str
    what: str
    setup: Callable[[World], None]
    check: Callable[[World], tuple[bool, str]]
    during: Callable[[World], None] | None = None
    hostile_served: bool = True  # wait for the hostile server's first request before the second story


CASES = [
    Case("file-links", "feed, JSON Feed and sitemap entries linking to a local file", case_file_links,
         check_file_links),
    Case("ssrf", "entries and a redirect to another loopback port, ftp://", case_ssrf, check_ssrf),
    Case("non-http-links", "javascript:/mailto:/tag:/urn: links amid real entries", case_non_http_links,
         check_non_http_links),
    Case("quadratic-feeds", "300 KB of '<' in a JSON Feed and an RSS description", case_quadratic_feeds,
         check_quadratic_feeds),
    Case("link-page", "a 360 KB page of '<link ' before ordinary pages", case_link_page, check_link_page),
    Case("link-pattern", "a listing source with link_pattern '(a+)+$'", case_link_pattern, check_link_pattern),
    Case("email-injection", "an RFC 2047 encoded word with CR/LF in a title", case_email_injection,
         check_email_injection, hostile_served=False),
    Case("config-bombs", "YAML alias bomb and 300 nested rules saved live", case_config_bombs, check_config_bombs,
         during=during_config_bombs, hostile_served=False),
    Case("secret-url", "a ${VAR} key in a feed URL and in user:pass@ of a failing source", case_secret_url,
         check_secret_url),
    Case("slow-drip", "a webhook that drips one byte a second, beside a healthy Slack target", case_slow_drip,
         check_slow_drip, hostile_served=False),
    Case("slack-200-error", "Slack answering 200 'invalid_blocks'", case_slack_error, check_slack_error,
         hostile_served=False),
    Case("two-daemons", "a second daemon started on the same database", lambda w: None, check_two_daemons,
         during=during_two_daemons, hostile_served=False),
]


# -- running ----------------------------------------------------------------------------------------
@dataclass
class Outcome:
    case: str
    what: str
    bounded: bool = False
    peak_rss_mb: float = 0.0
    stop_seconds: float = float("nan")
    exit_code: int | None = None
    latencies: list[float] = field(default_factory=list)
    lost: int = 0
    duplicated: int = 0
    held: bool = False
    detail: str = ""

    @property
    def passed(self) -> bool:
        return self.bounded and self.held and self.lost == 0 and self.duplicated == 0


def _sampler(world: World, peak: list[int], stop: threading.Event) -> None:
    while not stop.is_set():
        if world.daemon is not None and world.daemon.poll() is None:
            with contextlib.suppress(Exception):
                peak[0] = max(peak[0], tree_usage(world.daemon.pid).rss_bytes)
        stop.wait(0.25)


def run_case(case: Case, factory: StoryFactory, timeout: float, max_rss_mb: float) -> Outcome:
    outcome = Outcome(case.name, case.what)
    with tempfile.TemporaryDirectory(prefix=f"nw-hostile-{case.name}-") as tmp:
        world = World(Path(tmp), factory)
        for server in (world.site, world.hostile, world.canary, world.webhook):
            _quiet(server)  # a daemon stopped mid-request resets its connections: not worth a traceback
            server.__enter__()
        case.setup(world)
        if world.slack is not None:
            world.slack.__enter__()
        first = factory.make("maritime")
        wire = world.site.add_source("wire")
        world.sources.insert(0, {"name": "wire", "kind": "feed", "url": wire, "every": "5s"})
        write_config(world)
        published = [world.site.publish("wire", first)]
        peak, stop = [0], threading.Event()
        sampler = threading.Thread(target=_sampler, args=(world, peak, stop), daemon=True)
        world.daemon = start_daemon(world)
        sampler.start()
        try:
            got_first = wait_for(lambda: published[0].path in world.received_paths(), timeout)
            if case.during is not None:
                case.during(world)
            if case.hostile_served:
                wait_for(lambda: bool(world.hostile.requests), timeout)
                wait_for(lambda: world.site.hits["feed"] >= 2, timeout)  # a wire crawl after the hostile one
            second = factory.make("arms")
            if case.name == "email-injection":
                second = type(second)(second.slug, second.title + " =?utf-8?q?=0D=0ABcc:victim@example.org?="
                                      "=?utf-8?q?=0D=0AReply-To:x@example.org?=", second.summary,
                                      second.paragraphs, second.topic)
            published.append(world.site.publish("wire", second))
            got_second = wait_for(lambda: published[1].path in world.received_paths(), timeout)
            # A duplicate would come from a retry or a second delivery job: give them the next tick or two.
            wait_for(lambda: False, 3)
            paths = world.received_paths()
            wanted = [p.path for p in published]
            outcome.lost = sum(1 for p in wanted if p not in paths)
            outcome.duplicated = sum(max(0, paths.count(p) - 1) for p in wanted)
            outcome.latencies = [
                round(min(r.at for r in _receipts(world) if p.path in world.paths_in(r.body)) - p.at, 1)
                for p in published if p.path in paths
            ]
            outcome.held, outcome.detail = case.check(world)
            alive = world.daemon.poll() is None
            started = time.monotonic()
            if alive:
                os.killpg(world.daemon.pid, signal.SIGTERM)
            try:
                outcome.exit_code = world.daemon.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(world.daemon.pid, signal.SIGKILL)
                outcome.exit_code = world.daemon.wait()
            outcome.stop_seconds = round(time.monotonic() - started, 1)
            outcome.peak_rss_mb = round(peak[0] / 1e6, 1)
            outcome.bounded = (alive and got_first and got_second and outcome.exit_code == 0
                               and outcome.peak_rss_mb <= max_rss_mb)
            if not alive:
                outcome.detail += "; DAEMON DIED"
        finally:
            stop.set()
            if world.daemon.poll() is None:
                os.killpg(world.daemon.pid, signal.SIGKILL)
                world.daemon.wait()
            servers: list[Any] = [world.site, world.hostile, world.canary, world.webhook, world.slack]
            for server in servers:
                if server is not None:
                    with contextlib.suppress(Exception):
                        server.__exit__(None, None, None)
            if world.mail is not None:
                world.mail.__exit__(None, None, None)
            if os.environ.get("NEWSWATCH_BENCH_KEEP_LOGS"):
                keep = Path(os.environ["NEWSWATCH_BENCH_KEEP_LOGS"]) / case.name
                keep.mkdir(parents=True, exist_ok=True)
                for name in ("daemon.log", "second.log", "config.yaml"):
                    if (world.tmp / name).exists():
                        (keep / name).write_bytes((world.tmp / name).read_bytes())
    return outcome


def _receipts(world: World) -> list[Any]:
    if world.counted == "mail":
        assert world.mail is not None
        return world.mail.snapshot()
    if world.counted == "slack":
        assert isinstance(world.slack, AlertSink)
        return world.slack.snapshot()
    return world.webhook.snapshot()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", action="append", help="run only this case (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for each alert")
    parser.add_argument("--max-rss-mb", type=float, default=1500.0, help="peak RSS of the daemon's process tree")
    parser.add_argument("--json", action="store_true", help="print a JSON summary")
    args = parser.parse_args(argv)
    if args.list:
        for case in CASES:
            print(f"{case.name:16} {case.what}")
        return 0
    chosen = [c for c in CASES if not args.case or c.name in args.case]
    unknown = set(args.case or ()) - {c.name for c in CASES}
    if unknown:
        parser.error(f"unknown case(s): {', '.join(sorted(unknown))}; see --list")
    factory = StoryFactory(seed=11)
    outcomes = []
    for case in chosen:
        outcome = run_case(case, factory, args.timeout, args.max_rss_mb)
        outcomes.append(outcome)
        if not args.json:
            verdict = "PASS" if outcome.passed else "FAIL"
            print(f"{verdict} {outcome.case:16} bounded={outcome.bounded} peak_rss={outcome.peak_rss_mb} MB "
                  f"stop={outcome.stop_seconds}s exit={outcome.exit_code} wire_latency_s={outcome.latencies} "
                  f"lost={outcome.lost} dup={outcome.duplicated} | {outcome.detail}", flush=True)
    if args.json:
        print(json.dumps([o.__dict__ | {"passed": o.passed} for o in outcomes], indent=1))
    else:
        print(f"{sum(o.passed for o in outcomes)} passed, {sum(not o.passed for o in outcomes)} failed")
    return 0 if all(o.passed for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
