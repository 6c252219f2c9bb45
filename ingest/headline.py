"""The headline a reader sees, chosen from every candidate a page offers.

Pages name themselves several times: the article's ``<h1>`` (or a heading marked as the
headline), ``og:title``, ``twitter:title``, JSON-LD ``headline`` and ``<title>``. Each may be
wrong in its own way: ``<title>`` and ``og:title`` carry the site's name ("… | DW"), ``og:title``
is often a teaser written for social media, and some templates put the site's logo, a
breadcrumb or a navigation label ("MENU") in the ``<h1>``. So every candidate has the site's
name stripped, navigation labels and site names are dropped, and the rest are scored by where
they come from (the visible heading first) and by how many other sources agree with them.

The site's name is learned from ``og:site_name``, ``application-name``, the JSON-LD publisher,
the host name and, through ``SiteNames``, from the parts that other pages of the same site
share in their ``<title>``.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from lxml import html as lxml_html

from ingest.text import clean_space

MAX_CHARS = 300
# Separators between a headline and the site's name in <title> and og:title.
_SEPARATORS = re.compile(r"\s+(?:[|\-–—:·•»«‹›/~]|::)\s+|\s*[|•»]\s*")
# The last "_", "--" or unspaced "-" before a title's final part: Chinese titles join the site's
# name on that way ("法国全国大罢工再次严重影响交通-新华网").
_TIGHT_SEPARATOR = re.compile(r"(?:_|--|——|(?<=\S)-(?=\S))(?=[^_\-—]*$)")
MAX_UNDERSCORE_TAIL = 12  # characters after a "_" that are the site's name or section, at most
# What a Chinese site's name ends with: …网 (site), …网站, …官网, …频道 (channel), …日报 (daily).
_CJK_SITE_NAME = re.compile(r"[\u4e00-\u9fff](?:网|网站|官网|频道|门户|日报|晚报|早报|时报|商报|电视台)$")
_WORD = re.compile(r"\w+", re.UNICODE)
_DATE_PART = re.compile(r"^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}$")
NAVIGATION = frozenset({
    "menu", "menü", "main menu", "navigation", "hauptmenü", "hauptnavigation", "search", "suche",
    "home", "startseite", "accueil", "login", "log in", "sign in", "anmelden", "skip to content",
    "zum inhalt springen", "thanks for visiting", "share", "teilen", "newsletter", "close",
    "schließen", "breadcrumb", "you are here", "sie sind hier", "related", "more", "mehr",
    "advertisement", "anzeige", "werbung", "cookie", "cookies", "site navigation", "news",
})
_BAD_CONTEXT = ("nav", "footer", "aside")
_BAD_CLASS = re.compile(r"breadcrumb|logo|brand|site-?title|site-?name|masthead|navbar|menu|widget|"
                        r"modal|popup|overlay|interstitial|cookie|consent",
                        re.I)
_GOOD_CLASS = re.compile(r"(?:^|[\s_-])(?:entry|post|article|story|page|news|content)[-_]?"
                         r"(?:title|headline|heading)|(?:^|\s)headline(?:\s|$)", re.I)
# Elements that may be marked as the headline: only those whose class could match _GOOD_CLASS
# are read (the XPath narrows a scan of every div, span and p to a few).
_LOWER = "translate(@class, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
_MARKED = ('//*[@itemprop="headline"][not(self::meta)] | '
           f'//*[self::h2 or self::h3 or self::div or self::span or self::p][contains({_LOWER}, "title")'
           f' or contains({_LOWER}, "headline") or contains({_LOWER}, "heading")]')
# A candidate's standing before agreement: the visible heading first.
PRIOR = {"h1": 5.0, "marked": 4.0, "ld": 2.0, "og": 1.5, "twitter": 1.2, "title": 1.0,
         "h2": 0.8}
DECLARED = frozenset({"og", "twitter", "title", "ld"})
# Four declared copies of one social-media teaser must not outvote the visible heading.
MAX_SUPPORT = 2.0
TIE_BREAK = 0.01
MAX_KICKER_WORDS = 4  # words a heading may put before a declared headline it shows


@dataclass(frozen=True)
class Candidate:
    kind: str
    text: str
    penalty: float = 0.0
    node: lxml_html.HtmlElement | None = field(default=None, compare=False, repr=False)


def words(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def _plain(text: str) -> str:
    return " ".join(words(text))


class SiteNames:
    """What a site calls itself, learned from the ``<title>``s of its pages: a title part that
    recurs on two or more pages of one host is the site's name there. Bounded (LRU by host);
    safe to share between threads."""

    def __init__(self, max_hosts: int = 5000) -> None:
        self._parts: OrderedDict[str, Counter[str]] = OrderedDict()
        self._max_hosts = max_hosts
        self._lock = threading.Lock()

    def learn(self, host: str, title: str | None) -> None:
        if not title:
            return
        parts = {_plain(p) for p in _SEPARATORS.split(title) if p.strip()}
        if len(parts) < 2:
            return
        with self._lock:
            counts = self._parts.setdefault(host, Counter())
            self._parts.move_to_end(host)
            counts.update(parts)
            if len(counts) > 200:  # keep the recurring parts only
                self._parts[host] = Counter(dict(counts.most_common(100)))
            while len(self._parts) > self._max_hosts:
                self._parts.popitem(last=False)

    def names(self, host: str) -> set[str]:
        with self._lock:
            counts = self._parts.get(host)
            return {part for part, n in counts.items() if n >= 2} if counts else set()


def _host_names(url: str) -> set[str]:
    host = (urlsplit(url).hostname or "").lower()
    labels = [x for x in host.split(".") if x not in ("www", "m", "blog", "de", "com", "org", "net")]
    names = {host, host.removeprefix("www.")}
    names.update(labels)
    names.update(" ".join(words(x)) for x in list(names))
    return {n for n in names if n}


def site_names(tree: lxml_html.HtmlElement, metas: dict[str, str], ld: list[dict], url: str,
               learned: SiteNames | None = None) -> set[str]:
    """The names the site goes by, as plain lower-case words."""
    found = {metas.get("og:site_name"), metas.get("application-name"), metas.get("twitter:site")}
    for item in ld:
        publisher = item.get("publisher")
        if isinstance(publisher, dict):
            found.add(publisher.get("name") if isinstance(publisher.get("name"), str) else None)
        if item.get("@type") in ("WebSite", "Organization") and isinstance(item.get("name"), str):
            found.add(item["name"])
    names = {_plain(x.lstrip("@")) for x in found if isinstance(x, str) and x.strip()}
    names |= _host_names(url)
    if learned is not None:
        names |= learned.names((urlsplit(url).hostname or "").lower())
    return {n for n in names if n}


GENERIC_PARTS = frozenset({"blog", "news", "home", "startseite", "magazin", "magazine", "aktuelles",
                           "actualités", "actualites", "nachrichten", "artikel", "article"})


def _is_site_part(part: str, names: set[str]) -> bool:
    plain = _plain(part)
    if not plain or _DATE_PART.match(part.strip()) or plain in GENERIC_PARTS:
        return True
    if plain in names:
        return True
    tokens = plain.split()
    for name in names:
        parts = name.split()
        if len(parts) >= 2 and len(tokens) <= len(parts) + 3 and all(
                any(t.startswith(p) for t in tokens) for p in parts):
            return True  # "CDU-Fraktion im Erfurter Stadtrat" for cdu-fraktion-erfurt.de
    squashed = plain.replace(" ", "")
    # "LDT" of ldt.de, "Spiegel" of spiegel online: a part no longer than a name and inside it
    return any(len(squashed) >= 2 and squashed in n.replace(" ", "").replace(".", "")
               for n in names)


def _is_title_site_part(part: str, names: set[str]) -> bool:
    """A part of a <title>: the site's name, or its name with an issue or a section ("DER
    SPIEGEL 52/2018"), which in a heading could be a headline."""
    tokens = _plain(part).split()
    return _is_site_part(part, names) or (len(tokens) <= 4 and any(
        len(n) >= 4 and " " not in n and "." not in n and n in tokens for n in names))


