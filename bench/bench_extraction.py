"""Extraction quality: body-text token F1 on the Zyte benchmark, newswatch beside plain trafilatura.

Usage: .venv/bin/python bench/bench_extraction.py [--corpus ../shared/corpus/extraction]

Prints, for the 181 pages of scrapinghub-article-extraction-benchmark, mean token precision, recall and
F1 of `trafilatura.extract(html)` (the baseline, measured in the same run) and of
`crawler.extract.extract_article`, the ratio, the title/date accuracy of both on the fundus pages
and their title/byline agreement with Mozilla Readability's expected metadata.
Tokens are lower-cased word characters, as in the benchmark's own evaluate.py. Exit status 1 when
newswatch's F1 is below the baseline's.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import trafilatura  # noqa: E402

from crawler.extract import extract_article  # noqa: E402

_TOKEN = re.compile(r"\w+")


def tokens(text: str) -> Counter[str]:
    return Counter(_TOKEN.findall((text or "").lower()))


def prf(predicted: str, truth: str) -> tuple[float, float, float]:
    pred, gold = tokens(predicted), tokens(truth)
    common = sum((pred & gold).values())
    if not pred or not gold:
        return (1.0, 1.0, 1.0) if pred == gold else (0.0, 0.0, 0.0)
    precision, recall = common / sum(pred.values()), common / sum(gold.values())
    f1 = 2 * precision * recall / (precision + recall) if common else 0.0
    return precision, recall, f1


def body_benchmark(folder: Path) -> dict[str, list[tuple[float, float, float]]]:
    truth = json.loads((folder / "ground-truth.json").read_text())
    scores: dict[str, list[tuple[float, float, float]]] = {"trafilatura.extract": [], "newswatch": []}
    timing = {name: 0.0 for name in scores}
    for page_id, record in sorted(truth.items()):
        html = gzip.decompress((folder / "html" / f"{page_id}.html.gz").read_bytes())
        started = time.perf_counter()
        baseline = trafilatura.extract(html, url=record.get("url")) or ""
        timing["trafilatura.extract"] += time.perf_counter() - started
        started = time.perf_counter()
        ours = extract_article(html, record.get("url") or "").text
        timing["newswatch"] += time.perf_counter() - started
        scores["trafilatura.extract"].append(prf(baseline, record["articleBody"]))
        scores["newswatch"].append(prf(ours, record["articleBody"]))
    for name, values in scores.items():
        p, r, f = (sum(v[i] for v in values) / len(values) for i in range(3))
        print(
            f"  {name:22s} precision {p:.3f}  recall {r:.3f}  F1 {f:.3f}  "
            f"({len(values)} pages, {1000 * timing[name] / len(values):.1f} ms/page)"
        )
    return scores


def fundus_titles_dates(folder: Path) -> None:
    hits = {"trafilatura": [0, 0], "newswatch": [0, 0]}
    total = 0
    for country in sorted(p for p in folder.iterdir() if p.is_dir()):
        meta = json.loads((country / "meta.info").read_text())
        for expected_file in sorted(country.glob("*.json")):
            expected = json.loads(expected_file.read_text())
            pages = sorted(country.glob(expected_file.stem + "_*.html.gz"))
            for version, page in zip(sorted(expected, key=lambda k: int(k[1:])), pages, strict=False):
                want = expected[version]
                html = gzip.decompress(page.read_bytes())
                url = meta[page.name]["url"]
                base = trafilatura.bare_extraction(html, url=url, with_metadata=True)
                ours = extract_article(html, url)
                total += 1
                norm = lambda s: re.sub(r"\s+", " ", s or "").strip()  # noqa: E731
                day = (want.get("publishing_date") or "")[:10]
                hits["trafilatura"][0] += norm(base.title if base else "") == norm(want["title"])
                hits["trafilatura"][1] += ((base.date if base else "") or "")[:10] == day
                hits["newswatch"][0] += norm(ours.title) == norm(want["title"])
                hits["newswatch"][1] += (ours.date or "")[:10] == day
    for name, (titles, dates) in hits.items():
        print(
            f"  {name:22s} title exact {titles}/{total} ({titles / total:.0%})  date (day) {dates}/{total} "
            f"({dates / total:.0%})"
        )


def _same(a: str | None, b: str | None) -> bool:
    return re.sub(r"\s+", " ", a or "").strip() == re.sub(r"\s+", " ", b or "").strip()


def readability_titles_bylines(folder: Path) -> None:
    """Exact title and byline agreement with Mozilla Readability's expected metadata (31 pages)."""
    hits = {"trafilatura": [0, 0, 0], "newswatch": [0, 0, 0]}  # titles, bylines, pages with a byline
    total = 0
    for page in sorted(p for p in folder.iterdir() if (p / "expected-metadata.json").exists()):
        want = json.loads((page / "expected-metadata.json").read_text(encoding="utf-8"))
        html = (page / "source.html").read_bytes()
        base = trafilatura.bare_extraction(html, with_metadata=True)
        ours = extract_article(html, "http://fakehost/test/page.html")
        total += 1
        byline = want.get("byline")
        hits["trafilatura"][0] += _same(base.title if base else "", want.get("title"))
        hits["newswatch"][0] += _same(ours.title, want.get("title"))
        if byline:
            for name, authors in (("trafilatura", (base.author if base else "") or ""),
                                  ("newswatch", "; ".join(ours.authors))):
                hits[name][2] += 1
                hits[name][1] += bool(authors) and (authors.lower() in byline.lower()
                                                    or byline.lower() in authors.lower())
    for name, (titles, bylines, with_byline) in hits.items():
        print(f"  {name:22s} title exact {titles}/{total} ({titles / total:.0%})  byline found "
              f"{bylines}/{with_byline}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus" / "extraction")
    args = parser.parse_args()
    zyte = args.corpus / "scrapinghub-article-extraction-benchmark"
    if not zyte.exists():
        print(f"corpus not found at {zyte}", file=sys.stderr)
        return 2
    print("Body text, token F1 (scrapinghub-article-extraction-benchmark):")
    scores = body_benchmark(zyte)
    f1 = {name: sum(v[2] for v in values) / len(values) for name, values in scores.items()}
    print(f"  ratio newswatch / baseline F1: {f1['newswatch'] / f1['trafilatura.extract']:.3f}")
    print("Title and date (fundus-test-data us/uk/ca):")
    fundus_titles_dates(args.corpus / "fundus-test-data")
    print("Title and byline (mozilla-readability-test-pages):")
    readability_titles_bylines(args.corpus / "mozilla-readability-test-pages")
    return 0 if f1["newswatch"] >= f1["trafilatura.extract"] else 1


if __name__ == "__main__":
    sys.exit(main())
