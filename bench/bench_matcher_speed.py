"""Matcher speed: articles per second on one core, beside a naive per-term regex loop.

Builds ~5 KB articles by joining real headlines and teasers from ../shared/corpus/news (deterministic),
then times, in the same run:

1. the default watchlists of config.yaml (compiled matcher, title + lead + body);
2. a synthetic watchlist of 10,000 terms (words and phrases drawn from the corpus vocabulary);
3. the naive way for both: one compiled case-free regex per term, searched in turn;
4. the same default-watchlist run with the pure-Python build of the matcher (a child process with
   ``NEWSWATCH_PURE_PYTHON=1``), when this one runs the mypyc-compiled build (see setup.py);
5. the automaton scan alone, ahocorasick_rs (which the matcher uses) beside pyahocorasick on the same
   keys, when pyahocorasick is installed.

For the default watchlists it also prints where the time goes per article: normalising the three
fields, finding hits (Aho-Corasick pass and boundary checks), and evaluating rules, exclusions and
evidence (the rest of ``match``), each the best of the runs.

It also checks the counts it expects (same number of matched articles on every repetition, every
synthetic term compiled), so a silent breakage shows up as an error rather than a fast figure.

    .venv/bin/python bench/bench_matcher_speed.py [--articles 2000]

Before and after a watchlist change, in one process so both see the same machine load::

    git show HEAD~1:config.yaml > /tmp/before.yaml
    .venv/bin/python bench/bench_matcher_speed.py --against /tmp/before.yaml [--config config.yaml]

(``--real-pages``: on the 354 real article pages of ../shared/corpus/pages and extraction, extracted
as the crawler extracts them, instead of the dense 5 KB articles built from headlines) times the two
configs' matchers on the same articles, alternating (``--rounds``, default 9) and on
process CPU time rather than wall time, and prints each round's ratio, their median and the best of
each; only the comparison is printed. Alternating and CPU time are there because this machine is often
shared: a burst of load then hits both sides of a round, not one configuration.

The first line says which build of the matcher ran (``alerts.match.compiled.BUILD``).

Settings read: ``watchlists`` and ``gazetteer`` of config.yaml.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from alerts.match import compiled  # noqa: E402
from alerts.match.gazetteer import load_gazetteer  # noqa: E402
from alerts.match.matcher import Matcher, _automaton, compile_matcher  # noqa: E402
from alerts.match.models import Document  # noqa: E402
from alerts.match.normalize import normalize  # noqa: E402
from alerts.match.watchlist import parse_watchlists  # noqa: E402

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


def time_scan(keys: list[str], docs: list[Document], repeat: int) -> tuple[float, float | None]:
    """Microseconds per article to scan the three folded fields: ahocorasick_rs, and pyahocorasick."""
    texts = [normalize(t).folded for d in docs for t in (d.title, d.lead, d.body)]
    rs = _automaton(keys)  # the matcher's own automaton kind, whatever it is
    assert rs is not None, "no keys to scan for"

    def scan_rs() -> int:
        return sum(len(rs.find_matches_as_indexes(t, overlapping=True)) for t in texts)

    scans = [scan_rs]
    try:
        import ahocorasick
    except ImportError:
        pass
    else:
        py = ahocorasick.Automaton()
        for i, key in enumerate(keys):
            py.add_word(key, i)
        py.make_automaton()

        def scan_py() -> int:
            return sum(1 for t in texts for _ in py.iter(t))

        scans.append(scan_py)
    out: list[float | None] = []
    counts = set()
    for scan in scans:
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            counts.add(scan())
            times.append(time.perf_counter() - start)
        out.append(min(times) / len(docs) * 1e6)
    if len(counts) != 1:
        raise SystemExit(f"the two automata found different numbers of matches: {counts}")
    return out[0] or 0.0, out[1] if len(out) > 1 else None


def pure_python_rate(args: argparse.Namespace) -> float | None:
    """Articles/s of the pure-Python build on the default watchlists, from a child process."""
    env = {**os.environ, "NEWSWATCH_PURE_PYTHON": "1"}
    cmd = [sys.executable, __file__, "--articles", str(args.articles), "--repeat", str(args.repeat), "--rate-only"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(done.stderr, file=sys.stderr)
        return None
    return float(json.loads(done.stdout)["rate"])


def default_matcher(config: Path = ROOT / "config.yaml") -> Matcher:
    raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    return compile_matcher(parse_watchlists(raw.get("watchlists") or []), load_gazetteer(raw.get("gazetteer") or []))


def real_pages() -> list[Document]:
    """The corpus's real article pages as the crawler matches them, three times over (about 1,000)."""
    sys.path.insert(0, str(ROOT / "bench"))
    from eval_watchlists import FULLTEXT, read_fulltext_file  # the page list and its extraction cache

    pages = read_fulltext_file(FULLTEXT).items
    return [Document(title=p.title, lead=p.text, body=p.body) for p in pages] * 3


