"""RobotsTxtMiddleware: Scrapy's, with every request that waits for a host's robots.txt checked against it.

Scrapy 2.19's RobotsTxtMiddleware keeps one Deferred per host while the host's robots.txt downloads, and
every request arriving meanwhile awaits it through `maybe_deferred_to_future()`, i.e.
`Deferred.asFuture()`. asFuture consumes the Deferred's result (Twisted documents this: the Deferred "fires
with None" afterwards), so only the first waiting request gets the parser; every later one gets None,
which `process_request_2()` takes for "no robots.txt" and lets through. With ROBOTSTXT_OBEY = True, 1 of 2
disallowed URLs was fetched in 4 of 4 runs here (issue 12); 3 of 5 in the minimal reproduction in
tests/test_faults_robots.py. Here each waiting request awaits a Deferred of its own, fired from the shared
one, which passes the parser on to the next. Wired in settings.py in place of Scrapy's; once Scrapy is
fixed, the canary test in tests/test_faults_robots.py fails and this module can go.
"""

from __future__ import annotations

from typing import Any

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware as ScrapyRobotsTxtMiddleware
from scrapy.http import Request
from scrapy.robotstxt import RobotParser
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred


def branch(shared: Deferred) -> Deferred:
    """A Deferred of its own that fires with `shared`'s result, which `shared` keeps for the next one."""
    own: Deferred = Deferred()

    def relay(result: Any) -> Any:
        own.callback(result)
        return result

    shared.addBoth(relay)
    return own


class RobotsTxtMiddleware(ScrapyRobotsTxtMiddleware):
    async def robot_parser(self, request: Request) -> RobotParser | None:
        parser = self._parsers.get(urlparse_cached(request).netloc)
        if isinstance(parser, Deferred):
            # Another request is downloading this host's robots.txt: wait for it on a Deferred of our own.
            return await maybe_deferred_to_future(branch(parser))
        return await super().robot_parser(request)
