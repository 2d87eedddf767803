"""Matcher speed of two checkouts: an older revision (its engine and its watchlists) against this one.

Why: ``bench_matcher_speed.py --against`` runs two configs on *this* checkout's engine, so it answers
"what do these watchlists cost?". It cannot answer "is the matcher we ship now slower than the one we
shipped then?" once the engine itself changed too. This script answers that: each side is a checkout
with its own built virtualenv (compiled with mypyc where the checkout does that), matching the same
articles with its own ``config.yaml``. Each measurement is a child process run by that checkout's
Python, importing ``alerts.match`` from that checkout only; the parent alternates the two sides
(``--rounds``, and which side goes first alternates too) and each child reports the process CPU time of
its matching passes, so load from other work on a shared machine hits both sides alike.

Set up the older side once, then run::

    git worktree add --detach /tmp/nw-before f94074d
    (cd /tmp/nw-before && python3 -m venv .venv && .venv/bin/pip install -q -e .)
    .venv/bin/python bench/bench_matcher_builds.py --before /tmp/nw-before [--real-pages]

It prints each round's articles per CPU second on both sides and the after/before ratio, then the
median ratio, and the ratio of each side's best round. Why both: on this shared VM one process can run
a third slower than the next on the same build (2026-12-06: one checkout gave 1,343-2,337 articles/s over
seven rounds with the machine otherwise idle, unrelated to the hash seed), so a round's ratio mixes the
two sides' luck. Disturbance only ever slows a run down, so each side's fastest round is its least
disturbed one, and the ratio of the two bests is the steadier figure; the median says how often the
newer side loses. The number of matched (article, watchlist) pairs is printed per side and must not vary
between rounds (an error otherwise): different watchlists may match differently, the same one may not.

With ``--instructions`` it counts instead of timing: each side matches the articles once under
valgrind's callgrind, which counts the machine instructions executed inside ``Matcher.match`` (the
compiled function, so both sides need the mypyc build; ``apt-get install valgrind``). Why: on a shared
VM the timed ratio of one pair of builds ranged 0.62-1.04 within one run, while an instruction count is
the same on every run (hash seed fixed). It is not time: a bigger automaton or working set can cost
cache misses that instructions do not show (callgrind's cache model found no last-level misses here,
but the timed ratio stayed below the instruction ratio), so report both. One side takes a few minutes.

Settings read: ``watchlists`` and ``gazetteer`` of each side's ``config.yaml`` (or ``--before-config``
and ``--config``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WARM_UP = 50  # articles matched before the measured passes
# The compiled ``Matcher.match`` (mypyc names a method CPyDef_<module>___<class>___<method>).
MATCH_SYMBOL = "CPyDef_matcher___Matcher___match"


def child(root: Path, config: Path, docs_file: Path, passes: int) -> int:
    """Match the articles ``passes`` times with ``root``'s engine and config; print CPU seconds as JSON.

    Only ``root`` is put on the import path, so the engine measured is that checkout's, whatever
    checkout this script file lives in.
    """
    sys.path.insert(0, str(root))
    import yaml

    from alerts.match import compiled
    from alerts.match.gazetteer import load_gazetteer
    from alerts.match.matcher import compile_matcher
    from alerts.match.models import Document
    from alerts.match.watchlist import parse_watchlists

    engine = Path(compiled.__file__).resolve()
    if root.resolve() not in engine.parents:
        raise SystemExit(f"imported alerts.match from {engine}, not from {root}")
    raw = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    matcher = compile_matcher(parse_watchlists(raw.get("watchlists") or []), load_gazetteer(raw.get("gazetteer") or []))
    rows = json.loads(docs_file.read_text(encoding="utf-8"))
    docs = [Document(title=r[0], lead=r[1], body=r[2]) for r in rows]
    warm = docs[:WARM_UP]
    sum(m.matched for d in warm for m in matcher.match(d))  # warm caches outside the timed passes
    start = time.process_time()
    counts = {sum(m.matched for d in docs for m in matcher.match(d)) for _ in range(passes)}
    cpu = time.process_time() - start
    if len(counts) != 1:
        raise SystemExit(f"different match counts on repeated passes: {sorted(counts)}")
    print(json.dumps({"cpu": cpu, "articles": len(docs) * passes, "warm": len(warm), "matches": counts.pop(),
                      "build": compiled.BUILD}))
    return 0


def run_side(python: Path, root: Path, config: Path, docs_file: Path, passes: int,
             count: bool = False) -> dict[str, Any]:
    """One child measurement; its JSON report (with ``count``, run under callgrind: plus ``instructions``)."""
    cmd = [str(python), __file__, "--child", str(root), "--config", str(config), "--docs", str(docs_file),
           "--passes", str(passes)]
    env = None
    with tempfile.TemporaryDirectory() as tmp:
        if count:
            cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/callgrind.out",
                   f"--toggle-collect={MATCH_SYMBOL}", *cmd]
            env = {**os.environ, "PYTHONHASHSEED": "0"}  # the same sets in the same order on every run
        done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=root, env=env)
    if done.returncode != 0:
        raise SystemExit(f"the measurement in {root} failed:\n{done.stderr.strip()[-3000:]}")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if count:
        found = re.search(r"Collected : (\d+)", done.stderr)
        if found is None or int(found.group(1)) == 0:
            raise SystemExit(f"callgrind counted nothing in {MATCH_SYMBOL} for {root}: is its build compiled?")
        report["instructions"] = int(found.group(1))
    return report


def count_instructions(sides: list[tuple[str, Path, Path, Path]], docs_file: Path) -> int:
    """Instructions per article inside ``Matcher.match`` on each side, once each; print them and the ratio."""
    if shutil.which("valgrind") is None:
        print("--instructions needs valgrind (apt-get install valgrind)", file=sys.stderr)
        return 2
    per_article = []
    for name, python, root, config in sides:
        report = run_side(python, root, config, docs_file, 1, count=True)
        per_article.append(report["instructions"] / (report["articles"] + report["warm"]))
        print(f"  {name:6}  {per_article[-1]:12,.0f} instructions/article  matches {report['matches']}  "
              f"build {report['build']}  ({root}, config {config})")
    print(f"after/before: articles per instruction {per_article[0] / per_article[1]:.3f}")
    return 0


def write_docs(real_pages: bool, articles: int, folder: Path) -> Path:
    """The articles both sides match, built by this checkout's bench_matcher_speed, as JSON rows."""
    sys.path.insert(0, str(ROOT / "bench"))
    import bench_matcher_speed as speed

    docs = speed.real_pages() if real_pages else speed.build_articles(articles)
    path = folder / "docs.json"
    path.write_text(json.dumps([[d.title, d.lead, d.body] for d in docs]), encoding="utf-8")
    return path


