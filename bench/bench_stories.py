"""Benchmark story grouping on real feed items: MinHash LSH against exact pairwise Jaccard.

Reads ../shared/corpus/news/rss_link_database_2023_asia.jsonl (SCMP, Japan Today, CNA entries, late
2023), groups the items in date order with `alerts.stories` (LSH over MinHash signatures) and with a
baseline that compares every item with every earlier item by exact Jaccard of the same shingles
within the same time window. Prints throughput, the speed ratio, how many joins the LSH finds of
those the exact baseline finds (recall) and how many it adds (precision against the baseline), and
samples of the groups for a person to judge. The baseline applies the same name check on title joins
(``stories.name_one_another_apart``); the pairs that check keeps apart in the full LSH run are listed.

    .venv/bin/python bench/bench_stories.py [--limit N]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alerts import stories

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "news"
CORPUS = CORPUS / "rss_link_database_2023_asia.jsonl"


def shingles(title: str, text: str) -> tuple[set[str], set[str]]:
    words = stories._tokens(title) + stories._tokens(text)[: stories.BODY_WORDS]
    bigrams = {f"{a} {b}" for a, b in itertools.pairwise(words)} or set(words)
    title_words = stories._tokens(title)
    return bigrams, set(title_words) if len(title_words) >= stories.TITLE_MIN_WORDS else set()


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def run_lsh(items: list[dict]) -> tuple[dict[int, int], float]:
    index = stories.StoryIndex()
    story_of: dict[int, int] = {}
    start = time.perf_counter()
    for i, item in enumerate(items):
        fp = stories.fingerprint(item["title"], item["text"])
        published = stories.parse_time(item.get("date"))
        found = index.find(fp, published)
        story_of[i] = found.story_id if found else i
        index.add(i, story_of[i], fp, published)
    return story_of, time.perf_counter() - start


def run_exact(items: list[dict]) -> tuple[dict[int, int], float]:
    story_of: dict[int, int] = {}
    sigs: list[tuple[set[str], set[str]]] = []
    named: list[stories.Fingerprint] = []
    latest: dict[int, object] = {}
    start = time.perf_counter()
    for i, item in enumerate(items):
        text_sh, title_sh = shingles(item["title"], item["text"])
        words, names = stories.title_names(item["title"])
        mine = stories.Fingerprint(None, None, words, names)
        published = stories.parse_time(item.get("date"))
        best, best_sim = None, 0.0
        for j, (other_text, other_title) in enumerate(sigs):
            sid = story_of[j]
            known = latest.get(sid)
            if published and known and abs(published - known) > stories.WINDOW:  # type: ignore[operator]
                continue
            apart = stories.name_one_another_apart(mine, named[j])
            for sim, threshold in ((jaccard(text_sh, other_text), stories.TEXT_THRESHOLD),
                                   (0.0 if apart else jaccard(title_sh, other_title), stories.TITLE_THRESHOLD)):
                if sim >= threshold and sim > best_sim:
                    best, best_sim = sid, sim
        story_of[i] = best if best is not None else i
        sigs.append((text_sh, title_sh))
        named.append(mine)
        if published:
            prev = latest.get(story_of[i])
            latest[story_of[i]] = published if prev is None else max(prev, published)  # type: ignore[type-var]
    return story_of, time.perf_counter() - start


def joined_pairs(story_of: dict[int, int]) -> set[tuple[int, int]]:
    groups: dict[int, list[int]] = {}
    for i, sid in story_of.items():
        groups.setdefault(sid, []).append(i)
    return {pair for members in groups.values() for pair in itertools.combinations(sorted(members), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=2000, help="items for the exact baseline (O(n²))")
    args = parser.parse_args()
    items = [json.loads(line) for line in CORPUS.open(encoding="utf-8")]
    items.sort(key=lambda r: r.get("date") or "")
    assert len(items) == 5866, f"corpus changed: {len(items)} items"

    full, full_time = run_lsh(items)
    groups = len(set(full.values()))
    print(f"LSH, all {len(items)} items: {len(items) / full_time:,.0f} items/s, {groups} stories, "
          f"{len(items) - groups} items joined a story")
    check = stories.name_one_another_apart
    stories.name_one_another_apart = lambda a, b: False  # type: ignore[assignment]
    try:
        unchecked, _ = run_lsh(items)
    finally:
        stories.name_one_another_apart = check
    kept_apart = joined_pairs(unchecked) - joined_pairs(full)
    print(f"pairs the name check keeps apart: {len(kept_apart)}")
    for a, b in sorted(kept_apart)[:10]:
        print(f"  {items[a]['title'][:75]}\n  {items[b]['title'][:75]}\n")

    subset = items[: args.limit]
    lsh, lsh_time = run_lsh(subset)
    exact, exact_time = run_exact(subset)
    lsh_pairs, exact_pairs = joined_pairs(lsh), joined_pairs(exact)
    common = lsh_pairs & exact_pairs
    print(f"first {len(subset)} items: LSH {len(subset) / lsh_time:,.0f} items/s, exact baseline "
          f"{len(subset) / exact_time:,.0f} items/s, speed ratio {exact_time / lsh_time:.1f}x")
    recall = len(common) / max(len(exact_pairs), 1)
    precision = len(common) / max(len(lsh_pairs), 1)
    print(f"joined pairs: exact {len(exact_pairs)}, LSH {len(lsh_pairs)}, agreement: recall "
          f"{recall:.2f}, precision {precision:.2f}")
    shown = 0
    members: dict[int, list[int]] = {}
    for i, sid in full.items():
        members.setdefault(sid, []).append(i)
    print("\nsample groups (judge by eye):")
    for group in members.values():
        if len(group) > 1 and shown < 12:
            shown += 1
            for i in group[:3]:
                print(f"  {items[i]['date'][:10]} {items[i]['url'][8:60]:52} {items[i]['title'][:70]}")
            print()


if __name__ == "__main__":
    main()
