"""A fork server for the tests' `newscrawler` children (tests/kit.py starts one per test worker).

A `newscrawler crawl` child spends ~3.7 s of CPU whatever it crawls, about 70 % of it importing Scrapy, Twisted,
pymongo, Spidermon and jsonschema (measured with py-spy), and the suite starts about a hundred of them. This
process imports all that once, then forks a child per command: the child gets the command's argv, environment,
working directory and standard input, output and error, resets its signals, and runs `python -m newscrawler`
(or `python -m scrapy`) through runpy, as the interpreter itself would. Nothing is shared with the test process
(the zygote is a process of its own, started with no thread running, and forks only from its single thread).

What is not the same as a fresh process, and how the kit keeps it honest:
- modules are imported once, in the zygote's environment: no newscrawler module reads the environment when it
  is imported (settings read it when a run starts: cli/common.py ENV_SETTINGS); the Scrapy settings module is
  dropped after the preload so each run imports it anew, and the zygote refuses to serve if the preload
  installed a Twisted reactor;
- whatever the imports printed (a DeprecationWarning, say) is printed once, by the zygote: each child writes it
  to its stderr first, as each fresh process would have printed it;
- tests whose point is the start-up itself (signals at set times into it) or that need a `prelude` start a real
  process (`kit.start(..., fresh=True)`, `kit.newscrawler(..., prelude=...)`).

Protocol, one request per connection on a Unix SEQPACKET socket: the kit sends one message, the JSON {module,
argv, env, cwd} (module: `newscrawler` or `scrapy`, run as `python -m MODULE ARGV…`) with the child's standard
input, output and error attached (SCM_RIGHTS); the zygote answers {"pid": N}, then {"code": C} when the child has
ended (C < 0: killed by signal -C, as subprocess reports it). Children run side by side.
"""

from __future__ import annotations

import io
import json
import os
import select
import signal
import socket
import sys
import threading

# What a crawl, an import, a reprocess, the demo and the db commands import (found by listing what forked children
# still imported); not twisted.internet.reactor: the child installs Scrapy's asyncio reactor itself.
PRELOAD = (
    "scrapy.crawler", "scrapy.core.downloader.handlers.http11", "scrapy.core.engine", "scrapy.core.scraper",
    "scrapy.dupefilters", "scrapy.pqueues", "scrapy.squeues", "scrapy.statscollectors", "scrapy.logformatter",
    "scrapy.robotstxt", "scrapy.http.cookies", "scrapy.utils.project", "scrapy.utils.request", "scrapy.utils.engine",
    "scrapy.downloadermiddlewares.cookies", "scrapy.downloadermiddlewares.defaultheaders",
    "scrapy.downloadermiddlewares.downloadtimeout", "scrapy.downloadermiddlewares.httpauth",
    "scrapy.downloadermiddlewares.httpcache", "scrapy.downloadermiddlewares.httpcompression",
    "scrapy.downloadermiddlewares.httpproxy", "scrapy.downloadermiddlewares.offsite",
    "scrapy.downloadermiddlewares.redirect", "scrapy.downloadermiddlewares.retry",
    "scrapy.downloadermiddlewares.robotstxt", "scrapy.downloadermiddlewares.stats",
    "scrapy.downloadermiddlewares.useragent", "scrapy.spidermiddlewares.depth", "scrapy.spidermiddlewares.httperror",
    "scrapy.spidermiddlewares.metacopy", "scrapy.spidermiddlewares.referer", "scrapy.spidermiddlewares.start",
    "scrapy.spidermiddlewares.urllength", "scrapy.extensions.closespider", "scrapy.extensions.corestats",
    "scrapy.extensions.feedexport", "scrapy.extensions.logcount", "scrapy.extensions.logstats",
    "scrapy.extensions.memdebug", "scrapy.extensions.memusage", "scrapy.extensions.postprocessing",
    "scrapy.extensions.spiderstate", "scrapy.extensions.telnet", "scrapy.extensions.throttle",
    "pymongo", "pymongo.synchronous.auth", "lxml.html", "tldextract", "protego", "warcio", "jsonschema",
    "spidermon.contrib.validation", "spidermon.contrib.scrapy.runners", "aiohttp", "aiohttp.web",
    "newscrawler.cli", "newscrawler.cli.common", "newscrawler.cli.crawl", "newscrawler.cli.db",
    "newscrawler.cli.demo", "newscrawler.cli.importer", "newscrawler.cli.reprocess", "newscrawler.cli.process",
    "newscrawler.archive", "newscrawler.extensions.archive", "newscrawler.extensions.store",
    "newscrawler.extensions.run", "newscrawler.logformatter", "newscrawler.offsite", "newscrawler.robots",
    "newscrawler.throttle", "newscrawler.pipelines.validate", "newscrawler.pipelines.normalise",
    "newscrawler.pipelines.dedup", "newscrawler.pipelines.store", "newscrawler.extract",
    "newscrawler.normalise.article", "newscrawler.monitors.extension", "newscrawler.monitors.alerts",
    "newscrawler.monitors.state", "newscrawler.monitors.suites", "newscrawler.stopping", "newscrawler.spiders.portal",
    "newscrawler.spiders.importer", "newscrawler.spiders.reprocess", "newscrawler.middlewares",
    "newscrawler_replay.server", "newscrawler_replay.generate",
)
ENV_READ_AT_IMPORT = ("newscrawler.settings",)  # Scrapy imports it per run: it must come fresh


