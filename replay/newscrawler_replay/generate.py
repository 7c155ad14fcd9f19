"""Write a recording of every shipped portal (home, columns with pagination, articles) plus its manifest.

A recording is `routes.json` (url → status, content type, redirect target, body file), the bodies under
`pages/<host>/<path>`, and `manifest.json`: what a crawl of the replay should store. Deterministic for a
given seed; version 2 is version 1 with one published article corrected and new articles on top. Portals
named in `drift` get redesigned article pages (drift.py).
"""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from newscrawler_replay import drift as drifted
from newscrawler_replay import templates
from newscrawler_replay.content import Writer, seed_article
from newscrawler_replay.model import Column, Placement, Route
from newscrawler_replay.portals import HOST_ALIASES, SITES, SiteSpec

TZ = ZoneInfo("Asia/Shanghai")
# Bumped whenever the generated recording changes shape, so a stored recording can be seen to be stale.
GENERATOR_VERSION = 4
PER_PAGE = 20
FIRST = datetime(2024, 1, 3, 7, 0, tzinfo=TZ)
LAST = datetime(2024, 12, 20, 22, 0, tzinfo=TZ)
ROBOTS = "User-agent: *\nDisallow: /admin/\nDisallow: /search/\nAllow: /\n"
# The injection article's payloads (special "injection"), as text on the page.
INJECTIONS = {
    "script": "<script>alert(1)</script>",
    "img": "<img src=x onerror=alert(1)>",
    "attr": '"><svg onload=alert(1)>',
    "link": '<a href="javascript:alert(1)">原文链接</a>',
    "source": "<img src=x onerror=alert(document.cookie)>",
}


def _s2t(text: str) -> str:
    from opencc import OpenCC  # only the Traditional copy needs it; loading takes a moment

    global _S2T
    if _S2T is None:
        _S2T = OpenCC("s2t")
    return _S2T.convert(text)


_S2T = None


@dataclass
class _Extra:
    """Links and responses that are not articles: a dead link, an old address."""

    column: Column
    href: str
    headline: str
    date: str
    position: int


