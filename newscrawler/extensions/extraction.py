"""ExtractionProcess: the crawl's extract() in a process of its own (newscrawler/extract/worker.py), so pages are
extracted on the second core while the crawler's own work — Scrapy's, the pipelines' — takes the first; the
crawler is bound to one core by the GIL, and the embedded database server uses a quarter of the other. Over the
replay crawl: wall time -10 % (median of three alternating pairs), CPU +2.5 % (the messages). Since stop 19 it
also normalises the items (`normalise_fields_of`, for the normalise stage) and makes the archive's WARC records
(`ExtractionWorker.archive_record`, for PageArchive): the crawler's own CPU -14 %, wall time -13 %, the whole
pipeline's CPU -1.5 % (README, Benchmarks).

The spider awaits `extract_page()`; without this extension (NEWSCRAWLER_EXTRACT_PROCESS false) it calls extract()
in place. The worker answers one page at a time, in order, so the first unanswered page is always the one it is
working on. When the worker dies (killed, out of memory, a crash in a C library) or spends more than
NEWSCRAWLER_EXTRACT_TIMEOUT seconds on one page, that page fails (WorkerLost: the spider logs its URL and keeps it
on its column's retry list, so the next run fetches it again), a new worker is started and the pages waiting are
sent to it; after MAX_RESTARTS the rest of the crawl extracts in place. A page that hangs the extractor in place
would hang the whole crawl: here it costs one page.

Messages are length-prefixed pickles over a socket pair read by the crawl's own event loop (no thread of its own):
concurrent.futures' process pool, tried first, cost the crawler more in its feeder and result threads than
extraction itself.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import socket
import subprocess
import sys
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.reactor import is_asyncio_reactor_installed

from newscrawler.archive import response_record
from newscrawler.extract import Article, ExtractionError, extract
from newscrawler.extract.worker import HEADER, frame, normalise_fields

if TYPE_CHECKING:
    from newscrawler.profiles import PortalProfile

logger = logging.getLogger(__name__)

MAX_RESTARTS = 5
# Each crawler's extension (None: it has none), found once.
_EXTENSIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
WATCH_EVERY = 1.0


class WorkerLost(ExtractionError):
    """The worker died or hung on this page: not known to be the page's fault (the spider has it fetched again next
    run, like a page whose download failed)."""


@dataclass
class _Page:
    """One request to the worker: a page to extract, an item's fields to normalise, a page's archive record."""

    seq: int
    op: str
    args: tuple
    url: str
    profile: PortalProfile | None
    in_place: Callable[[], Any] = field(repr=False)  # the same work in the crawler (after MAX_RESTARTS)
    done: asyncio.Future = field(repr=False)


class ExtractionWorker:
    """One worker process at a time, started on first use; `extract()` is awaited from the event loop."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self.pending: OrderedDict[int, _Page] = OrderedDict()
        self.restarts = 0
        self.disabled = False
        self._seq = 0
        self._proc: subprocess.Popen | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reading: asyncio.Task | None = None
        self._watch: asyncio.TimerHandle | None = None
        self._watch_due = 0.0
        self._sent_profiles: set[str] = set()
        self._head_since = 0.0
        self._starting: asyncio.Lock | None = None
        self._death: str | None = None  # why the worker being replaced was stopped (a timeout), else None
        # Between a worker's death and its successor taking the pages waiting: new pages only join the queue, so
        # the successor gets them all in order (the first unanswered page is always the one it is working on).
        self._restarting = False

    async def extract(self, body: bytes, url: str, headers: Mapping[str, str],
                      profile: PortalProfile | None) -> Article:
        headers = dict(headers)
        return await self._call("extract", (body, url, headers), url, profile,
                                lambda: extract(body, url, headers=headers, profile=profile))

    async def normalise(self, fields: dict[str, Any], profile: PortalProfile | None) -> dict[str, Any]:
        """normalise_item() of these fields, with dedup's sketch (newscrawler.extract.worker.normalise_fields)."""
        return await self._call("normalise", (fields,), fields.get("url") or "?", profile,
                                lambda: normalise_fields(fields, profile))

    async def archive_record(self, url: str, status: int, headers: list[tuple[str, str]], body: bytes,
                             extra: dict[str, Any]) -> bytes:
        """The page's WARC record, gzipped (newscrawler.archive.response_record)."""
        return await self._call("archive", (url, status, headers, body, extra), url, None,
                                lambda: response_record(url, status, headers, body, **extra))

    async def _call(self, op: str, args: tuple, url: str, profile: PortalProfile | None,
                    in_place: Callable[[], Any]) -> Any:
        if self.disabled:
            return in_place()
        if self._writer is None:
            await self._start()
            if self.disabled:
                return in_place()
        self._seq += 1
        page = _Page(self._seq, op, args, url, profile, in_place, asyncio.get_running_loop().create_future())
        if not self.pending:
            self._head_since = time.monotonic()
        self.pending[page.seq] = page
        if not self._restarting:
            self._send(page)
        return await page.done

    # -- the worker's life ----------------------------------------------------------------------------

    async def _start(self) -> None:
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:
            if self._writer is not None or self.disabled:
                return
            ours, theirs = socket.socketpair()
            try:
                self._proc = subprocess.Popen([sys.executable, "-m", "newscrawler.extract.worker",
                                               str(theirs.fileno())], pass_fds=[theirs.fileno()],
                                              stdin=subprocess.DEVNULL)
            except OSError as exc:
                ours.close()
                self._give_up(f"the extraction process could not be started ({exc})")
                return
            finally:
                theirs.close()
            reader, self._writer = await asyncio.open_connection(sock=ours)
            self._sent_profiles = set()
            self._reading = asyncio.ensure_future(self._read(reader, self._proc))
            if self._watch is None:
                self._schedule_watch()

    def _send(self, page: _Page) -> None:
        site = page.profile.site if page.profile is not None else None
        profile = page.profile if site is not None and site not in self._sent_profiles else None
        if site is not None:
            self._sent_profiles.add(site)
        self._writer.write(frame((page.seq, page.op, site, profile, page.args)))

    async def _read(self, reader: asyncio.StreamReader, proc: subprocess.Popen) -> None:
        try:
            while True:
                head = await reader.readexactly(HEADER.size)
                payload = await reader.readexactly(HEADER.unpack(head)[0])
                try:
                    seq, ok, result = pickle.loads(payload)
                except Exception as exc:  # noqa: BLE001 - an answer that cannot be read ends this worker
                    self._death = f"an answer of the extraction process could not be read ({exc})"
                    proc.kill()
                    break
                page = self.pending.pop(seq, None)
                self._head_since = time.monotonic()
                if page is None or page.done.done():
                    continue
                if ok:
                    page.done.set_result(result)
                else:
                    page.done.set_exception(result)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except asyncio.CancelledError:
            return
        if proc is self._proc:
            self._died(proc)

    def _died(self, proc: subprocess.Popen) -> None:
        """The worker is gone: its current page fails, the others go to a new one."""
        try:
            code = proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        why, self._death = self._death or f"the extraction process died (exit status {code})", None
        self._drop_connection()
        if self.pending:
            _, page = self.pending.popitem(last=False)
            if not page.done.done():
                page.done.set_exception(WorkerLost(f"{page.url}: {why} on this page"))
        self.restarts += 1
        if self.restarts > MAX_RESTARTS:
            self._give_up(f"{why}; {self.restarts} times in this crawl")
            return
        logger.warning("%s; a new one takes the %d pages waiting", why, len(self.pending))
        if self.pending:
            self._restarting = True
            asyncio.ensure_future(self._resend())

    async def _resend(self) -> None:
        try:
            await self._start()
            if self._writer is None:
                return  # given up: the pages were extracted in place
            self._head_since = time.monotonic()
            for page in self.pending.values():
                self._send(page)
        finally:
            self._restarting = False

    def _give_up(self, why: str) -> None:
        """Extract in place from now on; the pages waiting too."""
        logger.error("%s: the rest of the crawl extracts pages in the crawler itself", why)
        self.disabled = True
        waiting, self.pending = list(self.pending.values()), OrderedDict()
        for page in waiting:
            if page.done.done():
                continue
            try:
                page.done.set_result(page.in_place())
            except Exception as exc:  # noqa: BLE001 - reported to the spider as the page's failure
                page.done.set_exception(exc)

    def _schedule_watch(self) -> None:
        self._watch_due = time.monotonic() + WATCH_EVERY
        self._watch = asyncio.get_running_loop().call_later(WATCH_EVERY, self._watching)

    def _watching(self) -> None:
        self._watch = None
        if self.disabled or self._proc is None:
            return
        late = time.monotonic() - self._watch_due
        if late > WATCH_EVERY:
            # The event loop itself was held up (a write blocking it at the crawl's close): answers could not be
            # read meanwhile, so that time is not the page's.
            self._head_since += late
        if self.pending and self._proc.poll() is None and time.monotonic() - self._head_since > self.timeout:
            self._death = f"extraction took more than {self.timeout:g} s"
            self._proc.kill()  # the reader sees the end of its output and replaces it
        self._schedule_watch()

    def _drop_connection(self) -> None:
        if self._writer is not None:
            # asyncio closes a transport's socket on the loop's next turn; the worker must see its input end now
            # (close() waits for it to exit).
            sock = self._writer.get_extra_info("socket")
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._writer.close()
        self._writer = None
        self._proc = None

    def close(self) -> None:
        """Stop the worker (end of the crawl): its input closes and it exits."""
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        proc, reading = self._proc, self._reading
        self._proc = None
        if reading is not None:
            reading.cancel()
        self._drop_connection()
        if proc is not None:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for page in self.pending.values():
            if not page.done.done():
                page.done.cancel()
        self.pending.clear()