def _is_trailing_site_part(part: str, names: set[str]) -> bool:
    """A last part of a title that names the site: short and opening with the first word of
    the site's host or name ("… ‹ Wara Conservation Project" on wara-enforcement.org), or
    read as a Chinese site's name ("… - 山西省人民政府门户网站")."""
    tokens = _plain(part).split()
    return _is_title_site_part(part, names) or bool(_CJK_SITE_NAME.search(part.strip())) or (
        0 < len(tokens) <= 4 and len(tokens[0]) >= 4 and any(
            " " in n and n.split()[0] == tokens[0] for n in names))


def _strip_tight_site(text: str, names: set[str]) -> str:
    """``text`` less a site's name joined without spaces ("…_证券时报网", "…-新华网"), as
    Chinese titles write it; only a part that is a known name or reads as a site's name."""
    m = _TIGHT_SEPARATOR.search(text)
    if m is None:
        return text.strip()
    head, tail = text[:m.start()], text[m.end():]
    if not head.strip():
        return text.strip()
    if _is_trailing_site_part(tail, names):
        return head.strip()
    # An underscore is no headline's punctuation: what follows a short one is the site or its
    # section ("…_网易订阅").
    if m.group() == "_" and len(_plain(tail).replace(" ", "")) <= MAX_UNDERSCORE_TAIL:
        return head.strip()
    return text.strip()


