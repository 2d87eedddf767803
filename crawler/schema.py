"""The crawler's tables, as numbered migrations (see `crawler.migrations` for how they are applied).

- ``articles`` — one row per canonical URL (unique), with text, metadata and a content fingerprint;
  ``articles_fts`` is its FTS5 index (external content), kept in step by three triggers.
- ``seen_urls`` — canonical URLs fetched recently (``first_seen``), so crawls skip them.
- ``sources`` — per source: conditional-GET validators (ETag, Last-Modified, body hash) and health;
  migration 2 adds when it last brought a new article and when it was disabled (source states);
  migration 3 adds how many entries its index listed when last read (the ``empty`` state);
  migration 4 adds since when it has listed none (for the operations notice about an empty source).

Migration 1 is the schema as `_ensure_schema` created it before versions existed (the SQL is what
sqlite-utils generated then, so old and new files are alike), with ``IF NOT EXISTS`` everywhere: on
a file made by older code it only adds what is missing (``seen_urls.first_seen`` and its index were
added by hand back then). Settings read: none.
"""

from __future__ import annotations

import sqlite3

from crawler.migrations import Migration, Schema, column_names, execute_script

_TABLES = """
CREATE TABLE IF NOT EXISTS "articles" (
   "id" INTEGER PRIMARY KEY,
   "url" TEXT NOT NULL,
   "source" TEXT NOT NULL,
   "title" TEXT NOT NULL,
   "text" TEXT,
   "summary" TEXT,
   "published" TEXT,
   "fetched_at" TEXT,
   "authors" TEXT,
   "language" TEXT,
   "image" TEXT,
   "extracted" INTEGER,
   "tags" TEXT,
   "fingerprint" TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS "idx_articles_url"
    ON "articles" ("url");
CREATE INDEX IF NOT EXISTS "idx_articles_fingerprint"
    ON "articles" ("fingerprint");
CREATE TABLE IF NOT EXISTS "seen_urls" (
   "url" TEXT PRIMARY KEY,
   "source" TEXT,
   "first_seen" TEXT
);
CREATE TABLE IF NOT EXISTS "sources" (
   "name" TEXT PRIMARY KEY,
   "url" TEXT,
   "kind" TEXT,
   "etag" TEXT,
   "last_modified" TEXT,
   "body_hash" TEXT,
   "last_attempt" TEXT,
   "last_success" TEXT,
   "last_status" INTEGER,
   "consecutive_failures" INTEGER DEFAULT 0,
   "failing_since" TEXT,
   "error_class" TEXT,
   "error" TEXT,
   "articles_total" INTEGER DEFAULT 0
);
"""

_FTS = """
CREATE VIRTUAL TABLE IF NOT EXISTS "articles_fts" USING FTS5 (
    "title", "text",
    tokenize='unicode61',
    content="articles"
);
CREATE TRIGGER IF NOT EXISTS "articles_ai" AFTER INSERT ON "articles" BEGIN
  INSERT INTO "articles_fts" (rowid, "title", "text") VALUES (new.rowid, new."title", new."text");
END;
CREATE TRIGGER IF NOT EXISTS "articles_ad" AFTER DELETE ON "articles" BEGIN
  INSERT INTO "articles_fts" ("articles_fts", rowid, "title", "text")
    VALUES('delete', old.rowid, old."title", old."text");
END;
CREATE TRIGGER IF NOT EXISTS "articles_au" AFTER UPDATE ON "articles" BEGIN
  INSERT INTO "articles_fts" ("articles_fts", rowid, "title", "text")
    VALUES('delete', old.rowid, old."title", old."text");
  INSERT INTO "articles_fts" (rowid, "title", "text") VALUES (new.rowid, new."title", new."text");
END;
"""


def _initial(conn: sqlite3.Connection) -> None:
    had_fts = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'articles_fts'").fetchone() is not None
    execute_script(conn, _TABLES)
    if "first_seen" not in column_names(conn, "seen_urls"):  # a file older than the seen-URL expiry
        conn.execute('ALTER TABLE "seen_urls" ADD COLUMN "first_seen" TEXT')
    conn.execute('CREATE INDEX IF NOT EXISTS "seen_urls_first_seen"\n    ON "seen_urls" ("first_seen")')
    execute_script(conn, _FTS)
    if not had_fts:  # an index created beside existing articles starts empty: fill it from them
        conn.execute("INSERT INTO articles_fts (articles_fts) VALUES ('rebuild')")


def _source_rhythm(conn: sqlite3.Connection) -> None:
    # When a source last brought a new article (for "gone quiet") and when it was switched off after
    # failing too long (for "disabled"); crawler.source_states reads both.
    conn.execute('ALTER TABLE "sources" ADD COLUMN "last_new_article" TEXT')
    conn.execute('ALTER TABLE "sources" ADD COLUMN "disabled_at" TEXT')


def _source_entries(conn: sqlite3.Connection) -> None:
    # How many entries the source's index listed the last time it was read and parsed (NULL: not read
    # since this column exists), so a feed that answers 200 with no items shows as "empty", not "ok".
    conn.execute('ALTER TABLE "sources" ADD COLUMN "last_entries" INTEGER')


def _source_empty_since(conn: sqlite3.Connection) -> None:
    # When the source's index first listed no entries in the run of empty reads that goes on now (NULL
    # while it lists some, or before this column existed), so an empty source is reported once it has
    # stayed empty for as long as a failing one would be, not on one empty read.
    conn.execute('ALTER TABLE "sources" ADD COLUMN "empty_since" TEXT')


CRAWLER_SCHEMA = Schema("crawler", (
    Migration(1, "articles with FTS5, seen_urls, sources (accepts a file made before versions)", _initial),
    Migration(2, "sources.last_new_article and sources.disabled_at (source states)", _source_rhythm),
    Migration(3, "sources.last_entries (the empty source state)", _source_entries),
    Migration(4, "sources.empty_since (notices about empty sources)", _source_empty_since),
))