class ExtractionProcess:
    """The Scrapy side: one ExtractionWorker per crawl, stopped when the engine stops."""

    def __init__(self, crawler: Crawler):
        self.worker = ExtractionWorker(crawler.settings.getfloat("NEWSCRAWLER_EXTRACT_TIMEOUT", 120))
        crawler.signals.connect(self.worker.close, signal=signals.engine_stopped)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractionProcess:
        if not crawler.settings.getbool("NEWSCRAWLER_EXTRACT_PROCESS"):
            raise NotConfigured
        if not is_asyncio_reactor_installed():  # the worker's socket is read by the asyncio event loop
            logger.info("not the asyncio reactor: pages are extracted in the crawler itself")
            raise NotConfigured
        return cls(crawler)


def worker_of(crawler: Crawler) -> ExtractionWorker | None:
    """The crawl's extraction process, when it has one (NEWSCRAWLER_EXTRACT_PROCESS, the asyncio reactor) and has
    not given up on it."""
    ext = _EXTENSIONS.get(crawler, False)
    if ext is False:  # found once: get_extension walks every extension
        ext = _EXTENSIONS[crawler] = crawler.get_extension(ExtractionProcess)
    return ext.worker if ext is not None and not ext.worker.disabled else None


async def extract_page(crawler: Crawler, body: bytes, url: str, headers: Mapping[str, str],
                       profile: PortalProfile | None) -> Article:
    """extract() for the spider: in the extraction process when there is one, else in place."""
    worker = worker_of(crawler)
    if worker is None:
        return extract(body, url, headers=headers, profile=profile)
    return await worker.extract(body, url, headers, profile)


async def normalise_fields_of(crawler: Crawler, fields: dict[str, Any],
                              profile: PortalProfile | None) -> dict[str, Any]:
    """normalise_fields() for the normalise stage: in the extraction process when there is one, else in place.
    A worker lost on the way costs nothing here: the crawler has the fields, and normalises them itself."""
    worker = worker_of(crawler)
    if worker is not None:
        try:
            return await worker.normalise(fields, profile)
        except WorkerLost:
            pass
    return normalise_fields(fields, profile)