def strip_site(text: str, names: set[str]) -> str:
    """``text`` less the leading or trailing parts that are the site's name (or a date)."""
    pieces = _SEPARATORS.split(text)
    if len(pieces) < 2:
        return _strip_tight_site(text, names)
    seps = _SEPARATORS.findall(text)
    start, end = 0, len(pieces)
    while end - start > 1 and _is_trailing_site_part(pieces[end - 1], names):
        end -= 1
    while end - start > 1 and _is_title_site_part(pieces[start], names):
        start += 1
    if (start, end) == (0, len(pieces)):
        return text.strip()
    out = pieces[start]
    for i in range(start + 1, end):
        out += seps[i - 1] + pieces[i]
    return out.strip()


def _context_penalty(node: lxml_html.HtmlElement, page_path: str) -> float:
    """How much the heading's place says it is not this page's headline."""
    penalty = 0.0
    for anc in node.iterancestors():
        tag = anc.tag if isinstance(anc.tag, str) else ""
        if tag in ("body", "html"):
            break  # their classes describe the whole page ("cookies-not-set"), not a widget
        if tag in _BAD_CONTEXT:
            penalty = max(penalty, 4.0)
        elif tag == "header" and not any(a.tag in ("article", "main") for a in anc.iterancestors()
                                         if isinstance(a.tag, str)):
            penalty = max(penalty, 1.0)
        if _BAD_CLASS.search(anc.get("class") or "") or _BAD_CLASS.search(anc.get("id") or ""):
            penalty = max(penalty, 3.0)
    if _BAD_CLASS.search(node.get("class") or ""):
        penalty = max(penalty, 3.0)
    link = next(node.iter("a"), None)
    if link is None:
        link = next((a for a in node.iterancestors("a")), None)
    if link is not None:
        path = urlsplit(link.get("href") or "").path
        if path in ("", "/"):
            penalty += 3.0  # a heading that links to the home page is the logo
        elif path.rstrip("/") != page_path.rstrip("/"):
            penalty += 3.0  # a heading that links to another page is that page's teaser
    return penalty


_BREAKS = frozenset({"br", "div", "p", "h1", "h2", "h3", "h4", "li", "small"})


def _heading_text(node: lxml_html.HtmlElement) -> str:
    """The heading's text as shown: inline markup joined as is, line breaks as spaces, a
    ``<time>`` left out."""
    out: list[str] = []

    def walk(el: lxml_html.HtmlElement) -> None:
        if el.tag in ("script", "style", "noscript", "template", "time"):
            return  # a <time> in a heading is its dateline ("Jun 17 …"), not its words
        if el.tag in _BREAKS:
            out.append(" ")
        out.append(el.text or "")
        for child in el:
            if isinstance(child.tag, str):
                walk(child)
            out.append(child.tail or "")
        if el.tag in _BREAKS:
            out.append(" ")

    walk(node)
    return " ".join("".join(out).replace("\u00ad", "").split())


def _visible(tree: lxml_html.HtmlElement, url: str) -> list[Candidate]:
    found: list[Candidate] = []
    page_path = urlsplit(url).path
    for node in tree.iter("h1"):
        found.append(Candidate("h1", _heading_text(node), _context_penalty(node, page_path), node))
    for node in tree.xpath(_MARKED):
        if node.tag == "h1" or not (node.get("itemprop") == "headline"
                                    or _GOOD_CLASS.search(node.get("class") or "")):
            continue
        if node.find(".//h1") is not None or node.find(".//h2") is not None:
            continue  # a title block: its heading is a candidate, the rest is a standfirst
        found.append(Candidate("marked", _heading_text(node), _context_penalty(node, page_path), node))
    for node in tree.xpath("//h2")[:8]:
        found.append(Candidate("h2", _heading_text(node), _context_penalty(node, page_path), node))
    return found


def _declared(metas: dict[str, str], ld: list[dict], title: str | None) -> list[Candidate]:
    found = [Candidate("og", metas.get("og:title") or ""),
             Candidate("twitter", metas.get("twitter:title") or ""),
             Candidate("title", title or "")]
    for item in ld:
        if isinstance(item.get("headline"), str):
            found.append(Candidate("ld", item["headline"]))
    return found


