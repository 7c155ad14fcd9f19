"""`newscrawler check-profile SITE`: does this portal's profile still work on the site?

The profile's self-test (what `scrapy check` contracts would be, for a spider driven by data): it fetches the
portal's first column page (else its home page) and checks that article links match `article_url_pattern` on
the portal's hosts, then takes the first of them as the sample article and checks that it extracts — a
headline, a publication date that parses and is plausible, a body of some length — and that every selector in
the profile matches something on the page. `--page FILE --url URL` runs the same checks on a saved page
instead (an article page, or a listing page when URL is not an article URL); `--replay` fetches from the
replay, as `crawl --replay` does. One line per check; exit 0 when all pass, 1 when one fails, 2 for a usage
error (unknown site, broken profile, unreadable file).
"""

from __future__ import annotations

import os
import re
import sys
import urllib.request
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urljoin
from urllib.robotparser import RobotFileParser

from newscrawler.cli.common import EXIT_USAGE

MIN_BODY_CHARS = 50
FETCH_TIMEOUT_S = 30


@dataclass
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'}  {self.name}: {self.detail}"


class FetchError(Exception):
    pass


def add_parser(sub) -> None:
    p = sub.add_parser("check-profile", help="self-test a portal profile on its site (or a saved page)",
                       description=__doc__.split("\n\n")[1])
    p.add_argument("site", metavar="SITE", help="the portal's short name, e.g. jzrb")
    p.add_argument("--page", metavar="FILE", help="check this saved page instead of fetching (needs --url)")
    p.add_argument("--url", help="the URL the saved page came from; with no --page, the sample article to fetch")
    p.add_argument("--replay", metavar="DIR_OR_URL", help="fetch from a replay (development install for a DIR)")
    p.set_defaults(func=run)


