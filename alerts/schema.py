"""The alerts tables, as numbered migrations (see `crawler.migrations` for how they are applied).

What each table holds is described in `alerts.store`. Migration 1 is the schema as
`ensure_alerts_schema()` made it before versions existed, and accepts any file that function ever
touched: the tables are created when missing, then the outbox columns added by hand-written
``ALTER TABLE`` since the first release are added when missing (in the same order, so a new file
has the columns in the order an old one has them), then the indexes on those columns.
Later changes are migration 2, 3…, never edits of migration 1. Settings read: none.
"""

from __future__ import annotations

import sqlite3

from crawler.migrations import Migration, Schema, column_names, execute_script

_TABLES = """
CREATE TABLE IF NOT EXISTS alerts_state (
    key TEXT PRIMARY KEY,
    value TEXT
);
CREATE TABLE IF NOT EXISTS matches (
    id INTEGER PRIMARY KEY,
    article_id INTEGER NOT NULL,
    watchlist TEXT NOT NULL,
    story_id INTEGER,
    score REAL,
    threshold REAL,
    rules TEXT,
    evidence TEXT,
    reason TEXT,
    matched_at TEXT,
    UNIQUE (article_id, watchlist)
);
CREATE INDEX IF NOT EXISTS idx_matches_story ON matches (story_id, watchlist);
CREATE TABLE IF NOT EXISTS stories (
    id INTEGER PRIMARY KEY,
    title TEXT,
    url TEXT,
    source TEXT,
    first_article_id INTEGER,
    published TEXT,
    last_published TEXT,
    first_seen TEXT,
    last_seen TEXT,
    article_count INTEGER NOT NULL DEFAULT 1,
    outlets TEXT
);
CREATE INDEX IF NOT EXISTS idx_stories_last_seen ON stories (last_seen);
CREATE TABLE IF NOT EXISTS story_articles (
    article_id INTEGER PRIMARY KEY,
    story_id INTEGER NOT NULL,
    similarity REAL,
    via TEXT,
    signature BLOB,
    title_signature BLOB,
    joined_at TEXT
);
CREATE INDEX IF NOT EXISTS idx_story_articles_story ON story_articles (story_id);
CREATE TABLE IF NOT EXISTS story_alerts (
    story_id INTEGER NOT NULL,
    watchlist TEXT NOT NULL,
    target TEXT NOT NULL,
    outbox_id INTEGER NOT NULL,
    created_at TEXT,
    PRIMARY KEY (story_id, watchlist, target)
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    story_id INTEGER NOT NULL,
    target TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'alert',
    watchlists TEXT NOT NULL,
    article_id INTEGER,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    updated_at TEXT,
    delivered_at TEXT,
    last_status INTEGER,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS idx_outbox_due ON outbox (status, target, id);
CREATE TABLE IF NOT EXISTS outbox_items (
    outbox_id INTEGER NOT NULL,
    story_id INTEGER NOT NULL,
    watchlist TEXT NOT NULL,
    article_id INTEGER,
    reason TEXT NOT NULL,
    added_at TEXT NOT NULL,
    PRIMARY KEY (outbox_id, story_id, watchlist)
);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY,
    outbox_id INTEGER NOT NULL,
    target TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    started_at TEXT,
    outcome TEXT,
    status INTEGER,
    retry_after REAL,
    error TEXT
);
CREATE INDEX IF NOT EXISTS idx_deliveries_outbox ON deliveries (outbox_id);
"""

# Columns added to `outbox` after the first release (each by an ALTER TABLE on open, before versions).
_OUTBOX_COLUMNS = {
    "first_tried_at": "TEXT",  # when the first send attempt was claimed (rate limits count these)
    "due_at": "TEXT",  # digests: when the digest was scheduled (shown in it; stable across retries)
    "tz": "TEXT",  # digests: the time zone its times are shown in
    "notice_key": "TEXT",  # notices: the caller's key, unique per target
    "subject": "TEXT",  # notices
    "body": "TEXT",  # notices
    "slack_ts": "TEXT",  # delivered through Slack's Web API: the message's ts (a thread root)
    "slack_channel": "TEXT",  # … and the channel id it was posted in
    "covered_article_id": "INTEGER",  # alerts sent with a ts: newest story article when composed
    "parent_id": "INTEGER",  # story updates: the alert row they reply under
    "lease_owner": "TEXT",  # host:pid:start of the process sending the row right now (see outbox)
}
_LATE_INDEXES = """
CREATE UNIQUE INDEX IF NOT EXISTS idx_outbox_notice ON outbox (target, notice_key) WHERE notice_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_outbox_collecting ON outbox (target, status, next_attempt_at);
CREATE INDEX IF NOT EXISTS idx_outbox_story ON outbox (story_id, target);
CREATE UNIQUE INDEX IF NOT EXISTS idx_outbox_update ON outbox (target, story_id, article_id) WHERE kind = 'update';
"""


def _initial(conn: sqlite3.Connection) -> None:
    execute_script(conn, _TABLES)
    present = column_names(conn, "outbox")
    for column, kind in _OUTBOX_COLUMNS.items():
        if column not in present:
            conn.execute(f"ALTER TABLE outbox ADD COLUMN {column} {kind}")
    execute_script(conn, _LATE_INDEXES)


def _feedback(conn: sqlite3.Connection) -> None:
    # The analysts' judgements, muted stories and snoozed sources or terms (the workbench writes them;
    # the pipeline and the outbox honour them). The SQL lives beside the code that uses it.
    from alerts.feedback import FEEDBACK_SCHEMA

    execute_script(conn, FEEDBACK_SCHEMA)


def _web_state(conn: sqlite3.Connection) -> None:
    # The key that signs the workbench's tokens and the one-click links in alerts, generated once when
    # none is configured (alerts.links.signing_key).
    execute_script(conn, "CREATE TABLE IF NOT EXISTS web_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);")


ALERTS_SCHEMA = Schema("alerts", (
    Migration(1, "matches, stories, outbox, deliveries (accepts a file made before versions)", _initial),
    Migration(2, "judgements, mutes and snoozes (the workbench)", _feedback),
    Migration(3, "web_state: the workbench's generated signing key", _web_state),
))