def preload() -> str:
    """Import PRELOAD; what the imports printed to stderr."""
    import importlib
    import warnings

    captured = io.StringIO()
    real_stderr = sys.stderr
    sys.stderr = captured
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            for name in PRELOAD:
                importlib.import_module(name)
    finally:
        sys.stderr = real_stderr
    for name in ENV_READ_AT_IMPORT:
        sys.modules.pop(name, None)
    if "twisted.internet.reactor" in sys.modules:
        raise SystemExit("zygote: the preload installed a Twisted reactor; the children could not install Scrapy's")
    return captured.getvalue()


def run_child(request: dict, fds: list[int], inherited: list[socket.socket], printed: str) -> None:
    """In the forked child: become the command (standard input, output and error: `fds`), run it, exit with its
    status. Never returns."""
    code = 1
    try:
        for sock in inherited:
            sock.close()
        # As Python sets them up when it starts: SIGINT raises KeyboardInterrupt, SIGPIPE and SIGXFSZ ignored.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for sig in (signal.SIGTERM, signal.SIGCHLD, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):
            signal.signal(sig, signal.SIG_DFL)
        for sig in (signal.SIGPIPE, signal.SIGXFSZ):
            signal.signal(sig, signal.SIG_IGN)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        if printed:
            os.write(2, printed.encode())
        sys.stdin = open(0, closefd=False)  # noqa: SIM115 - the process's own descriptors
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)  # noqa: SIM115
        sys.path[0] = request["cwd"]  # `python -m` puts the working directory first, not this file's folder
        import random
        import runpy

        random.seed()
        module = request.get("module", "newscrawler")
        sys.argv = [module, *request["argv"]]  # runpy puts the module's file in argv[0], as `python -m` does
        try:  # `ps` and /proc name the child by its command, not as another zygote
            with open("/proc/self/comm", "w") as comm:
                words = [arg for arg in request["argv"] if not arg.startswith("-") and "/" not in arg]
                comm.write(" ".join(words[:2])[:15] or module[:15])
        except OSError:
            pass
        try:
            runpy.run_module(module, run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except KeyboardInterrupt:
            code = 130
    except BaseException:  # noqa: BLE001 - anything else is the child's crash, reported like Python's
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        try:
            import atexit

            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def serve(path: str) -> None:
    printed = preload()
    if threading.active_count() != 1:
        raise SystemExit(f"zygote: the preload started threads ({threading.enumerate()}): forking would be unsafe")
    # SEQPACKET: each request is one message (its JSON, with the child's three descriptors attached).
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(path)
    listener.listen(16)
    print(json.dumps({"ready": True}), flush=True)
    running: dict[int, socket.socket] = {}  # child pid -> the connection waiting for its exit status
    while True:
        ready, _, _ = select.select([listener], [], [], 0.05 if running else None)
        if ready:
            conn, _ = listener.accept()
            message, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
            pid = os.fork()
            if pid == 0:
                run_child(json.loads(message), fds, [listener, conn, *running.values()], printed)
            for fd in fds:
                os.close(fd)
            conn.send(json.dumps({"pid": pid}).encode())
            running[pid] = conn
        while running:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            conn = running.pop(pid, None)
            if conn is not None:
                try:
                    conn.send(json.dumps({"code": os.waitstatus_to_exitcode(status)}).encode())
                except OSError:
                    pass  # the test stopped waiting (a timeout): it killed the child itself
                conn.close()


if __name__ == "__main__":
    serve(sys.argv[1])
