"""`newscrawler web`: the read-only console in a browser, served by waitress (a pure-Python WSGI server).

Listens on 127.0.0.1 unless told otherwise; any other address needs NEWSCRAWLER_WEB_TOKEN or
NEWSCRAWLER_WEB_USER/NEWSCRAWLER_WEB_PASSWORD (newscrawler.web.access). Prints its address, then serves until
Ctrl-C or SIGTERM; the embedded database server it started (if any) stops with it.
"""

from __future__ import annotations

import logging
import signal
import sys

from newscrawler.cli.common import EXIT_STORE, EXIT_USAGE, open_store


def add_parser(sub) -> None:
    p = sub.add_parser("web", help="a read-only web console on the store (http://127.0.0.1:8080/)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; another needs NEWSCRAWLER_WEB_TOKEN or "
                        "NEWSCRAWLER_WEB_USER and NEWSCRAWLER_WEB_PASSWORD)")
    p.add_argument("--port", type=int, default=8080, help="default 8080; 0 picks a free port")
    p.add_argument("--threads", type=int, default=4, help="requests answered at once (default 4)")
    p.set_defaults(func=cmd_web)


def cmd_web(args) -> int:
    from waitress import create_server

    from newscrawler.web.access import Access, AccessError
    from newscrawler.web.app import Console

    # Stop on SIGTERM as on Ctrl-C from the start, so the embedded server this command may start is stopped too.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        access = Access.from_environment(args.host)
    except AccessError as exc:
        print(f"newscrawler: {exc}", file=sys.stderr)
        return EXIT_USAGE
    logging.basicConfig(level=logging.INFO, format="%(asctime)s [%(name)s] %(levelname)s: %(message)s")
    store = open_store(args)
    if store is None:
        return EXIT_STORE
    with store:
        console = Console(store, access)
        try:
            server = create_server(console, host=args.host, port=args.port, threads=args.threads,
                                   ident="newscrawler", clear_untrusted_proxy_headers=True)
        except OSError as exc:
            print(f"newscrawler: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_USAGE
        console.port = int(server.effective_port)
        host = f"[{args.host}]" if ":" in args.host else args.host
        missing = [m for m in store.needs_reindex() if m != "dedup index"]
        if missing:
            verb = "does" if len(missing) == 1 else "do"
            print(f"newscrawler: the {' and '.join(missing)} {verb} not cover older articles: run "
                  "`newscrawler db reindex`", file=sys.stderr)
        print(f"console: http://{host}:{server.effective_port}/ on {store.display_uri}; Ctrl-C stops it", flush=True)
        try:
            server.run()
        except KeyboardInterrupt:
            pass
        finally:
            server.close()
    return 0


def _interrupt(*_: object) -> None:
    """SIGTERM stops the console as Ctrl-C does (out of waitress's loop, store closed, server stopped)."""
    raise KeyboardInterrupt
