"""A fixed corpus of news pages and feeds written for the ingest benchmarks (our own text,
seeded, so every run measures the same bytes), with the ground truth a reader sees: the
headline, the publication time and the article's paragraphs."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

COMPANIES = ["Northwind Traders", "Contoso Bank", "Fabrikam Energy", "Tailspin Airlines",
             "Wingtip Mining", "Adventure Works", "Litware Software", "Proseware Pharma"]
VERBS = ["rose", "fell", "jumped", "slid", "rallied", "tumbled", "edged higher", "edged lower"]
REASONS = ["after quarterly earnings beat estimates", "as the central bank held rates",
           "on a surprise guidance cut", "after a rival's takeover bid", "as oil prices climbed",
           "on news of a regulatory probe", "after a strong jobs report", "as bond yields eased"]
FILLER = ["Analysts said the move reflected", "Investors had expected", "The company said",
          "Traders pointed to", "A spokesperson declined to comment on", "Executives told analysts about",
          "Shares had lagged the broader market because of", "The board also approved",
          "Société Générale’s analysts pointed to"]
TAILS = ["weaker demand in Europe.", "a sharp rise in input costs.", "a new buyback programme.",
         "higher margins in its services unit.", "plans to cut costs by closing stores.",
         "a stronger dollar weighing on exports.", "record orders from Asian customers.",
         "the outcome of pending litigation.", "a €2bn “strategic” review."]


@dataclass(frozen=True)
class TruthPage:
    url: str
    html: bytes
    content_type: str
    title: str
    published: datetime
    paragraphs: list[str]


def _story(rng: random.Random) -> tuple[str, list[str]]:
    company = rng.choice(COMPANIES)
    title = f"{company} shares {rng.choice(VERBS)} {rng.choice(REASONS)}"
    paragraphs = [
        " ".join(f"{rng.choice(FILLER)} {rng.choice(TAILS)}" for _ in range(rng.randint(2, 4)))
        for _ in range(rng.randint(3, 7))
    ]
    verb = rng.choice(VERBS)
    day = rng.choice(['Monday', 'Tuesday', 'Thursday'])
    paragraphs[0] = f"{company} shares {verb} on {day}. " + paragraphs[0]
    return title, paragraphs


NAV = ("<nav><ul><li><a href='/'>Home</a></li><li><a href='/markets'>Markets</a></li>"
       "<li><a href='/tech'>Tech</a></li></ul></nav>")
FOOT = "<footer><p>© Example Media. Terms of use. Privacy policy. Cookie settings.</p></footer>"
RELATED = ("<aside class='related'><h3>Related</h3><ul>"
           "<li><a href='/x'>Markets wrap: stocks mixed</a></li>"
           "<li><a href='/y'>Currencies: dollar steady</a></li></ul></aside>")
COMMENTS = ("<section id='comments'><h3>Comments</h3><div class='comment'>Great analysis, thanks!</div>"
            "<div class='comment'>I sold last week.</div></section>")


def _template(kind: int, title: str, paras: list[str], when: datetime) -> tuple[str, str]:
    body = "".join(f"<p>{p}</p>" for p in paras)
    iso = when.isoformat().replace("+00:00", "Z")
    if kind == 0:
        head = (f"<title>{title} | Example Wire</title><meta property='og:title' content=\"{title}\">"
                f"<meta property='article:published_time' content='{iso}'>")
        main = f"<article><h1>{title}</h1>{body}</article>{RELATED}"
    elif kind == 1:
        ld = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle",
                         "headline": title, "datePublished": iso})
        head = (f"<title>{title} - Markets - Example Daily</title>"
                f"<script type='application/ld+json'>{ld}</script>")
        main = (f"<div class='story'><h1 class='headline'>{title}</h1>"
                f"<div class='story-body'>{body}</div></div>{COMMENTS}")
    elif kind == 2:
        local = when.astimezone(timezone(timedelta(hours=-4))).isoformat()  # New York summer time
        head = f"<title>{title} | Example Times</title>"
        main = (f"<main><h1>{title}</h1>"
                f"<p class='byline'>By Staff Writer <time datetime='{local}'>{when:%d %b %Y}</time></p>"
                f"<div class='article-content'>{body}</div></main>{RELATED}")
    else:
        modified = (when + timedelta(hours=3)).isoformat()
        head = (f"<title>{title} :: Example Ledger</title><meta property='article:modified_time' "
                f"content='{modified}'><meta name='date' content='{iso}'>")
        main = (f"<div id='content'><h1>{title}</h1><div class='text'>{body}</div></div>"
                "<div class='ad'>Advertisement: open an account today</div>")
    return head, main


def pages(n: int = 120, seed: int = 7) -> list[TruthPage]:
    rng = random.Random(seed)
    base = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
    out = []
    for i in range(n):
        title, paras = _story(rng)
        when = base + timedelta(minutes=37 * i)
        head, main = _template(i % 4, title, paras, when)
        html = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>{head}</head>"
                f"<body>{NAV}{main}{FOOT}</body></html>")
        encoding, ctype = ("utf-8", "text/html; charset=utf-8")
        if i % 5 == 4:  # some sites serve Windows-1252 and say nothing about it
            html = (html.replace("<meta charset='utf-8'>", "")
                    .replace("Example Media.", "Example Média — “news”."))
            encoding, ctype = "cp1252", "text/html"
        url = f"https://news{i % 4}.example.com/story/{i}"
        out.append(TruthPage(url, html.encode(encoding), ctype, title, when, paras))
    return out


def feeds(n_feeds: int = 20, items: int = 50, seed: int = 11) -> list[tuple[str, bytes, int]]:
    """RSS feeds (url, bytes, number of items)."""
    rng = random.Random(seed)
    base = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
    out = []
    for f in range(n_feeds):
        parts = ["<?xml version='1.0' encoding='utf-8'?>"
                 "<rss version='2.0'><channel><title>Example Wire</title>"]
        for i in range(items):
            title, paras = _story(rng)
            when = (base + timedelta(minutes=11 * i)).strftime("%a, %d %b %Y %H:%M:%S GMT")
            parts.append(f"<item><title>{title}</title><link>/story/{f}/{i}?utm_source=rss</link>"
                         f"<description>&lt;p&gt;{paras[0]}&lt;/p&gt;</description><pubDate>{when}</pubDate>"
                         f"<guid>{f}-{i}</guid></item>")
        parts.append("</channel></rss>")
        out.append((f"https://feeds{f}.example.com/rss.xml", "".join(parts).encode("utf-8"), items))
    return out
