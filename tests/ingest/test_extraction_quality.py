"""The ways extraction went wrong on real pages, each as a faithful reduction of such a page:
a navigation label or interstitial taken as the headline, the site's name left on it, a teaser
og:title winning over the article's own heading, a date-only or local stamp stored as the
wrong day, an "updated" stamp taken for the publication, and home pages or section fronts
passed off as articles."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from ingest.extract import extract_page
from ingest.feeds import FeedItem
from ingest.headline import SiteNames
from ingest.items import compose
from ingest.parse_errors import NotAnArticle, ParseError
from ingest.tickers import EMPTY_WATCHLIST

pytestmark = pytest.mark.unit

BODY = "".join(f"<p>Paragraph {i} of the story, with enough words to be read as an article body "
               f"by the extractor, about rates, inflation and the bond market.</p>" for i in range(6))
URL = "https://news.example.org/markets/2019/12/14/fed-holds-rates"


def page(head: str = "", body: str = "", *, article: str | None = None) -> bytes:
    article = BODY if article is None else article
    return (f"<!DOCTYPE html><html lang='en'><head>{head}</head><body>{body}"
            f"<article>{article}</article></body></html>").encode()


def ld(**item) -> str:
    data = json.dumps({"@context": "https://schema.org", **item})
    return f'<script type="application/ld+json">{data}</script>'


# -- headlines -------------------------------------------------------------------------------

def test_a_navigation_label_in_an_h1_is_not_the_headline() -> None:
    html = page("<title>Fed holds rates steady | Example News</title>",
                "<nav><h1>MENU</h1><a href='/'>Home</a></nav>",
                article="<h1>Fed holds rates steady</h1>" + BODY)
    assert extract_page(html, url=URL).title == "Fed holds rates steady"


def test_an_interstitial_heading_is_not_the_headline() -> None:
    html = page("<title>ECB signals a pause - Example News</title>"
                "<meta property='og:title' content='ECB signals a pause'>",
                "<div class='modal'><h1>Thanks for visiting Example News</h1></div>")
    assert extract_page(html, url=URL).title == "ECB signals a pause"


@pytest.mark.parametrize(("head", "want"), [
    ("<title>Oil slides as stocks build - Newsnet.scot</title>", "Oil slides as stocks build"),
    ("<title>株価が続伸|au Webポータル</title><meta property='og:site_name' content='au Webポータル'>",
     "株価が続伸"),
    ("<title>Markets | Yields climb after jobs data | DW | 10.06.2013</title>"
     "<meta property='og:site_name' content='DW'>", "Markets | Yields climb after jobs data"),
    ("<title>Ein Albtraum - DER SPIEGEL 52/2018</title>", "Ein Albtraum"),
])
def test_the_site_name_is_stripped_from_a_declared_title(head: str, want: str) -> None:
    url = {"Newsnet": "https://www.newsnet.scot/2019/oil",
           "SPIEGEL": "https://www.spiegel.de/spiegel/print/d-161500790.html"}
    assert extract_page(page(head), url=next((u for k, u in url.items() if k in head), URL)).title == want


def test_a_site_name_is_learned_from_the_sites_other_pages() -> None:
    names = SiteNames()
    for slug in ("a", "b"):
        extract_page(page(f"<title>Story {slug} on page {slug} ~ Morning Briefing Weekly</title>"),
                     url=f"https://ledger.example/{slug}", site_names=names)
    got = extract_page(page("<title>Copper hits a record ~ Morning Briefing Weekly</title>"),
                       url="https://ledger.example/c", site_names=names)
    assert got.title == "Copper hits a record"
    assert extract_page(page("<title>Copper hits a record ~ Morning Briefing Weekly</title>"),
                        url="https://ledger.example/c").title != "Copper hits a record"


def test_the_articles_own_heading_beats_a_teaser_og_title() -> None:
    html = page("<title>You won't believe what the Fed did | Example</title>"
                "<meta property='og:title' content=\"You won't believe what the Fed did\">"
                "<meta name='twitter:title' content=\"You won't believe what the Fed did\">",
                article="<h1>Fed holds rates at 5.25% as inflation cools</h1>" + BODY)
    assert extract_page(html, url=URL).title == "Fed holds rates at 5.25% as inflation cools"


def test_a_logo_h1_linking_home_loses_to_the_article_heading() -> None:
    html = page("<title>Bund yields fall - Example Wire</title>",
                "<header><h1 class='logo'><a href='/'>Example Wire</a></h1></header>",
                article="<h2 class='entry-title'>Bund yields fall</h2>" + BODY)
    assert extract_page(html, url=URL).title == "Bund yields fall"


# -- dates -----------------------------------------------------------------------------------

def test_a_page_wide_class_does_not_count_against_the_heading() -> None:
    """A ``<body class="cookies-not-set">`` says nothing of where the heading sits; an ``<h1>``
    that repeats the declared titles word for word beats a shorter one in the text."""
    html = (b"<html><head><title>TOP 5 Fashion Must Haves 2018 [Werbung] - MajkasWelt</title>"
            b"<meta property='og:title'"
            b" content='TOP 5 Fashion Must Haves 2018 [Werbung] - MajkasWelt'>"
            b"</head><body class='single-post cookies-not-set'><article>"
            b"<div class='entry-meta'>"
            b"<h1 class='entry-title'>TOP 5 Fashion Must Haves 2018 [Werbung]</h1></div>"
            b"<div class='entry-content'><h1>TOP 5 Must Haves 2018</h1>" + BODY.encode() +
            b"</div></article></body></html>")
    got = extract_page(html, url="https://majkaswelt.example/top-5-fashion-must-haves-2018")
    assert got.title == "TOP 5 Fashion Must Haves 2018 [Werbung]"


def test_a_dateline_inside_the_heading_is_not_part_of_it() -> None:
    html = page("<meta property='og:title' content='Das schönste Ende der Welt: Montauk'>",
                article="<h2 class='entry-title' itemprop='headline'><time datetime='2019-06-17'>"
                        "Jun 17 </time>Das schönste Ende der Welt: Montauk</h2>" + BODY)
    got = extract_page(html, url="https://blog.example/home/2017/7/12/montauk")
    assert got.title == "Das schönste Ende der Welt: Montauk"


def test_a_site_name_opening_with_the_hosts_first_word_is_stripped() -> None:
    html = page("<title>Guinée : Un braconnier interpellé et condamné ! ‹ Wara Conservation Project"
                "</title>", article=BODY)
    got = extract_page(html, url="https://www.wara-enforcement.example/fr/guinee-braconnier/")
    assert got.title == "Guinée : Un braconnier interpellé et condamné !"


@pytest.mark.parametrize(("title", "want"), [
    ("午间公告：天奇股份中标广汽丰田项目_证券时报网", "午间公告：天奇股份中标广汽丰田项目"),
    ("法国全国大罢工再次严重影响交通-新华网", "法国全国大罢工再次严重影响交通"),
    ("京沪高速无锡至江阴段封闭！_网易订阅", "京沪高速无锡至江阴段封闭！"),
    # a hyphen inside a headline stays
    ("Covid-19 cases rise in Hubei", "Covid-19 cases rise in Hubei"),
])
def test_a_site_name_joined_without_spaces_is_stripped(title: str, want: str) -> None:
    html = page(f"<title>{title}</title>", article=BODY)
    assert extract_page(html, url="https://news.example.cn/2019/0907/a1.html").title == want


def test_a_title_block_gives_its_heading_not_its_standfirst() -> None:
    html = page("<title>山西品牌丝路行（南美站）正式启动 - 山西省人民政府门户网站</title>",
                article="<div class='detail-title'><h2>山西品牌丝路行（南美站）正式启动</h2>"
                        "<p>成功举办中国（山西）－巴西双向经贸投资推介会</p></div>" + BODY)
    got = extract_page(html, url="http://www.shanxi.example/yw/sxyw/201909/t20190906_1.shtml")
    assert got.title == "山西品牌丝路行（南美站）正式启动"


def test_a_date_only_stamp_stays_that_day() -> None:
    got = extract_page(page(ld(**{"@type": "NewsArticle", "headline": "x",
                                  "datePublished": "2019-12-14"})), url=URL)
    assert (got.published_day, got.published_precision) == (date(2019, 12, 14), "day")
    assert got.published == datetime(2019, 12, 14, tzinfo=UTC)


def test_a_local_evening_stamp_is_the_readers_day() -> None:
    got = extract_page(page("<meta property='article:published_time' content='2019-12-14T19:30:00-05:00'>"),
                       url=URL)
    assert got.published_day == date(2019, 12, 14)  # the day the page shows
    assert got.published == datetime(2019, 12, 15, 0, 30, tzinfo=UTC)  # the instant, in UTC
    assert got.published_precision == "second"


def test_the_publication_wins_over_a_later_update() -> None:
    head = ("<meta property='article:modified_time' content='2020-03-01T08:00:00+00:00'>"
            + ld(**{"@type": "NewsArticle", "headline": "x", "dateModified": "2020-03-01",
                    "datePublished": "2019-12-14T10:00:00+01:00"}))
    body = "<p class='updated'>Updated: 01.03.2020</p>"
    assert extract_page(page(head, body), url=URL).published_day == date(2019, 12, 14)


def item(published: datetime) -> FeedItem:
    return FeedItem(link=URL, title="Fed holds", summary="", published=published, author=None, guid=None)


def test_a_feed_date_far_from_the_pages_own_gives_way_to_the_page() -> None:
    got = extract_page(page(ld(**{"@type": "NewsArticle", "datePublished": "2019-12-14T10:00:00Z"})),
                       url=URL)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    regenerated = item(datetime(2020, 6, 1, tzinfo=UTC))
    article = compose(source="s", link=URL, now=now, watchlist=EMPTY_WATCHLIST, page=got, item=regenerated)
    assert article.published == datetime(2019, 12, 14, 10, tzinfo=UTC)
    close = item(datetime(2019, 12, 14, 11, tzinfo=UTC))
    article = compose(source="s", link=URL, now=now, watchlist=EMPTY_WATCHLIST, page=got, item=close)
    assert article.published == datetime(2019, 12, 14, 11, tzinfo=UTC)  # the feed's, to the second


# -- non-articles ----------------------------------------------------------------------------

TEASERS = "".join(f"<h3><a href='/markets/story-{i}'>Story number {i} about markets and rates today</a></h3>"
                  for i in range(40))


@pytest.mark.parametrize(("url", "html", "kind"), [
    ("https://news.example.org/", page("<title>Example News</title>"), "home"),
    ("https://news.example.org/en/", page("<title>Example News</title>"), "home"),
    ("https://news.example.org/category/markets/", page("<title>Markets</title>"), "section"),
    ("https://news.example.org/markets", page("<title>Markets</title>", article=TEASERS + BODY[:300]),
     "section"),
    (URL, page(ld(**{"@type": "CollectionPage", "name": "Markets"})), "section"),
    (URL, page(ld(**{"@type": "VideoObject", "name": "Fed press conference"})), "video"),
    (URL, page("<meta property='og:type' content='product'>"), "other"),
    (URL, page(article="<div itemscope itemtype='https://schema.org/Product'><h1>Grease 400 g</h1>"
                       + BODY + "</div>"), "other"),
    ("https://en.wikipedia.example/wiki/Bond_market", page(ld(**{"@type": "Article", "name": "Bond market"})),
     "other"),
    (URL, page(article="<h1>Watch: the Fed chair speaks</h1><iframe src='https://www.youtube.com/embed/x'>"
                       "</iframe><p>The chair took questions on rates and the balance sheet.</p>"), "video"),
    ("https://news.example.org/about-us/", page("<title>About us</title>"), "other"),
    (URL, page("<title>404 Not Found</title>", article="<p>The page you asked for is not here. "
                                                       "Try the search or go back home.</p>" * 2),
     "error"),
    (URL, page("<title>Before you continue</title>",
               article="<form><p>We use cookies and similar technologies. Accept all cookies or "
                       "manage your consent in the privacy settings before you continue to the "
                       "site.</p><button>Accept all</button></form>"), "consent"),
    # a front page whose teasers declare themselves articles
    ("https://www.nieuwsblad.example/", page(article="<div itemscope itemtype='https://schema.org/"
                                                     "NewsArticle'><h2>Fabiola</h2>" + BODY + "</div>"),
     "home"),
    # a player and a one-line caption in Japanese: one whitespace "word", some thirty real ones
    (URL, page(article="<h1>動画：ナイジェリアで自爆攻撃、３１人死亡</h1><video src='/v.mp4'></video>"
                       "<p>ナイジェリア北東部で少女らによる自爆攻撃があり、ロケット弾も撃ち込まれ、少なくとも31人が"
                       "死亡した。</p>"), "video"),
])
def test_non_articles_are_refused_with_their_kind(url: str, html: bytes, kind: str) -> None:
    with pytest.raises(NotAnArticle) as refused:
        extract_page(html, url=url)
    assert refused.value.kind == kind and refused.value.reason


def test_a_story_under_a_listing_word_with_a_generated_id_is_kept() -> None:
    html = page(article="<h1>运营商 5G 手机促销方式曝光，禁止提供购机补贴</h1>" + BODY)
    got = extract_page(html, url="https://readhub.example/topic/7PM49H7yjs5")
    assert got.title == "运营商 5G 手机促销方式曝光，禁止提供购机补贴"


def test_an_article_with_an_article_type_is_kept_even_at_a_short_url() -> None:
    html = page(ld(**{"@type": "NewsArticle", "headline": "Fed holds"}), article="<h1>Fed holds</h1>" + BODY)
    assert extract_page(html, url="https://news.example.org/1927").title == "Fed holds"


def test_a_byline_date_under_the_heading_is_read_when_nothing_is_declared() -> None:
    html = page(body="<aside><p>Termine: 09.12.2019 Adventskonzert</p></aside>",
                article="<h1>Thomanerchor bekommt neuen Geschäftsführer</h1>"
                        "<p class='byline'>Von Anna Muster | 07.06.2019, 10:12 Uhr</p>"
                        "<span class='updated'>2019-12-01</span>" + BODY)
    got = extract_page(html, url="https://zeitung.example/kultur/thomanerchor-geschaeftsfuehrer")
    assert (got.published_day, got.published_precision) == (date(2019, 6, 7), "day")


def test_a_date_labelled_as_the_publication_counts_even_at_the_articles_end() -> None:
    html = page(article="<h1>Kein Cyberterrorismus (diesmal)</h1>" + BODY
                + "<p>Ein Treffen am 26.8.2020 ist geplant.</p>" * 3
                + "<p class='postmetadata'>Dieser Eintrag wurde veröffentlicht am Samstag, "
                  "3. Dezember 2011 in News.</p>")
    assert extract_page(html, url="https://blog.example/news/2011/12/kein-cyberterrorismus").published_day \
        == date(2011, 12, 3)


def test_a_publication_label_after_the_date_counts() -> None:
    html = page(article="<h1>Cyberangriff auf Wasserwerk</h1>" + BODY * 2
                + "<p class='postmetadata'>Dieser Beitrag wurde am Samstag, 3. Dezember 2011 um "
                  "14:10 Uhr veröffentlicht und unter Cybercrime abgelegt.</p>")
    assert extract_page(html, url="https://blog.example/news/cyberangriff-wasserwerk").published_day \
        == date(2011, 12, 3)


def test_a_date_in_a_dated_element_counts_beyond_the_bylines_reach() -> None:
    nav = "<ul>" + "".join(f"<li><a href='/r{i}'>Rubrik {i} mit Angeboten</a></li>"
                           for i in range(20)) + "</ul>"
    html = page(article="<h1>Witzel will mehr Geld</h1>" + nav
                + "<span class='nfy-ar-date'>12.10.2015, 19:16 Uhr</span>" + BODY)
    assert extract_page(html, url="https://zeitung.example/politik/witzel-will-mehr-geld").published_day \
        == date(2015, 10, 12)


@pytest.mark.parametrize(("lang", "want"), [("es", date(2014, 1, 8)), ("en", date(2014, 8, 1))])
def test_a_slashed_date_reads_as_the_pages_language_writes_it(lang: str, want: date) -> None:
    html = (f"<html lang='{lang}'><head><meta name='twitter:title' content='Anticorrupción decidirá "
            f"si recurre'></head><body><article><hgroup><h3>Anticorrupción decidirá si recurre</h3>"
            f"</hgroup><p class='autor'>Patricio Candia | Palma | 08/01/2014</p>{BODY}</article>"
            f"</body></html>").encode()
    assert extract_page(html, url="https://diario.example/local/anticorrupcion-recurre.html") \
        .published_day == want


def test_the_byline_beside_a_kickered_heading_dates_a_declared_headline() -> None:
    """The declared headline wins (the <h1> sits in a breadcrumb); the heading that shows it
    after a kicker is found, and the byline beside it read, before any search of the page."""
    from ingest.extract import _parse_html
    from ingest.headline import heading_showing
    from ingest.page_meta import read_meta
    from ingest.pagedate import find_published

    html = page("<meta property='og:title' content='Flixbus attackiert Deutsche Bahn'>",
                "<nav><ul class='breadcrumbs'><li><h1>Deutschlandtakt: Flixbus attackiert Deutsche "
                "Bahn</h1></li></ul></nav>",
                article="<h2><span class='kicker'>Deutschlandtakt</span> Flixbus attackiert "
                        "Deutsche Bahn</h2><p class='byline'>15. Mai 2019, 05:28 Uhr</p>" + BODY)
    url = "https://zeitung.example/wirtschaft/flixbus-deutsche-bahn-1.4447"
    assert extract_page(html, url=url).title == "Flixbus attackiert Deutsche Bahn"
    tree = _parse_html(html.decode())
    heading = heading_showing(tree, "Flixbus attackiert Deutsche Bahn")
    assert heading is not None
    meta = read_meta(tree)
    found = find_published(tree, meta.metas, meta.ld, url=url, heading=heading, search=False)
    assert found is not None and found.day == date(2019, 5, 15)


@pytest.mark.parametrize(("lang", "byline", "want"), [
    ("es", "Córdoba, 31 de marzo de 2016 • 19:44", date(2016, 3, 31)),
    ("pt", "Publicado em 5 de setembro de 2019", date(2019, 9, 5)),
    ("it", "7 marzo 2022", date(2022, 3, 7)),
    ("nl", "12 maart 2014, 08:15", date(2014, 3, 12)),
    ("zh", "发布时间：2019年06月18日 10:21 来源：新华网", date(2019, 6, 18)),
    ("ja", "2018年6月18日 公開", date(2018, 6, 18)),
    ("ko", "입력 2019.09.07 21:09", date(2019, 9, 7)),
])
def test_a_byline_date_in_the_pages_language_is_read(lang: str, byline: str, want: date) -> None:
    html = (f"<html lang='{lang}'><head></head><body><article><h1>Un titular de la noticia</h1>"
            f"<div class='autor'>{byline}</div>{BODY}</article></body></html>").encode()
    assert extract_page(html, url="https://diario.example/seguridad/un-titular-nid1884942/") \
        .published_day == want


def test_a_story_the_precise_pass_misses_is_read_by_a_balanced_one() -> None:
    """A table-laid page (a faithful reduction of a Chinese city portal's): trafilatura's
    precise pass finds no text in its cells. Where the page shows a story's headline, a
    balanced pass reads the story; where it shows none (a front headed "新闻动态", news), the
    page stays refused."""
    from ingest.extract import _main_text, _parse_html

    paras = "".join(f"<p>第{i}段：2019年2月27日下午，佛山顺德区大良街道党工委委员、街道经济和科技"
                    f"促进局局长潘卓辉等一行八人到众创金融街进行实地考察调研，区发改局和区招商办负责人陪同调研。</p>"
                    for i in range(4))

    def portal(heading: str) -> str:
        return (f"<html lang='zh'><head><title>{heading}_中山网</title></head><body><table><tbody>"
                f"<tr><td><div align='center'><h1>{heading}</h1><font>来源于：东区办事处</font></div>"
                f"</td></tr><tr align='left'><td>{paras}</td></tr></tbody></table></body></html>")

    url = "http://www.zsnews.example/zsdongqu/index/view/id/1.html"
    headline = "顺德区大良街道党工委委员潘卓辉一行到众创金融街开展调研工作"
    story = portal(headline)
    assert _main_text(_parse_html(story), url, precise=True) is None  # the case at hand
    assert extract_page(story.encode(), url=url).title == headline
    with pytest.raises(ParseError, match="no article text"):
        extract_page(portal("新闻动态").encode(), url=url)


def test_an_article_keeps_its_dates_precision() -> None:
    dated = extract_page(page(ld(**{"@type": "NewsArticle", "datePublished": "2019-12-14"})), url=URL)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    alone = compose(source="s", link=URL, now=now, watchlist=EMPTY_WATCHLIST, page=dated)
    assert (alone.published, alone.published_precision) == (datetime(2019, 12, 14, tzinfo=UTC), "day")
    fed = compose(source="s", link=URL, now=now, watchlist=EMPTY_WATCHLIST, page=dated,
                  item=item(datetime(2019, 12, 14, 9, 30, tzinfo=UTC)))
    assert (fed.published, fed.published_precision) == (datetime(2019, 12, 14, 9, 30, tzinfo=UTC), "second")
