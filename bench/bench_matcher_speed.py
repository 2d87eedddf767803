"""Matcher speed: articles per second on one core, beside a naive per-term regex loop.

Builds ~5 KB articles by joining real headlines and teasers from ../shared/corpus/news (deterministic),
then times, in the same run:

1. the default watchlists of config.yaml (compiled matcher, title + lead + body);
2. a synthetic watchlist of 10,000 terms (words and phrases drawn from the corpus vocabulary);
3. the naive way for both: one compiled case-free regex per term, searched in turn.

For the default watchlists it also prints where the time goes per article: normalising the three
fields, finding hits (Aho-Corasick pass and boundary checks), and evaluating rules, exclusions and
evidence (the rest of ``match``), each the best of the runs.

It also checks the counts it expects (same number of matched articles on every repetition, every
synthetic term compiled), so a silent breakage shows up as an error rather than a fast figure.

    .venv/bin/python bench/bench_matcher_speed.py [--articles 2000]

Settings read: ``watchlists`` and ``gazetteer`` of config.yaml.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from alerts.gazetteer import load_gazetteer  # noqa: E402
from alerts.matcher import Matcher, compile_matcher  # noqa: E402
from alerts.models import Document  # noqa: E402
from alerts.normalize import normalize  # noqa: E402
from alerts.watchlist import parse_watchlists  # noqa: E402

NEWS = ROOT.parent / "shared" / "corpus" / "news"
SEED = 20240617


def build_articles(count: int, size: int = 5000) -> list[Document]:
    """Deterministic ~``size``-character articles made of corpus headlines and teasers."""
    rows = []
    for path in sorted(NEWS.glob("*.jsonl")):
        if path.name.startswith("labels"):
            continue
        rows.extend(json.loads(line) for line in path.read_text(encoding="utf-8").splitlines())
    rng = random.Random(SEED)
    docs = []
    for _ in range(count):
        head = rng.choice(rows)
        parts: list[str] = []
        length = 0
        while length < size:
            row = rng.choice(rows)
            para = f"{row['title']}. {row.get('text') or ''}".strip()
            parts.append(para)
            length += len(para) + 2
        body = "\n\n".join(parts)[:size]
        docs.append(Document(title=head["title"], lead=head.get("text") or "", body=body))
    return docs


def synthetic_terms(docs: list[Document], count: int = 10_000) -> list[str]:
    """``count`` distinct words and two-word phrases from the articles' vocabulary."""
    words = sorted({w.lower() for d in docs[:300] for w in re.findall(r"[A-Za-z]{4,}", d.body)})
    rng = random.Random(SEED)
    terms: set[str] = set()
    while len(terms) < count:
        a = rng.choice(words)
        terms.add(a if rng.random() < 0.6 else f"{a} {rng.choice(words)}")
    return sorted(terms)


def time_matcher(matcher: Matcher, docs: list[Document], repeat: int) -> tuple[float, int]:
    """Best articles/s over ``repeat`` runs, and the number of (article, watchlist) matches."""
    best = 0.0
    counts = set()
    for _ in range(repeat):
        start = time.perf_counter()
        n = sum(m.matched for d in docs for m in matcher.match(d))
        best = max(best, len(docs) / (time.perf_counter() - start))
        counts.add(n)
    if len(counts) != 1:
        raise SystemExit(f"matcher gave different counts on repeated runs: {counts}")
    return best, counts.pop()


def time_stages(matcher: Matcher, docs: list[Document], repeat: int) -> tuple[float, float, float]:
    """Microseconds per article to normalise, to find hits and to evaluate (best of ``repeat`` runs).

    Three passes (normalise; normalise and find; the whole ``match``), so the stages are differences.
    """

    def normalise_only() -> None:
        for d in docs:
            [normalize(d.title), normalize(d.lead), normalize(d.body)]

    def normalise_and_find() -> None:
        for d in docs:
            matcher._find([normalize(d.title), normalize(d.lead), normalize(d.body)])

    def whole() -> None:
        for d in docs:
            matcher.match(d)

    best = []
    for run in (normalise_only, normalise_and_find, whole):
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        best.append(min(times) / len(docs) * 1e6)
    norm, found, total = best
    return norm, max(0.0, found - norm), max(0.0, total - found)


def time_regex(terms: list[str], docs: list[Document]) -> float:
    """Articles/s of the naive way: one compiled regex per term, searched in turn."""
    patterns = [re.compile(r"\b" + re.escape(t).replace(r"\ ", r"\s+") + r"\b", re.I) for t in terms]
    start = time.perf_counter()
    for d in docs:
        text = f"{d.title}\n{d.lead}\n{d.body}"
        for p in patterns:
            p.search(text)
    return len(docs) / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    if not NEWS.exists():
        print(f"corpus not found at {NEWS}", file=sys.stderr)
        return 2
    docs = build_articles(args.articles)
    avg = sum(len(d.title) + len(d.lead) + len(d.body) for d in docs) / len(docs)
    print(f"{len(docs)} articles, {avg / 1000:.1f} KB on average, best of {args.repeat} runs, one core\n")

    raw = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    specs = parse_watchlists(raw.get("watchlists") or [])
    gazetteer = load_gazetteer(raw.get("gazetteer") or [])
    start = time.perf_counter()
    default = compile_matcher(specs, gazetteer)
    compile_default = time.perf_counter() - start
    rate, matched = time_matcher(default, docs, args.repeat)
    default_terms = [p.label for p in default._patterns]  # the same terms, for the regex loop
    sample = docs[: max(50, len(docs) // 20)]
    naive = time_regex(default_terms, sample)
    print(
        f"default watchlists ({default.pattern_count} terms/aliases, "
        f"compiled in {compile_default * 1000:.0f} ms)"
    )
    print(f"  matcher      {rate:10,.0f} articles/s   ({matched} watchlist matches)")
    print(f"  regex loop   {naive:10,.0f} articles/s")
    print(
        f"  ratio        {rate / naive:10.1f}x      target >= 5,000 articles/s: "
        f"{'ok' if rate >= 5000 else 'MISSED'}"
    )
    norm_us, find_us, eval_us = time_stages(default, docs, args.repeat)
    print(
        f"  per article  normalise {norm_us:.0f} us, find hits {find_us:.0f} us, "
        f"evaluate {eval_us:.0f} us (rules, exclusions, evidence)"
    )

    terms = synthetic_terms(docs)
    big_raw = [
        {"name": "synthetic", "targets": [], "threshold": 1, "rules": [{"name": "any-term", "any": terms}]}
    ]
    start = time.perf_counter()
    big = compile_matcher(parse_watchlists(big_raw), gazetteer)
    compile_big = time.perf_counter() - start
    if big.pattern_count != len(terms):
        raise SystemExit(f"expected {len(terms)} compiled terms, got {big.pattern_count}")
    rate_big, matched_big = time_matcher(big, docs, args.repeat)
    naive_big = time_regex(terms, docs[:20])
    print(f"\n10,000 synthetic terms (compiled in {compile_big * 1000:.0f} ms)")
    print(f"  matcher      {rate_big:10,.0f} articles/s   ({matched_big} matches)")
    print(f"  regex loop   {naive_big:10,.1f} articles/s")
    print(
        f"  ratio        {rate_big / naive_big:10.0f}x      target >= 1,000 articles/s: "
        f"{'ok' if rate_big >= 1000 else 'MISSED'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
