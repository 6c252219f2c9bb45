"""Canonical URLs: one spelling per article, so its id is stable wherever it was found.

Pure functions on strings. ``normalize_url`` lower-cases scheme and host, drops default ports,
fragments and tracking parameters, and sorts the query; ``choose_canonical`` decides whether a
page's rel=canonical / og:url can be trusted over the URL it was fetched from.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from finpulse.schemas import article_id_for_url

TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "hsa_", "ga_", "_hs")
TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "dclid", "gclsrc", "msclkid", "yclid", "igshid", "twclid", "ttclid",
    "_ga", "_gl", "ref", "ref_src", "referrer", "cmpid", "ncid", "sr_share", "smid", "smtyp",
    "cid", "icid", "ito", "mbid", "s_cid", "spm", "share", "soc_src", "soc_trk", "taid",
    "guccounter", "guce_referrer", "guce_referrer_sig", "rss", "feed", "src", "mod",
})
DEFAULT_PORTS = {"http": 80, "https": 443}


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def normalize_url(url: str, base: str | None = None) -> str:
    """``url`` (resolved against ``base``) in canonical spelling; unchanged if not http(s).
    Never raises: a URL that cannot be parsed (``http://[x``) comes back as given."""
    try:
        return _normalize(url, base)
    except ValueError:
        return url.strip()


def _normalize(url: str, base: str | None) -> str:
    absolute = urljoin(base, url.strip()) if base else url.strip()
    parts = urlsplit(absolute)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return absolute
    host = parts.hostname.lower().rstrip(".")
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    if ":" in host:  # IPv6 literal
        netloc = f"[{host}]" if port in (None, DEFAULT_PORTS[scheme]) else f"[{host}]:{port}"
    query = sorted(
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)
    )
    return urlunsplit((scheme, netloc, parts.path or "/", urlencode(query), ""))


def article_id(url: str) -> str:
    """The article id of ``url`` (normalised first)."""
    return article_id_for_url(normalize_url(url))


def _site(host: str) -> str:
    """A host without ``www.``/``m.``/``amp.`` (enough to tell one site from another)."""
    for prefix in ("www.", "m.", "amp."):
        if host.startswith(prefix):
            return host[len(prefix):]
    return host


def same_site(a: str, b: str) -> bool:
    """Whether two URLs belong to the same site (one host equal to or under the other)."""
    ha, hb = _site(urlsplit(a).hostname or ""), _site(urlsplit(b).hostname or "")
    if not ha or not hb:
        return False
    return ha == hb or ha.endswith("." + hb) or hb.endswith("." + ha)


def _is_root(url: str) -> bool:
    return urlsplit(url).path in ("", "/")


def choose_canonical(page_url: str, *candidates: str | None) -> str:
    """The canonical URL of a page fetched from ``page_url``.

    A declared canonical (rel=canonical, then og:url) is trusted when it is http(s) on the same
    site and does not collapse an article onto the site's home page (a common template bug);
    otherwise the fetched URL is kept.
    """
    fetched = normalize_url(page_url)
    for candidate in candidates:
        if not candidate or not candidate.strip():
            continue
        url = normalize_url(candidate, base=page_url)
        try:
            scheme = urlsplit(url).scheme
        except ValueError:  # cannot be parsed: no canonical
            continue
        if scheme not in DEFAULT_PORTS:
            continue
        if not same_site(url, fetched):
            continue
        if _is_root(url) and not _is_root(fetched):
            continue
        return url
    return fetched
