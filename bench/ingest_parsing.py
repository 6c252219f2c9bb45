"""Ingest parsing benchmark: throughput and extraction quality, ours beside a naive way.

    .venv/bin/python bench/ingest_parsing.py [--pages 120] [--feeds 20] [--items 50]

Parsers alone (no network) on a fixed corpus we write ourselves (bench/ingest_synthetic.py):
  - pages/s: ingest.extract.extract_page vs the naive way (regex the <title>, strip every tag,
    take the first ISO date in the document, decode as UTF-8);
  - feed items/s: ingest.feeds.parse_feed vs regexes over <item> elements;
  - quality on the pages: title exact-match rate, date correctness (the publication minute in
    UTC), and text precision / recall over word tokens against the article's paragraphs (what
    a reader sees as the story).
"""

from __future__ import annotations

import argparse
import html
import re
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ingest_synthetic import TruthPage, feeds, pages
from bench.machine import describe
from ingest.extract import extract_page
from ingest.feeds import parse_feed
from ingest.parse_errors import ParseError

WORD = re.compile(r"\w+")


def naive_page(body: bytes) -> tuple[str, str, datetime | None]:
    text = body.decode("utf-8", "replace")
    m = re.search(r"<title>(.*?)</title>", text, re.S)
    title = html.unescape(m.group(1)).strip() if m else ""
    body_text = re.sub(r"<[^>]+>", " ", text.split("<body", 1)[-1])
    d = re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:\d{2})?", text)
    when = None
    if d:
        try:
            when = datetime.fromisoformat(d.group(0).replace("Z", "+00:00"))
            when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
        except ValueError:
            when = None
    return title, html.unescape(" ".join(body_text.split())), when


def naive_feed(body: bytes) -> list[tuple[str, str]]:
    text = body.decode("utf-8", "replace")
    return [(re.search(r"<title>(.*?)</title>", it, re.S).group(1),
             re.search(r"<link>(.*?)</link>", it, re.S).group(1))
            for it in re.findall(r"<item>(.*?)</item>", text, re.S)]


def ours_page(p: TruthPage) -> tuple[str, str, datetime | None]:
    try:
        page = extract_page(p.html, url=p.url, content_type=p.content_type)
    except ParseError:
        return "", "", None
    return page.title, page.text, page.published


def rate(fn, items, min_s: float = 1.0) -> float:
    """Items per second of ``fn`` over ``items`` (repeated until ``min_s`` has passed)."""
    done, start = 0, time.perf_counter()
    while True:
        for it in items:
            done += fn(it)
        elapsed = time.perf_counter() - start
        if elapsed >= min_s:
            return done / elapsed


def quality(results: list[tuple[str, str, datetime | None]], corpus: list[TruthPage]) -> dict[str, float]:
    titles = dates = 0
    overlap = extracted = truth = 0
    for (title, text, when), page in zip(results, corpus, strict=True):
        titles += title == page.title
        dates += when is not None and when.replace(second=0, microsecond=0) == page.published
        got = Counter(WORD.findall(text.lower()))
        want = Counter(WORD.findall(" ".join(page.paragraphs).lower()))
        overlap += sum((got & want).values())
        extracted += sum(got.values())
        truth += sum(want.values())
    n = len(corpus)
    return {"title exact": titles / n, "date correct": dates / n,
            "text precision": overlap / max(extracted, 1), "text recall": overlap / max(truth, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=120)
    parser.add_argument("--feeds", type=int, default=20)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--min-seconds", type=float, default=2.0)
    args = parser.parse_args()
    print(f"machine: {describe()}", flush=True)

    corpus = pages(args.pages)
    feed_corpus = feeds(args.feeds, args.items)
    extract_page(corpus[0].html, url=corpus[0].url)  # warm-up: imports, lazy tables
    parse_feed(feed_corpus[0][1], url=feed_corpus[0][0])

    ours_pps = rate(lambda p: (ours_page(p), 1)[1], corpus, args.min_seconds)
    naive_pps = rate(lambda p: (naive_page(p.html), 1)[1], corpus, args.min_seconds)
    ours_ips = rate(lambda f: len(parse_feed(f[1], url=f[0]).items), feed_corpus, args.min_seconds)
    naive_ips = rate(lambda f: len(naive_feed(f[1])), feed_corpus, args.min_seconds)
    ours_q = quality([ours_page(p) for p in corpus], corpus)
    naive_q = quality([naive_page(p.html) for p in corpus], corpus)

    avg_kib = sum(len(p.html) for p in corpus) / len(corpus) / 1024
    print(f"corpus: {len(corpus)} pages ({avg_kib:.1f} KiB avg, "
          f"4 templates, 1 in 5 undeclared Windows-1252); {len(feed_corpus)} RSS feeds x {args.items} items")
    print(f"{'':24}{'finpulse':>12}{'naive':>12}{'ratio':>10}")
    print(f"{'pages/s':24}{ours_pps:12.1f}{naive_pps:12.1f}{ours_pps / naive_pps:10.3f}")
    print(f"{'feed items/s':24}{ours_ips:12.1f}{naive_ips:12.1f}{ours_ips / naive_ips:10.3f}")
    for key in ours_q:
        print(f"{key:24}{ours_q[key]:12.3f}{naive_q[key]:12.3f}")


if __name__ == "__main__":
    main()