def run(args) -> int:
    from newscrawler.profiles import ProfileError, select_profiles

    try:
        (profile,) = select_profiles([args.site])
    except ProfileError as exc:
        print(f"newscrawler check-profile: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.page and not args.url:
        print("newscrawler check-profile: --page needs --url (the address the page was saved from)", file=sys.stderr)
        return EXIT_USAGE
    with ExitStack() as stack:
        if args.replay:
            if not args.replay.startswith("http://"):
                from newscrawler.cli.replay import import_replay

                server = import_replay("server", "check-profile --replay").ReplayServer(Path(args.replay))
                server.start()
                stack.callback(server.stop)
                os.environ["http_proxy"] = server.proxy_url
            else:
                os.environ["http_proxy"] = args.replay
        if args.page:
            try:
                body = Path(args.page).read_bytes()
            except OSError as exc:
                print(f"newscrawler check-profile: cannot read {args.page}: {exc.strerror}", file=sys.stderr)
                return EXIT_USAGE
            checks = check_saved(profile, body, args.url)
        else:
            checks = check_live(profile, args.url)
    for check in checks:
        print(check.line())
    failed = [c for c in checks if not c.ok]
    print(f"{profile.site} ({profile.path}): " + (f"{len(failed)} of {len(checks)} checks failed" if failed
                                                   else f"all {len(checks)} checks passed"))
    return 1 if failed else 0


def check_live(profile, sample_url: str | None = None) -> list[Check]:
    checks: list[Check] = []
    if sample_url is None:
        listing = (profile.column_urls or profile.start_urls)[0]
        try:
            body, headers = fetch(listing)
        except FetchError as exc:
            return [Check("listing page", False, str(exc))]
        links, listing_checks = check_listing(profile, body, headers, listing)
        checks += listing_checks
        if not links:
            return checks
        sample_url = links[0]
    try:
        body, headers = fetch(sample_url)
    except FetchError as exc:
        return [*checks, Check("sample article", False, str(exc))]
    return checks + check_article(profile, body, headers, sample_url)


def check_saved(profile, body: bytes, url: str) -> list[Check]:
    if not profile.owns_url(url):
        return [Check("URL", False, f"{url} is not on {profile.site}'s hosts ({', '.join(profile.hosts)})")]
    if profile.is_article_url(url):
        return check_article(profile, body, {}, url)
    return check_listing(profile, body, {}, url)[1]


def check_listing(profile, body: bytes, headers: dict, url: str) -> tuple[list[str], list[Check]]:
    from newscrawler.extract.charset import decode

    text, _ = decode(body, url, headers=headers, hint=profile.charset)
    doc = _parse(text)
    hrefs = [urljoin(url, h.strip()) for h in doc.xpath("//a/@href")] if doc is not None else []
    own = [h for h in hrefs if profile.owns_url(h)]
    articles = list(dict.fromkeys(h for h in own if profile.is_article_url(h)))
    checks = [Check("article links", bool(articles),
                    f"{len(articles)} of the {len(hrefs)} links on {url} match article_url_pattern"
                    + (f", e.g. {articles[0]}" if articles else "; has the site's layout or URL scheme changed?"))]
    if profile.pagination_pattern is not None and url in profile.column_urls:
        pages = [h for h in own if profile.is_pagination_url(h)]
        # A young column has a single page: no link is a warning in the detail, not a failure.
        checks.append(Check("pagination", True, f"next page {pages[0]}" if pages else
                            "no link matches pagination_pattern on this page (a column of one page?)"))
    return articles, checks


def check_article(profile, body: bytes, headers: dict, url: str) -> list[Check]:
    from newscrawler.extract import extract
    from newscrawler.extract.charset import decode
    from newscrawler.extract.selectors import select

    checks = [Check("article URL", profile.is_article_url(url) and profile.owns_url(url),
                    f"{url} {'matches' if profile.is_article_url(url) else 'does not match'} article_url_pattern")]
    try:
        article = extract(body, url, headers=headers, profile=profile)
    except Exception as exc:  # noqa: BLE001 - any failure is the finding
        return [*checks, Check("extraction", False, f"{type(exc).__name__}: {exc}")]
    checks.append(Check("headline", bool(article.headline), repr(article.headline) if article.headline else "none"))
    text, _ = decode(body, url, headers=headers, hint=profile.charset)
    date, raw = _when(article.datePublished), article.datePublishedRaw
    plausible = date is not None and datetime(1990, 1, 1, tzinfo=UTC) <= date <= datetime.now(UTC) + timedelta(days=1)
    # The extractor falls back to the day in the URL: a layout change that hides the date looks like success.
    on_page = bool(raw) and _squash(raw) in _squash(text)
    checks.append(Check("datePublished", plausible and on_page,
                        f"{article.datePublished or 'none'} (as printed: {raw!r}"
                        + (")" if on_page or not plausible else "; not on the page: only the URL's day)")))
    body_text = article.articleBody or ""
    checks.append(Check("articleBody", len(body_text) >= MIN_BODY_CHARS,
                        f"{len(body_text)} characters in {body_text.count(chr(10)) + 1 if body_text else 0} "
                        f"paragraph(s){': ' + body_text[:40] + '…' if body_text else ''}"))
    if profile.selectors:
        doc = _parse(text)
        for field, selector in profile.selectors.items():
            found = select(doc, selector) if doc is not None else []
            checks.append(Check(f"selector {field}", bool(found), f"{selector!r} matches {len(found)} element(s)"))
    return checks


def _when(value) -> datetime | None:
    """The extractor's date (an ISO string with its offset, or a datetime) as an aware datetime."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return None


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _parse(text: str):
    import lxml.html

    try:
        return lxml.html.fromstring(text) if text.strip() else None
    except (ValueError, lxml.etree.ParserError):
        return None


def fetch(url: str) -> tuple[bytes, dict[str, str]]:
    """GET one page as the crawler would (its User-Agent, robots.txt obeyed; http_proxy honoured)."""
    from newscrawler import settings

    robots = RobotFileParser(urljoin(url, "/robots.txt"))
    try:
        robots.read()
    except OSError:
        pass  # no robots.txt reachable: allowed, as Scrapy treats it
    if robots.last_checked and not robots.can_fetch(settings.USER_AGENT, url):
        raise FetchError(f"robots.txt of {urljoin(url, '/')} disallows {url}")
    request = urllib.request.Request(url, headers={"User-Agent": settings.USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_S) as response:  # noqa: S310 - a profile's URL
            return response.read(), dict(response.headers.items())
    except OSError as exc:  # URLError, HTTPError, timeouts
        raise FetchError(f"cannot fetch {url}: {exc}") from None