class _Builder:
    def __init__(self, seed: int, articles_per_site: int, version: int, drift: frozenset[str] = frozenset()):
        self.seed = seed
        self.n = articles_per_site
        self.version = version
        self.drift = drift
        self.placements: dict[str, list[Placement]] = {s: [] for s in SITES}
        self.routes: dict[str, Route] = {}
        self.dead_links: list[_Extra] = []
        self.redirects: dict[str, str] = {}
        self.changed: list[dict] = []
        self.added: list[str] = []

    def rng(self, *key: object) -> random.Random:
        # String seeds hash stably, so each part draws the same numbers whatever else was generated.
        return random.Random(":".join(str(k) for k in (self.seed, *key)))

    # ---------------------------------------------------------------- placements
    def place(self, spec: SiteSpec, column: Column, story_id: str, headline: str, paragraphs: list[str],
              when: datetime, source: str, authors: list[str], editor: str, **kw: object) -> Placement:
        when = when.replace(second=0, microsecond=0) if spec.minute_precision else when.replace(microsecond=0)
        p = Placement(site=spec.site, column=column, story=story_id, headline=headline, paragraphs=paragraphs,
                      published=when, date_raw=spec.date_raw(when), source=source, authors=authors,
                      editor=editor, **kw)
        self.placements[spec.site].append(p)
        return p

    def regular(self, spec: SiteSpec) -> None:
        rng = self.rng(spec.site, "regular")
        writer = Writer(self.rng(spec.site, "text"))
        names = writer.b["names"]
        step = (LAST - FIRST) / max(self.n, 1)
        for i in range(self.n):
            when = FIRST + step * i + timedelta(seconds=rng.randint(0, int(step.total_seconds() * 0.8)))
            column = spec.columns[rng.randrange(len(spec.columns))]
            wire = rng.random() < 0.2
            # dahe's city channel for Jiaozuo carries Jiaozuo stories, the rest of the portal all of Henan.
            city, counties = (("焦作", SITES["jzrb"].counties) if column.key == "jiaozuo"
                              else (spec.city, spec.counties))
            story = writer.story(f"{spec.site}-{i:05d}", authors=0 if wire else rng.randint(1, 2),
                                 city=city, counties=list(counties) or None)
            source = rng.choice(spec.wire_sources if wire else spec.local_sources)
            self.place(spec, column, story.id, story.headline, story.paragraphs, when, source, story.authors,
                       rng.choice(names), generated=True)

    def specials(self) -> None:
        rng = self.rng("special")
        writer = Writer(self.rng("special", "text"))
        names = writer.b["names"]
        jzrb, dahe, hnr, lyd = (SITES[s] for s in ("jzrb", "dahe", "hnr", "lyd"))
        bendi, tuijian = jzrb.columns

        # The seed story as jzrb published it, and the Traditional rendering that was captured (twice on
        # its page, like the seed).
        seed = seed_article()
        when = datetime.strptime(seed.date_raw, "%Y-%m-%d %H:%M:%S").replace(tzinfo=TZ)
        self.place(jzrb, tuijian, "seed", seed.headline, list(seed.paragraphs), when, seed.source, [],
                   seed.editor, special=["seed"])
        self.place(jzrb, tuijian, "seed", seed.headline, list(seed.paragraphs), when,
                   seed.source, [], seed.editor, script="Hant", double=True, special=["traditional", "double"])

        # One story syndicated: dahe's original, jzrb's republication with its own chrome and the closing
        # paragraph cut.
        story = writer.story("syndicated-dahe", paragraphs=(5, 6), authors=2, city="焦作",
                             counties=list(jzrb.counties))
        when = datetime(2024, 6, 12, 9, 30, tzinfo=TZ)
        self.place(dahe, dahe.columns[0], story.id, story.headline, story.paragraphs, when, "大河网",
                   story.authors, rng.choice(names), special=["syndicated-original"])
        self.place(jzrb, bendi, story.id, story.headline, story.paragraphs[:-1], when + timedelta(hours=5, minutes=32,
                   seconds=11), "大河网", story.authors, rng.choice(names), special=["syndicated-copy"])

        # A Xinhua wire story on hnr (with its dateline) and on lyd (dateline dropped).
        story = writer.story("wire-xinhua", paragraphs=(4, 5))
        when = datetime(2024, 9, 3, 10, 12, tzinfo=TZ)
        reporter = rng.choice(names)
        dateline = f"新华社郑州{when.month}月{when.day}日电（记者 {reporter}）"
        self.place(hnr, hnr.columns[0], story.id, story.headline, [dateline + story.paragraphs[0],
                   *story.paragraphs[1:]], when, "新华社", [reporter], rng.choice(names), special=["syndicated-wire"])
        self.place(lyd, lyd.columns[0], story.id, story.headline, story.paragraphs,
                   when + timedelta(hours=4, minutes=28), "新华社", [], rng.choice(names), special=["syndicated-wire"])

        # Daily weather reports: near-identical text, different stories.
        for day in (15, 16, 17):
            story = writer.weather(f"weather-2024-07-{day}", 7, day)
            self.place(hnr, hnr.columns[1], story.id, story.headline, story.paragraphs,
                       datetime(2024, 7, day, 7, 30, rng.randint(0, 59), tzinfo=TZ), "映象网", [], rng.choice(names),
                       special=["daily-template"])

        # A long lyd article over three pages (_01, _02).
        story = writer.story("lyd-long", paragraphs=(13, 15), authors=1, city="洛阳", counties=list(lyd.counties))
        self.place(lyd, lyd.columns[0], story.id, story.headline, story.paragraphs,
                   datetime(2024, 8, 8, 16, 45, tzinfo=TZ), "洛阳日报", story.authors, rng.choice(names), pages=3,
                   special=["multipage"])

        # Scraped text is untrusted (issue 10): headline, body and 来源 carry script/HTML injection attempts,
        # escaped in the page like any text, so an extractor reads them as literal text and whatever shows
        # them must keep them inert.
        story = writer.story("injection", paragraphs=(3, 4), authors=1, city="郑州")
        body = [INJECTIONS["img"] + story.paragraphs[0], story.paragraphs[1] + INJECTIONS["attr"],
                *story.paragraphs[2:-1], story.paragraphs[-1] + INJECTIONS["link"]]
        self.place(dahe, dahe.columns[0], story.id, story.headline + INJECTIONS["script"], body,
                   datetime(2024, 10, 18, 14, 5, tzinfo=TZ), "大河网" + INJECTIONS["source"], story.authors,
                   rng.choice(names), special=["injection"])

        # Flags on generated articles, picked by position so they exist for any articles_per_site.
        for spec, flag in ((jzrb, "double"), (hnr, "meta-gb2312-utf8")):
            regular = [p for p in self.placements[spec.site] if not p.special]
            if not regular:
                continue
            p = regular[len(regular) // 2]
            p.special.append(flag)
            if flag == "double":
                p.double = True
            else:
                p.meta_mismatch = True
        for i, p in enumerate(x for x in self.placements["lyd"] if not x.special):
            if len(p.paragraphs) >= 7 and i % 3 == 0:
                p.pages = 2
                p.special.append("multipage")
        # Some jzrb articles are listed in both columns: one article, two links.
        for p in [p for p in self.placements["jzrb"] if not p.special and p.column is bendi][-12::4]:
            p.also_in.append(tuijian)
            p.special.append("listed-twice")

    def version2(self) -> None:
        """A correction to a published dahe article and new articles on top of two columns."""
        writer = Writer(self.rng("v2", "text"))
        names = writer.b["names"]
        rng = self.rng("v2")
        hnyw = SITES["dahe"].columns[0]
        published = sorted((p for p in self.placements["dahe"] if p.column is hnyw and not p.special),
                           key=lambda p: p.published, reverse=True)
        if published:
            p = published[min(2, len(published) - 1)]
            at = 1 if len(p.paragraphs) > 2 else 0
            before = p.paragraphs[at]
            p.paragraphs = [*p.paragraphs[:at], writer.edit(before), *p.paragraphs[at + 1:]]
            p.special.append("edited-v2")
            self.changed.append({"story": p.story, "paragraph": at, "before": before, "after": p.paragraphs[at]})
        for site, column, count in (("jzrb", SITES["jzrb"].columns[0], 3), ("dahe", hnyw, 2)):
            spec = SITES[site]
            for i in range(count):
                story = writer.story(f"{site}-v2-{i}", authors=1, city=spec.city, counties=list(spec.counties) or None)
                when = datetime(2024, 12, 27, 8, 0, tzinfo=TZ) + timedelta(hours=3 * i, minutes=rng.randint(0, 59))
                self.place(spec, column, story.id, story.headline, story.paragraphs, when,
                               spec.local_sources[0], story.authors, rng.choice(names), special=["new-v2"])

    def mark_drift(self) -> None:
        """Tag the drifted portals' articles (after the specials, which pick untagged articles)."""
        for site in self.drift:
            for p in self.placements[site]:
                p.special.append("drift")
                if site in drifted.URL_DRIFT:
                    p.special.append("drift-urls")

    # ---------------------------------------------------------------- URLs
    def assign_urls(self) -> None:
        for site, spec in SITES.items():
            rng = self.rng(site, "ids")
            next_id = spec.first_id
            ordered = sorted(enumerate(self.placements[site]), key=lambda ip: (ip[1].published, ip[0]))
            for _, p in ordered:
                next_id += rng.randint(2, 40)  # never consecutive: id+1 is free for dead and old links
                moved = drifted.article_url(site, p.column, p.published, next_id) if site in self.drift else None
                p.url = p.linked_url = moved or spec.article_url(p.column, p.published, next_id)
            self.placements[site] = [p for _, p in ordered]
        for c in self.changed:
            c["url"] = next(p.url for p in self.placements["dahe"] if p.story == c["story"])

        def bump(url: str, delta: int) -> str:
            stem, dot, ext = url.rpartition(".")
            head, _, num = stem.rpartition("/")
            return f"{head}/{int(num) + delta:0{len(num)}d}{dot}{ext}"

        # Column links to articles that are gone (404), one per site, on the first page of the first column.
        for site, spec in SITES.items():
            regular = [p for p in self.placements[site] if p.generated and p.column is spec.columns[0]]
            if not regular:
                continue
            victim = regular[len(regular) // 3]
            headline = Writer(self.rng(site, "dead")).story("dead", paragraphs=(0, 0), city=spec.city).headline
            self.dead_links.append(_Extra(spec.columns[0], bump(victim.url, 1), headline,
                                          spec.list_date(victim.published), 2))
        # Old addresses that the CMS moved: the column still links the old one.
        for site, status in (("dahe", 301), ("hnr", 302)):
            regular = [p for p in self.placements[site] if p.generated]
            if regular:
                p = regular[len(regular) // 4]
                p.linked_url = bump(p.url, -1)
                p.special.append(f"redirect-{status}")
                self.redirects[p.linked_url] = p.url
                self.routes[p.linked_url] = Route(p.linked_url, status, "text/html", b"", p.url)
        self.redirects["http://jzrb.com/"] = "http://www.jzrb.com/"
        self.routes["http://jzrb.com/"] = Route("http://jzrb.com/", 301, "text/html", b"", "http://www.jzrb.com/")

    # ---------------------------------------------------------------- pages
    def render(self) -> None:
        for site, spec in SITES.items():
            placements = self.placements[site]
            for p in placements:
                rng = self.rng(p.url, "page")
                p.related = [(q.url, q.headline) for q in rng.sample(placements, min(5, len(placements)))
                             if q is not p]
                if site in self.drift:
                    p.ranking = [(q.url, q.headline) for q in rng.sample(placements, min(10, len(placements)))]
                if spec.encoding == "gbk":
                    p.content_type = rng.choice(["text/html; charset=gb2312", "text/html; charset=GBK",
                                                 "text/html"])
                else:
                    p.content_type = rng.choice(["text/html; charset=utf-8"] * 3 + ["text/html"])
                p.charset = spec.encoding
                if p.meta_mismatch:
                    p.charset, p.content_type = "utf-8", "text/html"
                if p.script == "Hant":
                    # The header names gb2312 though Traditional characters need GBK: decode as GB18030.
                    p.content_type = "text/html; charset=gb2312"
                pages = (drifted.ARTICLE if site in self.drift else templates.ARTICLE)[site](p)
                if p.script == "Hant":
                    pages = [_s2t(h) for h in pages]
                for i, html in enumerate(pages):
                    url = templates.lyd_page_url(p.url, i) if site == "lyd" else p.url
                    self.routes[url] = Route(url, 200, p.content_type, html.encode(p.charset, "xmlcharrefreplace"))
            self.render_lists(spec)
            for host in {urlsplit(u).hostname for u in (spec.home, *(c.url for c in spec.columns))}:
                self.routes[f"http://{host}/robots.txt"] = Route(f"http://{host}/robots.txt", 200, "text/plain",
                                                                 ROBOTS.encode())
        self.routes["http://jzrb.com/robots.txt"] = Route("http://jzrb.com/robots.txt", 200, "text/plain",
                                                          ROBOTS.encode())

    def render_lists(self, spec: SiteSpec) -> None:
        site = spec.site
        ctype = "text/html; charset=gb2312" if spec.encoding == "gbk" else "text/html; charset=utf-8"
        latest: dict[str, list[tuple[str, str, str]]] = {}
        for col in spec.columns:
            listed = sorted((p for p in self.placements[site] if p.column is col or col in p.also_in),
                            key=lambda p: p.published, reverse=True)
            items = [(p.linked_url, p.headline if p.script == "Hans" else _s2t(p.headline),
                      spec.list_date(p.published)) for p in listed]
            latest[col.key] = items[:8]
            for dead in self.dead_links:
                if dead.column is col:
                    items.insert(min(dead.position, len(items)), (dead.href, dead.headline, dead.date))
            npages = max(1, -(-len(items) // PER_PAGE))
            for n in range(1, npages + 1):
                html = templates.COLUMN[site](col, items[(n - 1) * PER_PAGE:n * PER_PAGE], n, npages)
                body = html.encode(spec.encoding, "xmlcharrefreplace")
                self.routes[col.page_url(n)] = Route(col.page_url(n), 200, ctype, body)
                if n == 1:
                    # The CMS also answers the folder's index file with page one.
                    index = col.url + col.page_pattern.rsplit("/", 1)[1].replace("_{n}", "").replace("{n}", "index")
                    self.routes[index] = Route(index, 200, ctype, body)
        if site == "jzrb":
            # The home page links a few articles without www. (the profile's www rule canonicalises them).
            latest["bendi"] = [(u.replace("://www.", "://", 1) if i < 3 else u, h, d)
                               for i, (u, h, d) in enumerate(latest["bendi"])]
        html = templates.HOME[site](spec.columns, latest)
        self.routes[spec.home] = Route(spec.home, 200, ctype, html.encode(spec.encoding, "xmlcharrefreplace"))

    # ---------------------------------------------------------------- output
    def manifest(self) -> dict:
        articles = []
        for site in SITES:
            for p in self.placements[site]:
                conv = _s2t if p.script == "Hant" else (lambda s: s)
                articles.append({
                    "url": p.url,
                    "site": site,
                    "column": p.column.key,
                    "headline": conv(p.headline),
                    "datePublished": p.published.isoformat(),
                    "datePublishedRaw": p.date_raw,
                    "source": conv(p.source),
                    "authors": [conv(a) for a in p.authors],
                    "editor": conv(p.editor),
                    "story": p.story,
                    "script": p.script,
                    "pages": p.pages,
                    "bodyParagraphs": [conv(p.paragraphs[0]), conv(p.paragraphs[-1])],
                    "paragraphCount": len(p.paragraphs),
                    "charset": p.charset,
                    "contentType": p.content_type,
                    "linkedAs": p.linked_url,
                    "special": sorted(p.special),
                })
        return {
            "generator": GENERATOR_VERSION,
            "version": self.version,
            "seed": self.seed,
            "articlesPerSite": self.n,
            "sites": {s: {"home": spec.home, "columns": [c.url for c in spec.columns],
                          "articles": len(self.placements[s])} for s, spec in SITES.items()},
            "articles": articles,
            "not_found": [d.href for d in self.dead_links],
            "redirects": dict(self.redirects),
            "changed": self.changed,
            "added": [p.url for s in SITES for p in self.placements[s] if "new-v2" in p.special],
            "aliases": dict(HOST_ALIASES),
            "drift": {s: drifted.DRIFTS[s] for s in SITES if s in self.drift},
        }


def route_file(url: str) -> str:
    """Where a URL's body lives under pages/: host + path, with folder URLs stored as `__index__`."""
    parts = urlsplit(url)
    path = parts.path or "/"
    if path.endswith("/"):
        path += "__index__"
    if parts.query:
        path += "%3F" + parts.query.replace("/", "%2F")
    return f"{parts.hostname}{path}"


def generate(out_dir: Path, *, articles_per_site: int = 40, seed: int = 0, version: int = 1,
             drift: list[str] | tuple[str, ...] = ()) -> dict:
    """Write the recording into out_dir (replacing an earlier one) and return its manifest. The portals in
    `drift` changed their article layout (drift.py); the manifest's `drift` says how."""
    if version not in (1, 2):
        raise ValueError(f"version must be 1 or 2, got {version}")
    if articles_per_site < 0:
        raise ValueError("articles_per_site must be >= 0")
    unknown = [s for s in drift if s not in SITES]
    if unknown:
        raise ValueError(f"--drift: unknown portal {', '.join(map(repr, unknown))}; the replay has "
                         f"{', '.join(SITES)}")
    b = _Builder(seed, articles_per_site, version, frozenset(drift))
    for spec in SITES.values():
        b.regular(spec)
    b.specials()
    if version >= 2:
        b.version2()
    b.mark_drift()
    b.assign_urls()
    b.render()
    manifest = b.manifest()

    out_dir = Path(out_dir)
    pages = out_dir / "pages"
    if pages.exists():
        shutil.rmtree(pages)
    out_dir.mkdir(parents=True, exist_ok=True)
    index = []
    made: set[Path] = set()
    for url in sorted(b.routes):
        r = b.routes[url]
        entry: dict = {"url": url, "status": r.status, "contentType": r.content_type}
        if r.location:
            entry["location"] = r.location
        if r.body:
            rel = route_file(url)
            path = pages / rel
            if path.parent not in made:
                path.parent.mkdir(parents=True, exist_ok=True)
                made.add(path.parent)
            path.write_bytes(r.body)
            entry["file"] = rel
        index.append(entry)
    (out_dir / "routes.json").write_text(
        json.dumps({"version": version, "aliases": HOST_ALIASES, "routes": index}, ensure_ascii=False, indent=0),
        encoding="utf-8")
    (out_dir / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return manifest
