"""Record what ``newswatch match --json`` says about every shared document, to compare two versions.

Why: a refactor that claims "behaviour identical" must show it on real text. This script feeds every
headline file of ``../shared/corpus/news`` (through ``--jsonl``), every page of
``../shared/corpus/pages`` (``.html``, ``.html.gz``, ``.txt``) and the seed story to one
``newswatch`` executable, and writes all the JSON it printed, each block under the name of its
input, to one file. Run it once with the old version's executable and once with the new one, then
``cmp`` the two files (or pass ``--against OLD_OUTPUT``, which does it and prints the first
difference).

Usage::

    python bench/compare_match.py --newswatch /path/to/old/.venv/bin/newswatch --out /tmp/before.txt
    python bench/compare_match.py --out /tmp/after.txt --against /tmp/before.txt

Both runs use this checkout's ``config.yaml`` unless ``--config`` says otherwise, so only the code
differs between them.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
PAGE_SUFFIXES = (".html", ".htm", ".html.gz", ".txt")


def documents(shared: Path) -> tuple[list[Path], list[Path]]:
    """The headline files (JSON Lines with text) and the single documents, in a stable order."""
    news = sorted(
        path
        for path in (shared / "corpus" / "news").glob("*.jsonl")
        if path.name != "labels-dev.jsonl"  # ids and labels only, no text
    )
    pages = sorted(
        path
        for path in (shared / "corpus" / "pages").rglob("*")
        if path.is_file() and path.name.endswith(PAGE_SUFFIXES)
    )
    pages += sorted((shared / "seed").glob("*.txt"))
    return news, pages


def run(command: list[str]) -> bytes:
    """Run one match and return its standard output; a failure is recorded, not raised."""
    done = subprocess.run(command, capture_output=True, check=False)
    return done.stdout + f"\n[exit {done.returncode}]\n".encode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--newswatch", default=str(ROOT / ".venv" / "bin" / "newswatch"))
    parser.add_argument("--config", default=str(ROOT / "config.yaml"))
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--against", type=Path, help="an earlier output to compare with")
    args = parser.parse_args()
    if not SHARED.is_dir():
        print(f"skipped: {SHARED} is absent (the shared corpus sits beside the project)")
        return 0
    news, pages = documents(SHARED)
    base = [args.newswatch, "match", "--config", args.config]
    lines = 0
    with args.out.open("wb") as out:
        for path in news:
            out.write(f"== {path.relative_to(SHARED)}\n".encode())
            output = run([*base, "--jsonl", str(path)])
            lines += output.count(b"\n") - 1
            out.write(output)
        for path in pages:
            out.write(f"== {path.relative_to(SHARED)}\n".encode())
            out.write(run([*base, "--json", str(path)]))
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(
        f"{lines} headlines from {len(news)} files and {len(pages)} documents matched; "
        f"sha256 {digest} -> {args.out}"
    )
    if args.against is None:
        return 0
    old = args.against.read_bytes().splitlines()
    new = args.out.read_bytes().splitlines()
    for number, (before, after) in enumerate(zip(old, new, strict=False), start=1):
        if before != after:
            print(f"DIFFERENT at line {number}:\n  before: {before[:300]!r}\n  after:  {after[:300]!r}")
            return 1
    if len(old) != len(new):
        print(f"DIFFERENT: {len(old)} lines before, {len(new)} after")
        return 1
    print(f"IDENTICAL: {len(new)} lines byte for byte")
    return 0


if __name__ == "__main__":
    sys.exit(main())
