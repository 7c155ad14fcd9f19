"""A fork server for the tests' `newscrawler` children (tests/kit.py starts one per test worker).

A `newscrawler crawl` child spends ~3.7 s of CPU whatever it crawls, about 70 % of it importing Scrapy, Twisted,
pymongo, Spidermon and jsonschema (measured with py-spy), and the suite starts about a hundred of them. This
process imports all that once, then forks a child per command: the child gets the command's argv, environment,
working directory and output files, resets its signals, and runs `python -m newscrawler` (or `python -m scrapy`)
through runpy, as the interpreter itself would. Nothing is shared with the test process (the zygote is a process
of its own, started with no thread running, and forks only from its single thread).

What is not the same as a fresh process, and how the kit keeps it honest:
- modules are imported once, in the zygote's environment: no newscrawler module reads the environment when it
  is imported (settings read it when a run starts: cli/common.py ENV_SETTINGS), and the zygote refuses to run
  if the Scrapy settings module was imported by the preload;
- whatever the imports printed (a DeprecationWarning, say) is printed once, by the zygote: it is kept and put at
  the head of every child's stderr, as each fresh process would have printed it;
- tests that start a child to signal it (`kit.start`), or with a `prelude`, still start a real process.

Protocol, one request per connection on a Unix socket: the kit sends one JSON line {module, argv, env, cwd,
stdout, stderr} (module: `newscrawler` or `scrapy`, run as `python -m MODULE ARGV…`; the last two: files to write
to); the zygote answers {"pid": N}, then {"code": C} when the child has
ended (C < 0: killed by signal -C, as subprocess reports it).
"""

from __future__ import annotations

import io
import json
import os
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


def run_child(request: dict, listener: socket.socket, conn: socket.socket) -> None:
    """In the forked child: become the command, run it, exit with its status. Never returns."""
    code = 1
    try:
        listener.close()
        conn.close()
        # As Python sets them up when it starts: SIGINT raises KeyboardInterrupt, SIGPIPE and SIGXFSZ ignored.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for sig in (signal.SIGTERM, signal.SIGCHLD, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):
            signal.signal(sig, signal.SIG_DFL)
        for sig in (signal.SIGPIPE, signal.SIGXFSZ):
            signal.signal(sig, signal.SIG_IGN)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
            out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.dup2(out, fd)
            os.close(out)
        sys.stdin = open(0, closefd=False)  # noqa: SIM115 - the process's own descriptors
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)  # noqa: SIM115
        sys.path[0] = request["cwd"]  # `python -m` puts the working directory first, not this file's folder
        import random
        import runpy

        random.seed()
        module = request.get("module", "newscrawler")
        sys.argv = [module, *request["argv"]]  # runpy puts the module's file in argv[0], as `python -m` does
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
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(8)
    print(json.dumps({"ready": True, "printed": printed}), flush=True)
    while True:
        conn, _ = listener.accept()
        with conn:
            request = json.loads(conn.makefile("r", encoding="utf-8").readline())
            pid = os.fork()
            if pid == 0:
                run_child(request, listener, conn)
            conn.sendall((json.dumps({"pid": pid}) + "\n").encode())
            _, status = os.waitpid(pid, 0)
            code = os.waitstatus_to_exitcode(status)
            try:
                conn.sendall((json.dumps({"code": code}) + "\n").encode())
            except OSError:
                pass  # the test gave up waiting (its timeout): it killed the child itself


if __name__ == "__main__":
    serve(sys.argv[1])
