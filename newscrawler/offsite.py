"""PortalOffsite, a downloader middleware: each portal's requests stay on that portal's own hosts.

Scrapy's OffsiteMiddleware checks one list of domains per spider and lets `dont_filter` requests (our
listing pages) and redirects of them through. This one checks every request carrying a portal (`site` in
its meta) against that portal profile's `hosts` — wherever it came from: a link, a pagination page, a
redirect — and a 3xx answer whose Location leaves the portal's hosts fails the request (the spider records
it) instead of being followed: a jzrb article that redirects to another host is not stored as a jzrb
article. Requests without a portal (robots.txt, `scrapy fetch`) get Scrapy's check against the spider's
allowed_domains (every profile's hosts).

It sits after RedirectMiddleware (600) so that it sees the 3xx response before it is followed.
"""

from __future__ import annotations

import logging
from urllib.parse import urljoin

from scrapy import Request
from scrapy.downloadermiddlewares.offsite import OffsiteMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response

from newscrawler.profiles import PortalProfile

logger = logging.getLogger(__name__)


class PortalOffsite(OffsiteMiddleware):
    def _portal(self, request: Request) -> PortalProfile | None:
        site = request.meta.get("site")
        profiles = getattr(self.crawler.spider, "profiles", None) or {}
        return profiles.get(site) if site else None

    def process_request(self, request: Request) -> None:
        profile = self._portal(request)
        if profile is None:
            return super().process_request(request)
        if request.meta.get("allow_offsite") or profile.owns_url(request.url):
            return None
        self._refuse(profile, request.url, f"{request.url} is not on {profile.site}'s hosts "
                                           f"({', '.join(profile.hosts)}, {profile.path})")

    def process_response(self, request: Request, response: Response) -> Response:
        profile = self._portal(request)
        location = response.headers.get(b"Location")
        if profile is None or not (300 <= response.status < 400) or not location:
            return response
        target = urljoin(request.url, location.decode("latin-1"))
        if not profile.owns_url(target) and not request.meta.get("allow_offsite"):
            self._refuse(profile, target, f"{request.url} redirects ({response.status}) off {profile.site}'s hosts "
                                          f"to {target}")
        return response

    def _refuse(self, profile: PortalProfile, url: str, why: str) -> None:
        stats = self.crawler.stats
        stats.inc_value("offsite/filtered")
        stats.inc_value(f"portal/{profile.site}/offsite")
        domain = url.split("/")[2] if "//" in url else url
        if domain not in self.domains_seen:
            self.domains_seen.add(domain)
            stats.inc_value("offsite/domains")
            logger.info("not followed: %s", why)
        raise IgnoreRequest(why)
