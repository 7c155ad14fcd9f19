"""ProfileAutoThrottle: Scrapy's AutoThrottle, floored at each portal's own `download_delay`.

Scrapy's AutoThrottle never goes below the global DOWNLOAD_DELAY (0.5 s), but a portal whose profile asks
for more (jzrb: 1 s) has its own download slot with that delay (the spider sets DOWNLOAD_SLOTS from the
profiles), and a fast-answering server made AutoThrottle lower it towards the global floor. Here a slot's
floor is its DOWNLOAD_SLOTS delay, so AutoThrottle may slow a portal down, never speed it past its profile.
"""

from __future__ import annotations

from scrapy import Request, Spider
from scrapy.core.downloader import Slot
from scrapy.extensions.throttle import AutoThrottle
from scrapy.http import Response


class ProfileAutoThrottle(AutoThrottle):
    def _spider_opened(self, spider: Spider) -> None:
        super()._spider_opened(spider)
        slots = self.crawler.settings.getdict("DOWNLOAD_SLOTS")
        self.floors: dict[str, float] = {key: float(conf["delay"]) for key, conf in slots.items() if "delay" in conf}
        self._floor = self.mindelay

    def _response_downloaded(self, response: Response, request: Request, spider: Spider) -> None:
        self._floor = max(self.mindelay, self.floors.get(request.meta.get("download_slot"), self.mindelay))
        super()._response_downloaded(response, request, spider)

    def _adjust_delay(self, slot: Slot, latency: float, response: Response) -> None:
        super()._adjust_delay(slot, latency, response)
        slot.delay = max(slot.delay, self._floor)
