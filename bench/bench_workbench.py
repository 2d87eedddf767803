"""Benchmark the workbench on a big store: the story list, a search, a deep page and a story page,
through the app (uvicorn on 127.0.0.1, HTTP) against the same queries on the raw tables, in one run.

Fills a fresh SQLite file with `--stories` stories (100,000 by default), one article each (with
the FTS5 index kept by its triggers), matches with evidence, story_articles and an outbox row for a
tenth of them — bulk inserts through the real tables (crawler.store and alerts.store create them).
Then times, `--repeat` times each:

- list:   GET /stories                               vs  SELECT … ORDER BY last_seen DESC, id DESC LIMIT 51
- deep:   GET /stories?after=<key near the end>      vs  the same keyset query on the raw table
- filter: GET /stories?watchlist=arms&state=alerted  vs  the same filtered query on the raw table
- search: GET /stories?q=<rare word>, search2: a word in most articles
                                                     vs  SELECT rowid FROM articles_fts WHERE … MATCH … LIMIT 51
- story:  GET /stories/<random id>                   vs  the story row and its articles

and prints the median and p95 of each in milliseconds, with the ratio app/raw (the app's share is
HTTP, templates and the page's extra queries). Asserts the row counts it expects.

    .venv/bin/python bench/bench_workbench.py [--stories 100000] [--repeat 30]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests

from scheduler.schema import open_store
from scheduler.web.server import WebServer
from scheduler.web.settings import WebSettings

WORDS = ["coast", "guard", "shoal", "navy", "frigate", "vessel", "island", "reef", "patrol", "minister", "talks",
         "export", "deal", "missile", "drill", "exercise", "fishermen", "ambassador", "protest", "sanctions",
         "border", "tariff", "summit"]
SOURCES = ("rappler", "inquirer", "scmp", "japantoday", "cna", "kyodo", "vnexpress", "yonhap")


def fill(path: Path, count: int, seed: int = 7) -> None:
    db = open_store(path)
    rng = random.Random(seed)
    conn = db.conn
    start = time.perf_counter()
    with conn:
        for first in range(1, count + 1, 5000):
            ids = range(first, min(count, first + 4999) + 1)
            articles, stories, members, matches, outbox = [], [], [], [], []
            for i in ids:
                words = rng.sample(WORDS, 8)
                title = f"Story {i}: {' '.join(words[:5])}"
                text = " ".join(rng.choice(WORDS) for _ in range(60)) + f" marker{i % 1000}."
                seen = f"2026-{1 + i * 11 // count:02d}-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00+00:00"
                source = SOURCES[i % len(SOURCES)]
                articles.append((i, f"https://{source}.example/{i}", source, title, text, "", seen, seen,
                                 "en" if i % 5 else "ja", 1))
                stories.append((i, title, f"https://{source}.example/{i}", source, i, seen, seen, seen, seen,
                                json.dumps([source])))
                members.append((i, i, 1.0, "new", seen))
                watchlist = "maritime" if i % 3 else "arms"
                evidence = [{"rule": "places", "term": words[0], "entity": None, "field": "title",
                             "sentence": title, "weight": 2.0}]
                matches.append((i, watchlist, i, 2.0 + i % 5, 1.0, '["places"]', json.dumps(evidence), "", seen))
                if i % 10 == 0:
                    outbox.append((i, "hook", json.dumps([watchlist]), i, seen, f"nw-bench-{i}", seen))
            conn.executemany("INSERT INTO articles (id, url, source, title, text, summary, published, fetched_at, "
                             "language, extracted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", articles)
            conn.executemany("INSERT INTO stories (id, title, url, source, first_article_id, published, "
                             "last_published, first_seen, last_seen, article_count, outlets) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)", stories)
            conn.executemany("INSERT INTO story_articles (article_id, story_id, similarity, via, joined_at) "
                             "VALUES (?, ?, ?, ?, ?)", members)
            conn.executemany("INSERT INTO matches (article_id, watchlist, story_id, score, threshold, rules, "
                             "evidence, reason, matched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", matches)
            for story_id, target, names, article_id, seen, key, created in outbox:
                cursor = conn.execute(
                    "INSERT INTO outbox (story_id, target, kind, watchlists, article_id, status, attempts, "
                    "next_attempt_at, idempotency_key, created_at) VALUES (?, ?, 'alert', ?, ?, 'delivered', 1, "
                    "?, ?, ?)", [story_id, target, names, article_id, seen, key, created])
                conn.execute("INSERT INTO story_alerts (story_id, watchlist, target, outbox_id, created_at) "
                             "VALUES (?, ?, ?, ?, ?)", [story_id, json.loads(names)[0], target, cursor.lastrowid,
                                                        created])
    conn.execute("ANALYZE")
    conn.close()
    print(f"filled {count:,} stories in {time.perf_counter() - start:.1f}s")


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    fn()  # warm
    samples = []
    for _ in range(repeat):
        begin = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - begin) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.95))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        fill(path, args.stories)
        raw = sqlite3.connect(path)
        server = WebServer(path, WebSettings(port=0))
        server.start()
        deadline = time.monotonic() + 60
        while server.port() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{server.port()}"
        http = requests.Session()
        rng = random.Random(1)
        deep = raw.execute("SELECT last_seen, id FROM stories ORDER BY last_seen, id LIMIT 1 OFFSET 60").fetchone()
        deep_key = f"{deep[0]}~{deep[1]}"

        def page(url: str, rows: int) -> Callable[[], object]:
            def get() -> None:
                response = http.get(base + url, timeout=60)
                assert response.status_code == 200, (url, response.status_code)
                found = len(re.findall('class="story-link"', response.text))
                assert found == rows, (url, found, rows)
            return get

        def story() -> None:
            story_id = rng.randint(1, args.stories)
            response = http.get(f"{base}/stories/{story_id}", timeout=60)
            assert response.status_code == 200 and "<mark>" in response.text

        listing = "SELECT id, title, url, last_seen, article_count, outlets FROM stories s "
        order = " ORDER BY s.last_seen DESC, s.id DESC LIMIT 51"
        cases = [
            ("list", page("/stories", 50), lambda: raw.execute(listing + order).fetchall()),
            ("deep", page(f"/stories?after={deep_key}", 50),
             lambda: raw.execute(listing + "WHERE s.last_seen <= ? AND (s.last_seen < ? OR s.id < ?)" + order,
                                 [deep[0], deep[0], deep[1]]).fetchall()),
            ("filter", page("/stories?watchlist=arms&state=alerted", 50),
             lambda: raw.execute(listing + "WHERE EXISTS (SELECT 1 FROM matches m WHERE m.story_id = s.id AND "
                                 "m.watchlist = 'arms') AND EXISTS (SELECT 1 FROM story_alerts sa JOIN outbox o ON "
                                 "o.id = sa.outbox_id WHERE sa.story_id = s.id AND o.status = 'delivered')" + order)
             .fetchall()),
            ("search", page("/stories?q=marker417", min(50, args.stories // 1000)),
             lambda: raw.execute("SELECT rowid FROM articles_fts WHERE articles_fts MATCH '\"marker417\"' "
                                 "LIMIT 51").fetchall()),
            ("search2", page("/stories?q=reef", 50),  # a word in most articles
             lambda: raw.execute("SELECT rowid FROM articles_fts WHERE articles_fts MATCH '\"reef\"' "
                                 "LIMIT 51").fetchall()),
            ("story", story,
             lambda: (raw.execute("SELECT * FROM stories WHERE id = ?", [rng.randint(1, args.stories)]).fetchall(),
                      raw.execute("SELECT a.* FROM story_articles sa JOIN articles a ON a.id = sa.article_id "
                                  "WHERE sa.story_id = ?", [rng.randint(1, args.stories)]).fetchall())),
        ]
        print(f"{'query':8} {'app median':>11} {'app p95':>9} {'raw median':>11} {'raw p95':>9} {'ratio':>7}")
        for name, app_fn, raw_fn in cases:
            app_med, app_p95 = timed(app_fn, args.repeat)
            raw_med, raw_p95 = timed(raw_fn, args.repeat)
            print(f"{name:8} {app_med:9.1f}ms {app_p95:7.1f}ms {raw_med:9.2f}ms {raw_p95:7.2f}ms "
                  f"{app_med / max(raw_med, 1e-3):6.0f}x")
        server.stop()
        raw.close()


if __name__ == "__main__":
    main()
