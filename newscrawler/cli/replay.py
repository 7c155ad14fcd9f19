"""`newscrawler replay generate DIR` and `newscrawler replay serve DIR`: the offline portal replay.

The replay itself (`newscrawler_replay`, under replay/ in a checkout) is a development package that a
production install does not carry. These commands, `demo` and `crawl --replay DIR` import it only when they
run, through `import_replay`, which turns its absence into one line and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
from pathlib import Path
from types import ModuleType

from newscrawler.cli.common import EXIT_USAGE

REPLAY_PACKAGE = "newscrawler_replay"


def import_replay(module: str, command: str) -> ModuleType:
    """`newscrawler_replay.<module>`, or exit 2 saying that `command` needs the development install."""
    try:
        return importlib.import_module(f"{REPLAY_PACKAGE}.{module}")
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] != REPLAY_PACKAGE:
            raise  # something the replay package itself needs is missing: show it as it is
        print(f"newscrawler {command}: needs the development install (the replay package is not installed "
              f"here; run `make setup` in a checkout of newscrawler)", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from None


def parse_faults(specs: list[str] | None, command: str) -> list:
    """The --fault options as replay faults, or exit 2 naming the one that is malformed."""
    if not specs:
        return []
    faults = import_replay("faults", command)
    try:
        return [faults.parse_fault(spec) for spec in specs]
    except ValueError as exc:
        print(f"newscrawler {command}: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from None


def _generate(args: argparse.Namespace) -> int:
    generate = import_replay("generate", "replay generate")
    drift = [s.strip() for s in (args.drift or "").split(",") if s.strip()]
    try:
        manifest = generate.generate(Path(args.dir), articles_per_site=args.articles_per_site, seed=args.seed,
                                     version=args.version, drift=drift)
    except ValueError as exc:
        print(f"newscrawler replay generate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    per_site = ", ".join(f"{s} {v['articles']}" for s, v in manifest["sites"].items())
    drifted = f", drifted: {', '.join(manifest['drift'])}" if manifest["drift"] else ""
    print(f"recorded {len(manifest['articles'])} articles ({per_site}), {len(manifest['not_found'])} dead links, "
          f"{len(manifest['redirects'])} redirects into {args.dir} (version {args.version}, seed {args.seed}"
          f"{drifted})")
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _serve(args: argparse.Namespace) -> int:
    server = import_replay("server", "replay serve")
    faults = parse_faults(args.fault, "replay serve")
    if not (Path(args.dir) / "routes.json").exists():
        print(f"newscrawler replay serve: {args.dir} holds no recording (run `newscrawler replay generate "
              f"{args.dir}` first)", file=sys.stderr)
        return EXIT_USAGE
    # SIGTERM (from SpawnedReplayServer.stop or a service manager) ends the loop like Ctrl-C.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.ReplayServer(args.dir, host=args.host, port=args.port, faults=faults).serve_forever()
    except OSError as exc:
        print(f"newscrawler replay serve: cannot listen on {args.host}:{args.port}: {exc.strerror}",
              file=sys.stderr)
        return 1
    return 0


FAULT_HELP = ("answer requests for URL (an exact URL, or a regular expression matching the whole URL) with a "
              "fault: an HTTP status (e.g. 503), stall (never answer), reset (drop the connection), huge (a ~7 MB "
              "article page) or ctrl (control characters in the text); :N = only the first N requests of each "
              "matching URL, then normally. Repeatable")


def add_fault_option(parser: argparse.ArgumentParser, needs: str = "") -> None:
    parser.add_argument("--fault", action="append", metavar="URL=KIND[:N]", help=needs + FAULT_HELP)


def add_commands(sub: argparse._SubParsersAction) -> None:
    """`generate` and `serve`, shared by `newscrawler replay …` and `python -m newscrawler_replay …`."""
    gen = sub.add_parser("generate", help="write a recording of every shipped portal into DIR")
    gen.add_argument("dir", metavar="DIR")
    gen.add_argument("--articles-per-site", type=int, default=40, metavar="N",
                     help="generated articles per portal, besides the special cases (default 40)")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--version", type=int, choices=(1, 2), default=1,
                     help="2 = one published article corrected and new articles on top of two columns")
    gen.add_argument("--drift", metavar="SITE[,SITE]",
                     help="these portals changed their article layout: profile selectors match nothing, the "
                          "来源/author/editor labels are reworded and the date moved to the page's foot; hnr also "
                          "moved its articles to URLs its profile's article_url_pattern does not match. The "
                          "manifest's `drift` says what changed")
    gen.set_defaults(func=_generate)
    srv = sub.add_parser("serve", help="serve the recording in DIR as an HTTP proxy on 127.0.0.1")
    srv.add_argument("dir", metavar="DIR")
    srv.add_argument("--port", type=int, default=8899, help="0 picks a free port (default 8899)")
    srv.add_argument("--host", default="127.0.0.1")
    add_fault_option(srv)
    srv.set_defaults(func=_serve)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("replay", help="generate or serve the offline replay of the portals "
                                                  "(development install only)")
    add_commands(parser.add_subparsers(dest="replay_command", required=True, metavar="ACTION"))
