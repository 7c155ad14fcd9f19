"""The read-only web console: a WSGI application over the store (every query goes through newscrawler.store).

Addresses (stable; links can be shared and scripts can use them):
    /                  the article list: q, site, source, author, editor, since, until, script, page
    /article?url=U     one article, by any spelling of a stored URL (text=Hans: the Simplified rendering of a
                       Traditional page; images=1: show its images, fetched from the portal)
    /stories           story clusters that grew in a period: days (default 30), before (YYYY-MM-DD), page
    /runs              recent crawl runs: before (an ISO time: runs started earlier)
    /portals           every portal; /portals?site=S one portal: articles per day (days, default 90) and field
                       coverage per month
    /export?format=jsonl|csv&<the list's parameters>   every article the list shows for those parameters

Only GET and HEAD are answered. Everything shown comes from scraped pages and is untrusted: templates escape
every value (Jinja2 autoescape), the pages carry no script at all, and the Content-Security-Policy forbids
scripts, inline styles, frames and forms that post elsewhere.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl, urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from newscrawler import export
from newscrawler.display import ZONE_NOTE, when, when_in
from newscrawler.query import FILTER_PARAMS, QueryError, known_sites, make_filter
from newscrawler.store import STORE_ERRORS, Store
from newscrawler.store.connection import reason
from newscrawler.store.filters import DISPLAY_ZONE, day_start
from newscrawler.store.stats import COVERAGE, UNDATED
from newscrawler.web import charts
from newscrawler.web.access import Access

logger = logging.getLogger(__name__)

PAGE_SIZE = 20
STORIES_PER_PAGE = 50
# The fields the coverage chart draws (the table below it shows every counted field).
CHARTED = ("datePublished", "authors", "editor", "source", "breadcrumbs", "images", "description", "dateTrusted")
CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'")
# The article page with images=1 shows the portal's images (an explicit choice: they are fetched from the portal).
CSP_WITH_IMAGES = CSP.replace("img-src 'self'", "img-src 'self' http: https:")
SECURITY_HEADERS = [("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"),
                    ("X-Frame-Options", "DENY"), ("Cross-Origin-Opener-Policy", "same-origin"),
                    ("Cache-Control", "no-store")]
STATUS_TEXT = {200: "OK", 204: "No Content", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
               405: "Method Not Allowed", 421: "Misdirected Request", 500: "Internal Server Error",
               503: "Service Unavailable"}


class Request:
    def __init__(self, environ: dict[str, Any]):
        self.environ = environ
        self.method = environ.get("REQUEST_METHOD", "GET").upper()
        self.path = environ.get("PATH_INFO") or "/"
        self.params: dict[str, str] = {}
        for key, value in parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True):
            self.params.setdefault(key, value)

    def header(self, name: str) -> str:
        return self.environ.get("HTTP_" + name.upper().replace("-", "_"), "")

    def get(self, name: str) -> str | None:
        value = self.params.get(name, "").strip()
        return value or None


class Response:
    def __init__(self, body: str | bytes | Iterable[bytes], status: int = 200,
                 content_type: str = "text/html; charset=utf-8", headers: list[tuple[str, str]] | None = None,
                 csp: str = CSP):
        self.status = status
        self.body = body
        self.headers = [("Content-Type", content_type), ("Content-Security-Policy", csp), *SECURITY_HEADERS,
                        *(headers or [])]


class NotFound(Exception):
    pass


class BadRequest(Exception):
    pass


def link(path: str, **params: Any) -> str:
    """A console address with the given (non-empty) parameters, in a stable order."""
    query = urlencode([(k, v) for k, v in params.items() if v not in (None, "")])
    return f"{path}?{query}" if query else path


class Console:
    def __init__(self, store: Store, access: Access, port: int = 0):
        self.store = store
        self.access = access
        self.port = port
        self.env = Environment(loader=PackageLoader("newscrawler.web", "templates"),
                               autoescape=select_autoescape(default=True, default_for_string=True),
                               undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        self.env.globals.update(link=link, when=when, when_in=when_in, ZONE_NOTE=ZONE_NOTE)
        self.routes: dict[str, Callable[[Request], Response]] = {
            "/": self.articles, "/article": self.article, "/stories": self.stories, "/runs": self.runs,
            "/portals": self.portals, "/export": self.export, "/static/console.css": self.stylesheet,
            "/favicon.ico": self.no_icon}
        self._state: tuple[float, list[str]] = (0.0, [])
        self._sites: tuple[float, list[str]] = (0.0, [])

    # -- WSGI -----------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = self.dispatch(request)
        except STORE_ERRORS as exc:
            logger.error("database error on %s: %s", request.path, reason(exc))
            response = self.message(503, "The database cannot be reached",
                                    f"{self.store.display_uri}: {reason(exc)}")
        except Exception:
            logger.exception("error on %s", request.path)
            response = self.message(500, "Something went wrong", "The error is in the console's log.")
        start_response(f"{response.status} {STATUS_TEXT.get(response.status, '')}", response.headers)
        body = response.body
        if request.method == "HEAD":
            if hasattr(body, "close"):
                body.close()
            return [b""]
        if isinstance(body, str):
            return [body.encode("utf-8")]
        if isinstance(body, bytes):
            return [body]
        return body

    def dispatch(self, request: Request) -> Response:
        if not self.access.host_allowed(request.header("Host"), self.port):
            return self.message(421, "Unknown host", "This console answers only at its own address.")
        if not self.access.allows(request.header("Authorization")):
            response = self.message(401, "Sign in", "This console needs the token or user and password it was "
                                    "started with.")
            response.headers.append(("WWW-Authenticate", 'Basic realm="newscrawler", charset="UTF-8"'))
            return response
        if request.method not in ("GET", "HEAD"):
            response = self.message(405, "Read-only", "The console only shows what is stored.")
            response.headers.append(("Allow", "GET, HEAD"))
            return response
        view = self.routes.get(request.path)
        if view is None:
            return self.message(404, "No such page", f"{request.path} is not one of the console's pages.")
        try:
            return view(request)
        except NotFound as exc:
            return self.message(404, "Not found", str(exc))
        except BadRequest as exc:
            return self.message(400, "Bad request", str(exc))

    def render(self, template: str, status: int = 200, csp: str = CSP, **context: Any) -> Response:
        context.setdefault("missing", self.missing())
        context.setdefault("store_uri", self.store.display_uri)
        return Response(self.env.get_template(template).render(**context), status, csp=csp)

    def message(self, status: int, title: str, text: str) -> Response:
        return Response(self.env.get_template("message.html").render(title=title, text=text, missing=[],
                                                                      store_uri=self.store.display_uri), status)

    def missing(self) -> list[str]:
        """What the counters and search index lack (asked at most every 30 s; the dedup index is not the console's)."""
        at, missing = self._state
        if time.monotonic() - at > 30:
            missing = [m for m in self.store.needs_reindex() if m != "dedup index"]
            self._state = (time.monotonic(), missing)
        return missing

    def sites(self) -> list[str]:
        at, sites = self._sites
        if time.monotonic() - at > 60:
            sites = known_sites(self.store.counters.totals())
            self._sites = (time.monotonic(), sites)
        return sites

    # -- pages ----------------------------------------------------------------------------------------

    def _filter(self, request: Request):
        params = {name: request.get(name) for name in FILTER_PARAMS}
        try:
            return make_filter(**params, sites=self.sites()), params, None
        except QueryError as exc:
            return None, params, str(exc)

    def articles(self, request: Request) -> Response:
        f, params, error = self._filter(request)
        page_no = _int(request.get("page"), "page", 1, minimum=1)
        page = self.store.listing.page(f, (page_no - 1) * PAGE_SIZE, PAGE_SIZE) if f else None
        pages = max(1, math.ceil(page.total / PAGE_SIZE)) if page else 1
        return self.render("list.html", status=400 if error else 200, page=page, page_no=page_no, pages=pages,
                           params=params, error=error, sites=self.sites(), searching=bool(f and f.q),
                           scripts=("Hans", "Hant"))

    def article(self, request: Request) -> Response:
        from newscrawler.normalise.urls import spellings
        from newscrawler.profiles import load_profiles

        url = request.get("url")
        if not url:
            raise BadRequest("/article needs url=<the URL of a stored article>")
        doc = self.store.articles.find_any(spellings(url))
        if doc is None:
            raise NotFound(f"No stored article has the URL {url}.")
        simplified = request.get("text") == "Hans" and doc.get("script") == "Hant"
        show_images = request.get("images") == "1"
        cluster = self.store.fingerprints.cluster(doc["cluster"]) if doc.get("cluster") else None
        members = []
        if cluster and cluster["size"] > 1:
            stored = {d["canonicalUrl"]: d for d in self.store.articles.by_urls(
                cluster["urls"], {"headline": 1, "datePublished": 1, "site": 1, "source": 1})}
            members = [{**m, **stored.get(m["url"], {})} for m in cluster["members"]]
        profile = load_profiles().get(doc.get("site") or "")
        headline = (doc.get("headlineSimplified") or doc.get("headline")) if simplified else doc.get("headline")
        body = (doc.get("articleBodySimplified") or doc.get("articleBody")) if simplified else doc.get("articleBody")
        return self.render("article.html", csp=CSP_WITH_IMAGES if show_images else CSP, doc=doc,
                           headline=headline, paragraphs=[p for p in (body or "").split("\n") if p.strip()],
                           simplified=simplified, show_images=show_images, members=members, cluster=cluster,
                           zone=getattr(profile, "timezone", None), portal=getattr(profile, "name", None),
                           original=_http_url(doc.get("canonicalUrl")), image_url=_http_url)

    def stories(self, request: Request) -> Response:
        days = _int(request.get("days"), "days", 30, minimum=1, maximum=3650)
        before = request.get("before")
        try:
            until = day_start(before) if before else datetime.now(DISPLAY_ZONE).replace(
                hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
        except ValueError as exc:
            raise BadRequest(f"before: {exc}") from None
        since = until - timedelta(days=days)
        page_no = _int(request.get("page"), "page", 1, minimum=1)
        grown, reached = self.store.fingerprints.recent_clusters(since, until)
        clusters = sorted((c for c in grown if c["size"] > 1),
                          key=lambda c: (c["size"], c.get("updatedAt") or datetime.min.replace(tzinfo=UTC)),
                          reverse=True)
        pages = max(1, math.ceil(len(clusters) / STORIES_PER_PAGE))
        shown = clusters[(page_no - 1) * STORIES_PER_PAGE: page_no * STORIES_PER_PAGE]
        older = reached.astimezone(DISPLAY_ZONE)
        older_day = older.strftime("%Y-%m-%d") if older == day_start(older.strftime("%Y-%m-%d")) else \
            (older + timedelta(days=1)).strftime("%Y-%m-%d")
        return self.render("stories.html", clusters=shown, total=len(clusters), days=days, page_no=page_no,
                           pages=pages, since=reached, until=until, before=before, cut=reached > since,
                           older=older_day)

    def runs(self, request: Request) -> Response:
        before = request.get("before")
        try:
            before_at = datetime.fromisoformat(before) if before else None
        except ValueError:
            raise BadRequest(f"before: {before!r} is not a time like 2024-03-23T02:15:00+08:00") from None
        if before_at is not None and before_at.tzinfo is None:
            before_at = before_at.replace(tzinfo=DISPLAY_ZONE)
        runs = self.store.runs.recent(PAGE_SIZE, before_at)
        older = runs[-1]["startedAt"].astimezone(DISPLAY_ZONE).isoformat() if len(runs) == PAGE_SIZE else None
        return self.render("runs.html", runs=runs, older=older, before=before)

    def portals(self, request: Request) -> Response:
        site = request.get("site")
        sites = self.sites()
        if site is None:
            return self._portal_overview(sites)
        if site not in sites:
            raise NotFound(f"No portal is called {site!r} (known: {', '.join(sites)}).")
        return self._portal(site, _int(request.get("days"), "days", 90, minimum=7, maximum=3650))

    def _portal_overview(self, sites: list[str]) -> Response:
        from newscrawler.profiles import load_profiles

        profiles = load_profiles()
        totals = self.store.counters.totals()
        last_run = self.store.runs.last()
        last, per_site, newest = self.store.listing.recent_by_site(60)
        rows = []
        for site in sites:
            series = _day_series(per_site.get(site, []), 60, last) if last else []
            rows.append({"site": site, "name": getattr(profiles.get(site), "name", ""), "total": totals.get(site, 0),
                         "last_day": newest.get(site),
                         "chart": charts.bar_chart(series, width=360, height=70, label=f"{site}: articles per day"),
                         "run": ((last_run or {}).get("perPortal") or {}).get(site)})
        return self.render("portals.html", rows=rows, last_run=last_run, last=last)

    def _portal(self, site: str, days: int) -> Response:
        from newscrawler.profiles import load_profiles

        profile = load_profiles().get(site)
        recent = self.store.listing.recent_days(1, site)
        end = recent[0]["day"] if recent else datetime.now(DISPLAY_ZONE).strftime("%Y-%m-%d")
        first = (day_start(end) - timedelta(days=days - 1)).strftime("%Y-%m-%d")
        per_day = self.store.listing.days(site, first, end, parts=())
        all_months = self.store.listing.months(site, parts=("fields",))
        months = [m for m in reversed(all_months) if m["month"] != UNDATED]
        undated = sum(m["n"] for m in all_months if m["month"] == UNDATED)
        coverage = {f: [m["fields"].get(f, 0) / m["n"] if m["n"] else None for m in months] for f in COVERAGE}
        labels = [m["month"] for m in months]
        return self.render(
            "portal.html", site=site, name=getattr(profile, "name", ""), days=days, first=first, end=end,
            total=sum(m["n"] for m in all_months), undated=undated,
            day_chart=charts.bar_chart(_day_series(per_day, days, end), label=f"{site}: articles per day"),
            coverage_chart=charts.line_chart(labels, {f: coverage[f] for f in CHARTED},
                                             label=f"{site}: share of articles with each field, per month"),
            months=list(reversed(months)), coverage_fields=COVERAGE)

    def export(self, request: Request) -> Response:
        fmt = request.get("format") or "jsonl"
        if fmt not in ("jsonl", "csv"):
            raise BadRequest(f"format: {fmt!r} is not jsonl or csv")
        f, _, error = self._filter(request)
        if error:
            raise BadRequest(error)
        docs = self.store.listing.stream(f)
        chunks: Iterator[str] = export.jsonl_lines(docs) if fmt == "jsonl" else export.csv_chunks(docs)
        name = f"newscrawler-{datetime.now(DISPLAY_ZONE):%Y%m%d-%H%M}.{fmt}"
        return Response((c.encode("utf-8") for c in chunks), content_type=export.MEDIA_TYPES[fmt],
                        headers=[("Content-Disposition", f'attachment; filename="{name}"')])

    def no_icon(self, request: Request) -> Response:
        return Response(b"", status=204, content_type="image/x-icon")

    def stylesheet(self, request: Request) -> Response:
        css = resources.files("newscrawler.web").joinpath("static/console.css").read_bytes()
        response = Response(css, content_type="text/css; charset=utf-8")
        response.headers = [(k, v) for k, v in response.headers if k != "Cache-Control"]
        response.headers.append(("Cache-Control", "max-age=3600"))
        return response


def _int(value: str | None, name: str, default: int, minimum: int = 0, maximum: int | None = None) -> int:
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise BadRequest(f"{name}: {value!r} is not a number") from None
    if number < minimum or (maximum is not None and number > maximum):
        raise BadRequest(f"{name}: {number} is out of range")
    return number


def _http_url(value: Any) -> str | None:
    """Links to scraped URLs only when they are http(s): never javascript: or data: ones."""
    if isinstance(value, str) and value.lower().startswith(("http://", "https://")):
        return value
    return None


def _day_series(days: list[dict[str, Any]], count: int, end: str | None = None) -> list[tuple[str, int]]:
    """`count` consecutive days ending at `end` (default: the newest of `days`), oldest first, zeros filled."""
    if not days and end is None:
        return []
    by_day = {d["day"]: d["n"] for d in days}
    last = day_start(end or days[0]["day"])
    return [((last - timedelta(days=i)).strftime("%Y-%m-%d"), by_day.get((last - timedelta(days=i))
                                                                          .strftime("%Y-%m-%d"), 0))
            for i in reversed(range(count))]