def cpu_rate(matcher: Matcher, docs: list[Document]) -> tuple[float, int]:
    """Articles per CPU second of this process for one pass, and the number of matches."""
    start = time.process_time()
    n = sum(m.matched for d in docs for m in matcher.match(d))
    return len(docs) / max(time.process_time() - start, 1e-9), n


def compare(before: Path, after: Path, docs: list[Document], rounds: int) -> int:
    """Alternate the two configs' matchers ``rounds`` times; print rates and the after/before ratios."""
    old, new = default_matcher(before), default_matcher(after)
    print(f"matcher build: {compiled.BUILD}; {len(docs)} articles, {rounds} alternating rounds, CPU time")
    print(f"  before  {before}  ({old.pattern_count} terms/aliases)")
    print(f"  after   {after}  ({new.pattern_count} terms/aliases)")
    ratios: list[float] = []
    best = [0.0, 0.0]
    counts: list[set[int]] = [set(), set()]
    for i in range(rounds):
        # Alternate which side goes first, so a warm cache or a load burst does not favour one side.
        order = [(0, old), (1, new)] if i % 2 == 0 else [(1, new), (0, old)]
        rates = [0.0, 0.0]
        for side, matcher in order:
            rates[side], n = cpu_rate(matcher, docs)
            counts[side].add(n)
            best[side] = max(best[side], rates[side])
        ratios.append(rates[1] / rates[0])
        print(f"  round {i + 1:2}: before {rates[0]:8,.0f}/s  after {rates[1]:8,.0f}/s  ratio {ratios[-1]:.3f}")
    if any(len(c) != 1 for c in counts):
        raise SystemExit(f"a matcher gave different counts on repeated runs: {counts}")
    ratios.sort()
    median = ratios[len(ratios) // 2]
    print(f"after/before: median ratio {median:.3f}, best-of-each ratio {best[1] / best[0]:.3f} "
          f"(before {best[0]:,.0f}/s, after {best[1]:,.0f}/s; matches {counts[0].pop()} -> {counts[1].pop()})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rate-only", action="store_true", help=argparse.SUPPRESS)  # the child of item 4
    parser.add_argument("--against", type=Path, metavar="BEFORE.yaml",
                        help="compare with this config's watchlists (before a change) instead of the full report")
    parser.add_argument("--config", type=Path, default=ROOT / "config.yaml",
                        help="the config after the change, for --against (default: config.yaml)")
    parser.add_argument("--rounds", type=int, default=9, help="alternating rounds for --against")
    parser.add_argument("--real-pages", action="store_true",
                        help="with --against: time real article pages (title, description, extracted body)")
    args = parser.parse_args(argv)
    if not NEWS.exists():
        print(f"corpus not found at {NEWS}", file=sys.stderr)
        return 2
    if args.against is not None:
        pages = real_pages() if args.real_pages else build_articles(args.articles)
        return compare(args.against, args.config, pages, args.rounds)
    docs = build_articles(args.articles)
    if args.rate_only:
        rate, _ = time_matcher(default_matcher(), docs, args.repeat)
        print(json.dumps({"rate": rate, "build": compiled.BUILD}))
        return 0
    avg = sum(len(d.title) + len(d.lead) + len(d.body) for d in docs) / len(docs)
    print(f"matcher build: {compiled.BUILD}")
    print(f"{len(docs)} articles, {avg / 1000:.1f} KB on average, best of {args.repeat} runs, one core\n")

    raw = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    gazetteer = load_gazetteer(raw.get("gazetteer") or [])
    start = time.perf_counter()
    default = default_matcher()
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
    rs_us, py_us = time_scan(sorted({p.key for p in default._patterns}), docs, args.repeat)
    scan = f"  scan alone   ahocorasick_rs {rs_us:.0f} us/article"
    if py_us is None:
        scan += " (pyahocorasick not installed: `pip install pyahocorasick` to compare)"
    else:
        scan += f", pyahocorasick {py_us:.0f} us ({py_us / rs_us:.1f}x slower), same matches"
    print(scan)
    if compiled.BUILD.startswith("compiled"):
        pure = pure_python_rate(args)
        if pure is not None:
            print(f"  pure Python  {pure:10,.0f} articles/s   (compiled build {rate / pure:.2f}x faster)")

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
