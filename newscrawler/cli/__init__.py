"""The `newscrawler` command. Each subcommand lives in its own module with an `add_parser(subparsers)`."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

# module name → the subcommand(s) it adds; imported lazily so `newscrawler extract` does not load Scrapy.
SUBCOMMAND_MODULES = ("crawl", "schedule", "check", "demo", "db", "extract", "importer", "replay", "reprocess",
                      "web")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newscrawler",
        description="Crawl regional news portals into MongoDB, and inspect what was stored.",
    )
    parser.add_argument(
        "--data-dir",
        help="where the embedded database, logs and locks live (default: $NEWSCRAWLER_DATA_DIR or ./var)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(f"newscrawler.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"newscrawler.cli.{name}":
                continue  # a subcommand not written yet
            raise
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    return _main(argv)[0]


def _main(argv: list[str] | None) -> tuple[int, argparse.Namespace]:
    parser = build_parser()
    args = parser.parse_args(argv)
    from newscrawler.cli.common import EXIT_SIGINT, Interrupted

    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()
        return code, args
    except KeyboardInterrupt:
        return EXIT_SIGINT, args
    except Interrupted as exc:  # SIGTERM/SIGINT while a job was starting: it has cleaned up
        print(f"newscrawler: stopped by {exc}", file=sys.stderr)
        return exc.code, args
    except BrokenPipeError:
        # The reader went away (`newscrawler db find … | head -1`): what it wanted was printed. Point stdout
        # at /dev/null so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0, args


def run() -> None:
    """The `newscrawler` program. A command that only reads (db stats, find, show, …; `exit_fast` in its
    defaults) ends the process as soon as its output is flushed and its store closed: at interpreter exit
    pymongo joins its monitor threads, which look up only every 0.5 s (a ping and exit took 1.04 s, against
    0.51 s ending at once, on this machine)."""
    code, args = _main(None)
    if getattr(args, "exit_fast", False):
        sys.stdout.flush()
        sys.stderr.flush()
        logging.shutdown()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    run()