def _agreement(a: list[str], b: list[str]) -> float:
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    sa, sb = set(a), set(b)
    shared = len(sa & sb)
    if shared >= 0.9 * max(len(sa), len(sb)):
        return 0.9
    if shared == len(sa) and len(sa) >= 3:
        return 0.6  # a is the core of b (b adds a kicker or the site's name)
    if shared == len(sb) and len(sb) >= 3:
        return 0.3  # a adds to b
    if shared >= 2 and shared >= 0.4 * min(len(sa), len(sb)):
        return 0.3  # the same story, worded differently (a teaser)
    return 0.0


def _is_label(plain: list[str]) -> bool:
    """A navigation or interstitial label: "MENU", "Thanks for visiting Example News"."""
    text = " ".join(plain)
    return text in NAVIGATION or any(
        " " in label and text.startswith(label + " ") for label in NAVIGATION)


def scored_candidates(tree: lxml_html.HtmlElement, metas: dict[str, str], ld: list[dict], *,
                      url: str, html_title: str | None, learned: SiteNames | None = None
                      ) -> list[tuple[float, Candidate]]:
    """Every usable candidate with its score, best first (what ``choose_headline`` picks from)."""
    names = site_names(tree, metas, ld, url, learned)
    visible = _visible(tree, url)
    title_parts = [p for p in _SEPARATORS.split(html_title or "") if p.strip()]
    if len(title_parts) >= 2:
        longest = max(title_parts, key=len)
        misplaced = {_plain(c.text) for c in visible if c.penalty}
        # a shorter part of <title> that is also a misplaced heading: the site's name or tagline
        # (unless the longer part is the site's name itself)
        if not _is_title_site_part(longest, names):
            names |= {_plain(p) for p in title_parts if p is not longest and _plain(p) in misplaced}
    cands: list[tuple[Candidate, list[str]]] = []
    for c in visible + _declared(metas, ld, html_title):
        text = clean_space(c.text)
        if c.kind in DECLARED:
            text = strip_site(text, names)
        plain = words(text)
        if not plain or len(text) > MAX_CHARS or _is_label(plain) or _is_site_part(text, names):
            continue
        cands.append((Candidate(c.kind, text, c.penalty, c.node), plain))
    scored = []
    h1s = sum(c.kind == "h1" for c, _ in cands)
    for i, (c, plain) in enumerate(cands):
        support: dict[str, float] = {}
        for j, (o, other) in enumerate(cands):
            if i != j and o.kind != c.kind:
                support[o.kind] = max(support.get(o.kind, 0.0), _agreement(plain, other))
        agreed = min(MAX_SUPPORT, sum(support.values()))
        score = PRIOR[c.kind] - c.penalty + 1.5 * agreed
        # Between equals, the one the other sources repeat word for word (the capped support
        # ties a heading's exact copies with a shorter variant's partial ones).
        score += TIE_BREAK * sum(support.values())
        if c.kind not in DECLARED and not agreed:
            # A heading nothing else on the page repeats: the one clean <h1> is trusted (the
            # declared titles may all be one teaser); other headings are widgets' or labels'.
            if c.kind != "h1" or h1s > 1 or c.penalty:
                score -= 3.5 if c.kind != "h1" else 2.0
            if len(plain) <= 3:
                score -= 1.0
        scored.append((score, c))
    scored.sort(key=lambda x: -x[0])  # stable: on a tie the earlier candidate wins
    return scored


def heading_showing(tree: lxml_html.HtmlElement, headline: str) -> lxml_html.HtmlElement | None:
    """The heading element that shows a declared headline (an ``<h3>`` in an ``<hgroup>``,
    say, or an ``<h1>`` that puts a kicker before it), so that the byline's date can be looked
    for beside it."""
    want = words(headline)
    if not want:
        return None
    for node in tree.xpath("//h1 | //h2 | //h3 | //h4")[:40]:
        shown = words(node.text_content())
        # word for word, or after a kicker of a few words ("Deutschlandtakt: …")
        if shown[-len(want):] == want and len(shown) - len(want) <= MAX_KICKER_WORDS:
            return node
    return None


def choose_headline(tree: lxml_html.HtmlElement, metas: dict[str, str], ld: list[dict], *,
                    url: str, html_title: str | None, learned: SiteNames | None = None
                    ) -> Candidate | None:
    """The page's headline (with its element when it is shown on the page), or None when no
    candidate is one."""
    scored = scored_candidates(tree, metas, ld, url=url, html_title=html_title, learned=learned)
    if not scored:
        return None
    best = scored[0][1]
    if best.kind in DECLARED:  # the same words as shown on the page, if a heading has them
        shown = words(best.text)
        for _, c in scored:
            if c.kind not in DECLARED and _agreement(words(c.text), shown) >= 0.9:
                return c
    return best