def compare(args: argparse.Namespace) -> int:
    """Alternate the two sides ``args.rounds`` times and print the rates and their ratio."""
    before_root: Path = args.before.resolve()
    sides = [
        ("before", args.before_python or before_root / ".venv" / "bin" / "python", before_root,
         args.before_config or before_root / "config.yaml"),
        ("after", Path(sys.executable), ROOT, args.config),
    ]
    for name, python, root, config in sides:
        for needed in (python, root / "alerts" / "match", config):
            if not needed.exists():
                print(f"{name}: {needed} not found (see the set-up in this script's docstring)", file=sys.stderr)
                return 2
    with tempfile.TemporaryDirectory() as tmp:
        docs_file = write_docs(args.real_pages, args.articles, Path(tmp))
        what = "real article pages" if args.real_pages else "dense 5 KB articles"
        if args.instructions:
            print(f"{what}, one pass per side under callgrind, instructions inside Matcher.match")
            return count_instructions(sides, docs_file)
        print(f"{what}, {args.passes} passes per measurement, {args.rounds} alternating rounds, CPU time")
        ratios: list[float] = []
        best = [0.0, 0.0]  # each side's fastest round
        counts: list[set[int]] = [set(), set()]
        builds = ["", ""]
        for i in range(args.rounds):
            order = [0, 1] if i % 2 == 0 else [1, 0]
            rates = [0.0, 0.0]
            for side in order:
                name, python, root, config = sides[side]
                report = run_side(python, root, config, docs_file, args.passes)
                rates[side] = report["articles"] / max(report["cpu"], 1e-9)
                counts[side].add(report["matches"])
                builds[side] = report["build"]
            ratios.append(rates[1] / rates[0])
            best = [max(best[0], rates[0]), max(best[1], rates[1])]
            print(f"  round {i + 1:2}: before {rates[0]:8,.0f}/s  after {rates[1]:8,.0f}/s  ratio {ratios[-1]:.3f}")
    for side in (0, 1):
        name, _, root, config = sides[side]
        print(f"  {name:6}  {root}  config {config}  build {builds[side]}  matches {sorted(counts[side])}")
    if any(len(c) != 1 for c in counts):
        raise SystemExit("a side gave different match counts between rounds")
    ratios.sort()
    print(f"after/before: median ratio {ratios[len(ratios) // 2]:.3f} (range {ratios[0]:.3f}-{ratios[-1]:.3f}); "
          f"best of each side {best[1]:,.0f}/s against {best[0]:,.0f}/s, ratio {best[1] / best[0]:.3f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--child", type=Path, metavar="ROOT", help=argparse.SUPPRESS)
    parser.add_argument("--docs", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--before", type=Path, metavar="CHECKOUT",
                        help="the older checkout, with its virtualenv in CHECKOUT/.venv")
    parser.add_argument("--before-python", type=Path,
                        help="the older side's Python (default CHECKOUT/.venv/bin/python)")
    parser.add_argument("--before-config", type=Path, help="the older side's config (default CHECKOUT/config.yaml)")
    parser.add_argument("--config", type=Path, default=ROOT / "config.yaml", help="this side's config")
    parser.add_argument("--articles", type=int, default=1000, help="dense articles to build (not with --real-pages)")
    parser.add_argument("--real-pages", action="store_true", help="the corpus's real article pages instead")
    parser.add_argument("--passes", type=int, default=2, help="matching passes per measurement")
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds")
    parser.add_argument("--instructions", action="store_true",
                        help="count instructions per article under valgrind instead of timing (deterministic)")
    args = parser.parse_args(argv)
    if args.child is not None:
        return child(args.child, args.config, args.docs, args.passes)
    if args.before is None:
        parser.error("--before CHECKOUT is required")
    return compare(args)


if __name__ == "__main__":
    sys.exit(main())
